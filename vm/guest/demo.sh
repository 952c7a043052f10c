#!/bin/sh
# The demo, inside the guest:  /vamos/demo.sh [ROWS]
# Starts mariadbd with ha_vamos, creates a VAMOS table, loads ROWS rows
# (default 100000), then runs point selects, range selects, full scans,
# secondary-index lookups and updates. After each phase it tells the host
# (phase, in lib.sh), which prints vamosd's requests, batches, doorbells and
# interrupts for that phase, per query.
. /vamos/lib.sh
rows=${1:-100000}
case $rows in '' | *[!0-9]*) fail "ROWS must be a number" ;; esac
[ "$rows" -ge 1000 ] || fail "ROWS must be at least 1000"

mdb_up
echo "vamos-guest: mariadbd $(sql 'SELECT VERSION()') is up; engines: $(sql \
	"SELECT GROUP_CONCAT(ENGINE) FROM information_schema.ENGINES WHERE ENGINE='VAMOS'")"
phase boot 0

sql "DROP TABLE IF EXISTS sbtest;
CREATE TABLE sbtest (id INT UNSIGNED NOT NULL PRIMARY KEY, k INT UNSIGNED NOT NULL,
  c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k (k)) ENGINE=VAMOS" ||
	fail "CREATE TABLE ... ENGINE=VAMOS failed"
phase create 1

# One statement; ha_vamos sends the rows in bulk batches.
sql "INSERT INTO sbtest SELECT seq, (seq * 7919) % $rows + 1,
  CONCAT(LPAD(seq, 10, '0'), REPEAT('-abcdefghij', 10)), REPEAT('x', 60)
  FROM seq_1_to_$rows" || fail "loading $rows rows failed"
phase load 1

n=1000
seq 1 $n | awk -v r="$rows" '{ printf "SELECT c FROM sbtest WHERE id = %d;\n", ($1 * 104729) % r + 1 }' |
	sql_file >/tmp/point.out || fail "point selects failed"
[ "$(wc -l </tmp/point.out)" -eq $n ] || fail "point selects: $(wc -l </tmp/point.out) rows, not $n"
phase point_select $n

n=100
seq 1 $n | awk -v r="$rows" '{ s = ($1 * 7907) % (r - 100) + 1;
	printf "SELECT c FROM sbtest WHERE id BETWEEN %d AND %d;\n", s, s + 99 }' |
	sql_file >/tmp/range.out || fail "range selects failed"
[ "$(wc -l </tmp/range.out)" -eq $((n * 100)) ] || fail "range selects: wrong row count"
phase range_100_rows $n

n=3
for i in 1 2 3; do
	got=$(sql "SELECT COUNT(*), SUM(LENGTH(c)) FROM sbtest") || fail "full scan failed"
done
echo "vamos-guest: full scan: $got"
[ "$(echo "$got" | cut -f1)" = "$rows" ] || fail "full scan counted $(echo "$got" | cut -f1) rows"
phase full_scan $n

n=1000
seq 1 $n | awk -v r="$rows" '{ printf "SELECT id FROM sbtest WHERE k = %d;\n", ($1 * 31) % r + 1 }' |
	sql_file >/tmp/index.out || fail "index lookups failed"
phase index_lookup $n

n=1000
seq 1 $n | awk -v r="$rows" '{ printf "UPDATE sbtest SET k = k + 1 WHERE id = %d;\n", ($1 * 7) % r + 1 }' |
	sql_file || fail "updates failed"
phase update $n

echo "vamos-guest: $(sql 'SHOW STATUS LIKE "Vamos%"' | tr '\t\n' '= ')"
mdb_down
