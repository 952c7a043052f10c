#!/usr/bin/env bash
# Differential: a seeded random stream of DML runs on InnoDB tables and on
# $E tables side by side (two sessions, one per database, the same
# statements), and every answer must be the same: result sets, errors,
# ROW_COUNT() and LAST_INSERT_ID() after each write, and at the end each
# table's whole contents read through every index.
#
#   SQLT_DIFF_SEED        the stream's seed (default 13)
#   SQLT_DIFF_STATEMENTS  its length (default 1000, well under a minute; e.g.
#                         50000 for a long run)
#
# Tables: t1 a composite primary key (case-insensitive VARCHAR + INT), a
# UNIQUE key over BIT + DECIMAL, plain keys on DATETIME and DOUBLE; t2 an
# AUTO_INCREMENT BIGINT UNSIGNED key, a UNIQUE VARBINARY and a latin1
# CHAR key; t3 no primary key (hidden row ids), a UNIQUE binary-collation
# VARCHAR; t4 a BIT(8) primary key and a UNIQUE accent-insensitive NO PAD
# VARCHAR. Values come from small sets, so clashes are frequent. Writes:
# INSERT (one and several rows), INSERT IGNORE, REPLACE, INSERT ... ON
# DUPLICATE KEY UPDATE, UPDATE of key and plain columns, DELETE; reads:
# point, range and ordered reads on each index; transactions with COMMIT
# and ROLLBACK. What InnoDB does by its own design is left out, not
# papered over: a write that may clash changes several rows only in an
# order fixed by ORDER BY (which row clashes first is then the same), and
# t2 takes AUTO_INCREMENT values only in statements that cannot fail and
# outside transactions, and its explicit values stay below the generated
# ones (InnoDB keeps the values a failed or rolled back statement wrote,
# and how many a statement reserves depends on its shape).
#
# On a mismatch the test stops there and prints the statement, its
# number, both answers and how to run the stream again.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

seed=${SQLT_DIFF_SEED:-13}
count=${SQLT_DIFF_STATEMENTS:-1000}
[[ $seed =~ ^[0-9]+$ && $count =~ ^[0-9]+$ ]] || { echo "SQLT_DIFF_SEED and SQLT_DIFF_STATEMENTS are numbers" >&2; exit 2; }
sqlt_start

schema() {
	local engine=$1
	echo "CREATE TABLE t1 (a INT NOT NULL, b VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL,
		c BIT(5) NULL, d DECIMAL(6,2) NULL, e DATETIME(3) NULL, f ENUM('x','y','z') NULL,
		g DOUBLE NULL, PRIMARY KEY (b, a), UNIQUE KEY ucd (c, d), KEY ke (e), KEY kg (g, f))
		ENGINE=$engine;
	CREATE TABLE t2 (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, k TINYINT NULL,
		s CHAR(3) CHARACTER SET latin1 NULL, v VARBINARY(6) NULL, t TIME NULL,
		KEY kks (k, s), UNIQUE KEY uv (v)) ENGINE=$engine AUTO_INCREMENT=1000;
	CREATE TABLE t3 (x INT NULL, y VARCHAR(5) COLLATE utf8mb4_bin NULL, z FLOAT NULL,
		KEY kx (x), UNIQUE KEY uy (y)) ENGINE=$engine;
	CREATE TABLE t4 (p BIT(8) NOT NULL PRIMARY KEY, q VARCHAR(4) COLLATE utf8mb4_unicode_nopad_ci NULL,
		r INT NULL, UNIQUE KEY uq (q)) ENGINE=$engine"
}

