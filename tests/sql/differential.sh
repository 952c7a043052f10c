#!/usr/bin/env bash
# Differential: a seeded random stream of DML and DDL runs on InnoDB tables
# and on $E tables side by side (two sessions, one per database, the same
# statements), and every answer must be the same: result sets, errors,
# ROW_COUNT() and LAST_INSERT_ID() after each write, and at the end each
# table's whole contents read through every index, every column, and
# SHOW CREATE TABLE (but for the engine's name).
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
# and ROLLBACK. DDL (differential.awk, about one statement in 25, on all
# four tables, inside transactions too: it commits them, and the
# generator knows): ALTER TABLE ... ADD INDEX and ADD UNIQUE and CREATE
# [UNIQUE] INDEX (a UNIQUE over repeated values fails with 1062 and leaves
# the table as it was), DROP INDEX in both forms (IF EXISTS after a
# UNIQUE that may have failed), ADD COLUMN (NOT NULL with a DEFAULT, a
# nullable one AFTER a column or FIRST), DROP COLUMN, MODIFY widening a
# type and back (INT/BIGINT, VARCHAR(8)/VARCHAR(20), DECIMAL(6,2)/(10,2),
# BIT(8)/BIT(16), on key columns too; TINYINT to SMALLINT and CHAR(3) to
# CHAR(6) only one way), CHANGE renaming a column, RENAME TABLE and
# ALTER TABLE ... RENAME to another name and back, TRUNCATE TABLE, ALTER
# TABLE t2 AUTO_INCREMENT = N (below the largest id too: both then take
# the largest + 1), ANALYZE TABLE and CHECK TABLE (only Msg_type and
# Msg_text compared: Table names the database). Statements on added
# columns and whole-row reads come from the current column list; the
# original columns are back before DML names them. What InnoDB does by its own design is left out, not
# papered over: a write that may clash changes several rows only in an
# order fixed by ORDER BY (which row clashes first is then the same), and
# t2 takes AUTO_INCREMENT values only in statements that cannot fail and
# outside transactions, and its explicit values stay below the generated
# ones (InnoDB keeps the values a failed or rolled back statement wrote,
# and how many a statement reserves depends on its shape); a TRUNCATE of
# t2 is followed by AUTO_INCREMENT = 1000 for the same reason; a UNIQUE
# index is added with ALGORITHM=COPY (InnoDB adding one in place checks it
# after the older unique keys, not in the table definition's order as a
# table created or copied with it does, and so names another key when a
# row clashes on two; VAMOS always copies). Not compared: "at row N" of an
# UPDATE or ALTER (it counts the rows the plan or copy had met), and the
# entry a UNIQUE added over duplicates names in its 1062 (the key is):
# VAMOS names the first row that clashes in the copy's order, InnoDB, which
# loads a copy into the empty new table in bulk and checks at the end,
# names some other row, even one whose key has a NULL and cannot clash.
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

# The stream (differential.awk): one statement a line; "R " before a write
# (ROW_COUNT() and LAST_INSERT_ID() follow it), "D " before DDL.
generate() {
	awk -v seed="$seed" -v count="$count" -v final="$W/final.sql" -f "$(dirname "${BASH_SOURCE[0]}")/differential.awk"
}

# What of an answer must match. "at row N" of an UPDATE or an ALTER counts
# the rows its plan or copy had met: the engines meet them in other orders.
# ANALYZE and CHECK: Msg_type and Msg_text (Table names the database).
# SHOW CREATE TABLE: all but the engine's name.
normalise() {
	local line=$1 engine=$2
	case $line in
	"R UPDATE "*) sed 's/ at row [0-9]*$//' ;;
	"D ALTER "* | "D CREATE "*) sed -e 's/ at row [0-9]*$//' -e "s/Duplicate entry '.*' for key/Duplicate entry for key/" ;;
	"D ANALYZE "* | "D CHECK "*) awk -F'\t' -v OFS='\t' 'NF == 4 { print $3, $4; next } { print }' ;;
	"SHOW CREATE "*) sed "s/ENGINE=$engine /ENGINE=? /" ;;
	*) cat ;;
	esac
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
	stmt=${stmt#D }
	got_o=$(session o "$stmt" | normalise "$line" InnoDB)
	got_e=$(session e "$stmt" | normalise "$line" "$E")
	printf '%s\n' "$got_o" >>"$W/answers.o"
	if [[ $got_o != "$got_e" ]]; then
		mismatch=$nr
		check_same "statement $nr: ${line#[RD] }" "$got_o" "$got_e"
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
	# Every column, whatever DDL added, and the tables' definitions.
	while IFS= read -r q; do
		check_same "final: $q" "$(session o "$q" | normalise "$q" InnoDB)" \
			"$(session e "$q" | normalise "$q" "$E")"
	done <"$W/final.sql"
	# Not vacuous: the stream wrote rows, and some writes clashed.
	check_text oracle-rows "$(($(session o "SELECT COUNT(*) FROM t1") + $(session o "SELECT COUNT(*) FROM t3") > 0))" <<<"1"
	check_text stream-has-writes "$(($(grep -c '^R ' "$W/stream.sql") > count / 3))" <<<"1"
	# The generator's idea of the schema was right: no unknown table,
	# column or key, nothing added twice.
	check_text oracle-no-syntax-errors "$(grep -c -E 'ERROR (1064|1054|1146|1091|1060|1061|1072)' "$W/answers.o")" <<<"0"
	check_text stream-has-ddl "$(($(grep -c '^D ' "$W/stream.sql") > count / 100))" <<<"1"
	check_text oracle-clashes "$(($(grep -c 'ERROR 1062' "$W/answers.o") > 0))" <<<"1"
fi
session_close o
session_close e

sqlt_end
