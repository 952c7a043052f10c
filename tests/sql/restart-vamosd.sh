#!/usr/bin/env bash
# vamosd stopped (SIGTERM) or killed (SIGKILL) and started again under a
# running mariadbd: committed rows are all there, and the same connection
# and new ones read and write again. With ENGINE=VAMOS, a transaction open
# when vamosd is killed cannot commit and leaves nothing behind.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE d (id INT PRIMARY KEY, k INT, s VARCHAR(30), KEY kk (k), KEY ks (s)) ENGINE=$E"
sql "INSERT INTO d SELECT seq, seq % 13, CONCAT('s', seq) FROM seq_1_to_3000"
sql "UPDATE d SET id = id + 10000 WHERE id <= 100"
sql "DELETE FROM d WHERE k = 5"
summary="SELECT COUNT(*), SUM(id), SUM(k), SUM(CRC32(s)) FROM d IGNORE INDEX (kk, ks);
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (kk) WHERE k >= 0;
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (ks) WHERE s >= ''"
before=$(sql "$summary")

session_open s1
check_session s1-before s1 "SELECT COUNT(*) FROM d" <<'EOF'
2769
EOF

vamosd_restart "$V" TERM
check after-sigterm "$summary" <<<"$before"
check_session s1-after-sigterm s1 "SELECT COUNT(*) FROM d" <<'EOF'
2769
EOF
sql "INSERT INTO d VALUES (20000, 1, 'after-term')"

if [[ $E == VAMOS ]]; then
	check_session open-txn s1 "BEGIN; INSERT INTO d VALUES (99999, 1, 'uncommitted');
		SELECT COUNT(*) FROM d WHERE id = 99999" <<'EOF'
1
EOF
fi
vamosd_restart "$V" KILL
if [[ $E == VAMOS ]]; then
	check_text commit-fails "$(session s1 "COMMIT" | cut -c1-5)" <<'EOF'
ERROR
EOF
fi
# One more row: (20000, 1, 'after-term').
check after-sigkill "$summary; SELECT s FROM d WHERE id >= 20000" <<EOF
$(echo "$before" | awk -F'\t' -v OFS='\t' -v crc="$(sql "SELECT CRC32('after-term')")" '
	{ $1++; $2 += 20000 } NR == 1 { $3++; $4 += crc } { print }')
after-term
EOF
check_session s1-after-sigkill s1 "SELECT COUNT(*) FROM d" <<'EOF'
2770
EOF
session_close s1

sqlt_end