# The stream: one statement a line; "R " before a write (ROW_COUNT() and
# LAST_INSERT_ID() follow it).
generate() {
	awk -v seed="$seed" -v count="$count" '
	function pick(list,   cnt, v) { cnt = split(list, v, "|"); return v[1 + int(rand() * cnt)] }
	function chance(p) { return rand() < p }
	function a() { return pick("-2|-1|0|1|2|3") }
	function b() { return pick("'\''a'\''|'\''A'\''|'\''b'\''|'\''ß'\''|'\''ss'\''|'\''a '\''|'\''s'\''") }
	function c() { return pick("NULL|b'\''0'\''|b'\''1'\''|b'\''11111'\''|5") }
	function d() { return pick("NULL|0|1.5|-1.5|99.99") }
	function e() { return pick("NULL|'\''2000-01-01 00:00:00.000'\''|'\''2000-01-01 00:00:00.001'\''|'\''1999-12-31 23:59:59.999'\''") }
	function f() { return pick("NULL|'\''x'\''|'\''y'\''|'\''z'\''") }
	function g() { return pick("NULL|-0.5|0|0.5|10000000000") }
	function t1row() { return "(" a() ", " b() ", " c() ", " d() ", " e() ", " f() ", " g() ")" }
	function rows(fn, cnt,   i, out) { out = ""; for (i = 0; i < cnt; i++) out = out (i ? ", " : "") (fn == 1 ? t1row() : fn == 2 ? t2row() : fn == 3 ? t3row() : fn == 4 ? t4row() : t2gen()); return out }
	function id() { return 1 + int(rand() * 30) }
	function k() { return pick("NULL|-128|-1|0|1|127") }
	function s() { return pick("NULL|'\''a'\''|'\''A'\''|'\''ä'\''|'\''b'\''|'\''a '\''") }
	function v() { return pick("NULL|'\'''\''|'\''a'\''|X'\''00'\''|X'\''ff'\''|'\''a '\''") }
	function t() { return pick("NULL|'\''-01:00:00'\''|'\''00:00:00'\''|'\''12:00:00'\''") }
	function t2row() { return "(" id() ", " k() ", " s() ", " v() ", " t() ")" }
	function t2gen() { return "(" k() ", " s() ", NULL, " t() ")" }
	function x() { return pick("NULL|-1|0|1|2") }
	function y() { return pick("NULL|'\''a'\''|'\''A'\''|'\''a '\''|'\''b'\''") }
	function z() { return pick("NULL|0.5|-0.5|2") }
	function t3row() { return "(" x() ", " y() ", " z() ")" }
	function p() { return pick("0|1|2|127|128|255") }
	function q() { return pick("NULL|'\''a'\''|'\''A'\''|'\''ä'\''|'\''a '\''|'\''b'\''") }
	function t4row() { return "(" p() ", " q() ", " int(rand() * 5) ")" }
	function n() { return 1 + int(rand() * 4) }
	function t1stmt(   r) {
		r = rand()
		if (r < 0.14) return "R INSERT INTO t1 VALUES " rows(1, n())
		if (r < 0.20) return "R INSERT IGNORE INTO t1 VALUES " rows(1, n())
		if (r < 0.26) return "R REPLACE INTO t1 VALUES " rows(1, n())
		if (r < 0.32) return "R INSERT INTO t1 VALUES " rows(1, n()) " ON DUPLICATE KEY UPDATE " pick("g = g + 1|c = VALUES(c)|a = a + 10|b = '\''q'\''|d = NULL, c = " c())
		if (r < 0.38) return "R UPDATE t1 SET a = a + " pick("1|-1|5") " WHERE b = " b() " ORDER BY b, a" pick("| DESC") " LIMIT " n()
		if (r < 0.43) return "R UPDATE t1 SET b = " b() " WHERE a = " a() " ORDER BY b, a LIMIT " n()
		if (r < 0.48) return "R UPDATE t1 SET c = " c() ", d = " d() " WHERE b = " b() " AND a = " a()
		if (r < 0.54) return "R UPDATE t1 SET g = " g() ", f = " f() ", e = " e() " WHERE " pick("e IS NULL|g > 0|f = '\''x'\''|a < 0")
		if (r < 0.58) return "R DELETE FROM t1 WHERE " pick("a = " a() "|b = " b() "|e < " e() "|c = " c())
		if (r < 0.61) return "R DELETE FROM t1 ORDER BY b, a LIMIT " n()
		if (r < 0.66) return "SELECT a, b, BIN(c), d, e, f, g FROM t1 WHERE b = " b() " ORDER BY a"
		if (r < 0.71) return "SELECT a, b, BIN(c), d FROM t1 FORCE INDEX (ucd) WHERE c >= " c() " ORDER BY c, d, b, a"
		if (r < 0.76) return "SELECT a, b, e FROM t1 FORCE INDEX (ke) WHERE e BETWEEN " e() " AND " e() " ORDER BY e DESC, b DESC, a DESC"
		if (r < 0.80) return "SELECT g, f, a, b FROM t1 FORCE INDEX (kg) WHERE g " pick("<|>=|=") " " g() " ORDER BY g, f, b, a"
		if (r < 0.84) return "SELECT COUNT(*), SUM(a), COUNT(DISTINCT b), MAX(d), COUNT(c) FROM t1"
		return "SELECT a, b FROM t1 WHERE (b, a) " pick("<|>|=") " (" b() ", " a() ") ORDER BY b, a"
	}
	function t2stmt(   r) {
		r = rand()
		if (r < 0.15) return "R INSERT INTO t2 (k, s, v, t) VALUES " rows(5, n())
		if (r < 0.27) return "R INSERT INTO t2 VALUES " rows(2, n())
		if (r < 0.33) return "R INSERT IGNORE INTO t2 VALUES " rows(2, n())
		if (r < 0.39) return "R REPLACE INTO t2 VALUES " rows(2, n())
		if (r < 0.45) return "R INSERT INTO t2 VALUES " rows(2, n()) " ON DUPLICATE KEY UPDATE " pick("k = VALUES(k)|v = " v() "|t = NULL|s = CONCAT(s, '\''z'\'')")
		if (r < 0.51) return "R UPDATE t2 SET v = " v() ", s = " s() " WHERE id = " id()
		if (r < 0.55) return "R UPDATE t2 SET id = id + " pick("1|7|100") " WHERE id = " id()
		if (r < 0.59) return "R UPDATE t2 SET k = k " pick("+|-") " 1 WHERE " pick("k = " k() "|s = " s() "|t IS NULL")
		if (r < 0.64) return "R DELETE FROM t2 WHERE " pick("id = " id() "|k = " k() "|v = " v() "|s = " s())
		if (r < 0.70) return "SELECT id, k, s, HEX(v), t FROM t2 FORCE INDEX (kks) WHERE k " pick("<|>=|=") " " k() " ORDER BY k, s, id"
		if (r < 0.76) return "SELECT id, HEX(v) FROM t2 WHERE v = " v()
		if (r < 0.82) return "SELECT id, k, s, t FROM t2 WHERE id BETWEEN " id() " AND " id() " + 10 ORDER BY id DESC"
		if (r < 0.86) return "SELECT UPPER(s), COUNT(*) FROM t2 GROUP BY s ORDER BY 1, 2"
		return "SELECT MAX(id), COUNT(*) FROM t2"
	}
	function t3stmt(   r) {
		r = rand()
		if (r < 0.20) return "R INSERT INTO t3 VALUES " rows(3, n())
		if (r < 0.27) return "R INSERT IGNORE INTO t3 VALUES " rows(3, n())
		if (r < 0.33) return "R REPLACE INTO t3 VALUES " rows(3, n())
		if (r < 0.38) return "R INSERT INTO t3 VALUES " rows(3, 1) " ON DUPLICATE KEY UPDATE z = z + 1"
		if (r < 0.46) return "R UPDATE t3 SET y = " y() " WHERE x = " x() " ORDER BY x, y, z LIMIT 1"
		if (r < 0.54) return "R UPDATE t3 SET x = x + 1, z = " z() " WHERE " pick("y = " y() "|x > 0|z IS NULL")
		if (r < 0.60) return "R DELETE FROM t3 WHERE " pick("x = " x() "|y = " y() "|z < 0")
		if (r < 0.70) return "SELECT x, y, z FROM t3 FORCE INDEX (kx) WHERE x " pick("<|>=|=") " " x() " ORDER BY x, y, z"
		if (r < 0.80) return "SELECT x, y, z FROM t3 WHERE y = " y()
		return "SELECT COUNT(*), COUNT(y), SUM(x) FROM t3"
	}
	function t4stmt(   r) {
		r = rand()
		if (r < 0.15) return "R INSERT INTO t4 VALUES " rows(4, n())
		if (r < 0.21) return "R INSERT IGNORE INTO t4 VALUES " rows(4, n())
		if (r < 0.27) return "R REPLACE INTO t4 VALUES " rows(4, n())
		if (r < 0.33) return "R INSERT INTO t4 VALUES " rows(4, n()) " ON DUPLICATE KEY UPDATE " pick("r = r + 1|p = " p() "|q = " q())
		if (r < 0.43) return "R UPDATE t4 SET p = " p() " WHERE p = " p()
		if (r < 0.50) return "R UPDATE t4 SET q = " q() " WHERE p = " p()
		if (r < 0.55) return "R UPDATE t4 SET r = r + 1 WHERE q = " q()
		if (r < 0.60) return "R DELETE FROM t4 WHERE " pick("p = " p() "|q = " q() "|r > 3")
		if (r < 0.72) return "SELECT p + 0, q, r FROM t4 WHERE p " pick("<|>=|=") " " p() " ORDER BY p" pick("| DESC")
		if (r < 0.84) return "SELECT p + 0, q, r FROM t4 FORCE INDEX (uq) WHERE q " pick("<|>=|=") " " q() " ORDER BY q, p"
		return "SELECT COUNT(*), COUNT(q), SUM(r) FROM t4"
	}
	BEGIN {
		srand(seed)
		intxn = 0
		for (i = 0; i < count; i++) {
			if (!intxn && chance(0.03)) { print "BEGIN"; intxn = 1; continue }
			if (intxn && chance(0.08)) { print pick("COMMIT|ROLLBACK"); intxn = 0; continue }
			r = rand()
			# t2 takes AUTO_INCREMENT values: never inside a transaction
			if (r < 0.35) print t1stmt(); else if (r < 0.60 && !intxn) print t2stmt(); else if (r < 0.80) print t3stmt(); else print t4stmt()
		}
		if (intxn) print "COMMIT"
	}'
}

