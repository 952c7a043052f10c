#!/usr/bin/env bash
# The optimizer's plans on sysbench's table (sbtest: id primary key, k
# secondary index; 20,000 rows) from the engine's estimates: the point
# select and the four range queries of oltp_read_only read the primary key,
# a range on k reads k, and a wide range the primary key. Then the same
# after vamosd restarted (the row count is an estimate from RocksDB's sizes
# then, not a count), where the wide range's estimate is within 20% of its
# 19,900 rows. Full EXPLAIN lines are printed for the record.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
	c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
	PRIMARY KEY (id), KEY k_1 (k)) ENGINE=$E"
sql "INSERT INTO sbtest1 (k, c, pad) SELECT (seq * 7919) % 20000 + 1,
	CONCAT(LPAD(seq, 11, '0'), '-', REPEAT('x', 100)), REPEAT('p', 59)
	FROM seq_1_to_20000"

queries=(
	"point|SELECT c FROM sbtest1 WHERE id = 5000"
	"simple-range|SELECT c FROM sbtest1 WHERE id BETWEEN 5000 AND 5099"
	"sum-range|SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 5000 AND 5099"
	"order-range|SELECT c FROM sbtest1 WHERE id BETWEEN 5000 AND 5099 ORDER BY c"
	"distinct-range|SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 5000 AND 5099 ORDER BY c"
	"k-range|SELECT id FROM sbtest1 WHERE k BETWEEN 100 AND 199"
	"wide-range|SELECT c FROM sbtest1 WHERE id > 100"
)
plans=$'key=PRIMARY filesort=no
key=PRIMARY filesort=no
key=PRIMARY filesort=no
key=PRIMARY filesort=yes
key=PRIMARY filesort=yes
key=k_1 filesort=no
key=PRIMARY filesort=no'

check_all() {
	local q got=
	for q in "${queries[@]}"; do
		got+=$(plan "${q#*|}")$'\n'
		printf '%s [%s]: ' "$sqlt_name" "$1" >&2
		mdb_client "$M" --batch --skip-column-names t -e "EXPLAIN ${q#*|}" >&2
	done
	check_text "plans-$1" "${got%$'\n'}" <<<"$plans"
}

check_all fresh
if [[ $E == VAMOS ]]; then
	vamosd_restart "$V"
	sql "SELECT COUNT(*) FROM sbtest1" >/dev/null # reattaches
	check_all after-a-restart
	rows=$(mdb_client "$M" --batch --skip-column-names t \
		-e "EXPLAIN SELECT c FROM sbtest1 WHERE id > 100" | cut -f9)
	check_text wide-range-estimate "$(((rows > 15920 && rows < 23880) ? 1 : 0)) ($rows)" <<<"1 ($rows)"
fi
check count-is-exact "SELECT COUNT(*) FROM sbtest1" <<'EOF'
20000
EOF
sqlt_end