generate >"$W/stream.sql"
sql "CREATE DATABASE o; CREATE DATABASE e"
mdb_client "$M" o -e "$(schema InnoDB)"
mdb_client "$M" e -e "$(schema "$E")"
session_open o
session_open e
session o "USE o" >/dev/null
session e "USE e" >/dev/null

# Every statement on both sides; stop at the first difference.
nr=0 mismatch=0
while IFS= read -r line; do
	nr=$((nr + 1))
	stmt=$line
	[[ $line == R\ * ]] && stmt="${line#R }; SELECT ROW_COUNT(), LAST_INSERT_ID()"
	got_o=$(session o "$stmt")
	got_e=$(session e "$stmt")
	if [[ $line == "R UPDATE "* ]]; then
		# "at row N" of an UPDATE counts the rows its plan examined:
		# the plans of the two engines may differ.
		got_o=$(sed 's/ at row [0-9]*$//' <<<"$got_o")
		got_e=$(sed 's/ at row [0-9]*$//' <<<"$got_e")
	fi
	printf '%s\n' "$got_o" >>"$W/answers.o"
	if [[ $got_o != "$got_e" ]]; then
		mismatch=$nr
		check_same "statement $nr: ${line#R }" "$got_o" "$got_e"
		break
	fi
done <"$W/stream.sql"
((mismatch == 0)) && check_text "all $nr statements" "$nr" <<<"$(wc -l <"$W/stream.sql")"

# The final contents, through every index.
final=(
	"SELECT a, b, BIN(c), d, e, f, g FROM t1 FORCE INDEX (PRIMARY) ORDER BY b, a"
	"SELECT a, b, BIN(c), d FROM t1 FORCE INDEX (ucd) ORDER BY c DESC, d DESC, b DESC, a DESC"
	"SELECT a, b, e FROM t1 FORCE INDEX (ke) ORDER BY e, b, a"
	"SELECT a, b, g, f FROM t1 FORCE INDEX (kg) ORDER BY g DESC, f DESC, b DESC, a DESC"
	"SELECT id, k, s, HEX(v), t FROM t2 FORCE INDEX (PRIMARY) ORDER BY id"
	"SELECT id, k, s FROM t2 FORCE INDEX (kks) ORDER BY k, s, id"
	"SELECT id, HEX(v) FROM t2 FORCE INDEX (uv) ORDER BY v DESC"
	"SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't2'"
	"SELECT x, y, z FROM t3 ORDER BY x, y, z"
	"SELECT x, y, z FROM t3 FORCE INDEX (kx) ORDER BY x DESC, y DESC, z DESC"
	"SELECT y FROM t3 FORCE INDEX (uy) WHERE y IS NOT NULL ORDER BY y"
	"SELECT p + 0, q, r FROM t4 ORDER BY p DESC"
	"SELECT p + 0, q FROM t4 FORCE INDEX (uq) WHERE q IS NOT NULL ORDER BY q, p"
)
if ((mismatch)); then
	echo "differential: rerun with SQLT_DIFF_SEED=$seed SQLT_DIFF_STATEMENTS=$mismatch" \
		"(the stream is $W/stream.sql)" >&2
else
	for q in "${final[@]}"; do
		check_same "final: $q" "$(session o "$q")" "$(session e "$q")"
	done
	# Not vacuous: the stream wrote rows, and some writes clashed.
	check_text oracle-rows "$(($(session o "SELECT COUNT(*) FROM t1") + $(session o "SELECT COUNT(*) FROM t3") > 0))" <<<"1"
	check_text stream-has-writes "$(($(grep -c '^R ' "$W/stream.sql") > count / 3))" <<<"1"
	check_text oracle-no-syntax-errors "$(grep -c -e 'ERROR 1064' -e 'ERROR 1054' "$W/answers.o")" <<<"0"
	check_text oracle-clashes "$(($(grep -c 'ERROR 1062' "$W/answers.o") > 0))" <<<"1"
fi
session_close o
session_close e

sqlt_end
