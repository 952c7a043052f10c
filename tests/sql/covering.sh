#!/usr/bin/env bash
# Covering (index-only) reads, checked against InnoDB as the oracle: for
# each key column type whose encoding decodes back to the value (integers
# signed and unsigned of each size, YEAR, DATE, DATETIME, TIMESTAMP, TIME,
# BINARY/VARBINARY, latin1 binary CHAR and NO PAD VARCHAR), a table with
# NULLs and repeated values answers full index scans both ways, ranges,
# MIN/MAX, COUNT(*), point reads and ORDER BY ... DESC LIMIT exactly as
# InnoDB does; EXPLAIN says "Using index" and Vamos_covering_reads moves,
# i.e. the rows came from index entries. Types that do not decode (a
# case-insensitive collation, a PAD SPACE VARCHAR) are still answered
# right, from the rows, and are not claimed as index-only. Then composite
# keys with DESC parts, a unique key with NULLs, a table without a
# primary key, one whose primary key does not decode, and a locking read.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

vamos() { [[ $E == VAMOS ]]; }
# Tables o_*: the InnoDB oracle; e_*: the engine under test.
engine_of() { [[ $1 == o ]] && echo InnoDB || echo "$E"; }
covering_reads() { sql "SHOW GLOBAL STATUS LIKE 'Vamos_covering_reads'" | cut -f2; }
# Whether EXPLAIN's plan reads the table from its index alone.
index_only() {
	mdb_client "$M" --batch t -e "EXPLAIN $1" 2>&1 | awk -F'\t' '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ print ($col["Extra"] ~ /Using index/ ? "index-only" : "rows") }'
}

# Run @queries (a function of the table name) on the InnoDB and the $E
# table and compare the outputs.
same() {
	local name=$1 fn=$2
	check_same "$name" "$(sql "$($fn o_$name)" 2>&1)" "$(sql "$($fn e_$name)" 2>&1)"
}

# name|type|values (;)|decodes: yes or no
specs=(
	"ti|TINYINT|-128;-1;0;1;127|yes"
	"tu|TINYINT UNSIGNED|0;1;127;128;255|yes"
	"si|SMALLINT|-32768;-256;-1;0;32767|yes"
	"su|SMALLINT UNSIGNED|0;255;256;32768;65535|yes"
	"mi|MEDIUMINT|-8388608;-65536;-1;65536;8388607|yes"
	"mu|MEDIUMINT UNSIGNED|0;1;65536;8388608;16777215|yes"
	"i|INT|-2147483648;-256;0;16777216;2147483647|yes"
	"iu|INT UNSIGNED|0;255;2147483648;4294967294;4294967295|yes"
	"bi|BIGINT|-9223372036854775808;-4294967296;-1;4294967296;9223372036854775807|yes"
	"bu|BIGINT UNSIGNED|0;1;9223372036854775807;9223372036854775808;18446744073709551615|yes"
	"yr|YEAR|1901;1970;1999;2000;2155|yes"
	"dt|DATE|'1000-01-01';'1969-12-31';'2000-02-29';'2024-06-30';'9999-12-31'|yes"
	"dtm|DATETIME(6)|'1000-01-01 00:00:00';'1970-01-01 00:00:00.000001';'2000-01-01 12:00:00.5';'2038-01-19 03:14:08';'9999-12-31 23:59:59.999999'|yes"
	"dtm0|DATETIME|'1000-01-01 00:00:00';'1969-12-31 23:59:59';'2000-01-01 12:00:00';'2038-01-19 03:14:08';'9999-12-31 23:59:59'|yes"
	"ts|TIMESTAMP|'1970-01-01 00:00:01';'1999-12-31 23:59:59';'2000-01-01 00:00:00';'2030-01-01 00:00:00';'2038-01-19 03:14:07'|yes"
	"ts3|TIMESTAMP(3)|'1970-01-01 00:00:01.001';'1999-12-31 23:59:59.999';'2000-01-01 00:00:00';'2030-01-01 00:00:00.5';'2038-01-19 03:14:07'|yes"
	"tm|TIME(3)|'-838:59:59';'-00:00:01.5';'00:00:00';'12:34:56.789';'838:59:59'|yes"
	"bn|BINARY(4)|'';'a';X'00';X'6100';X'ffffffff'|yes"
	"vb|VARBINARY(10)|'';X'00';'a';'a ';X'ff'|yes"
	"cl1|CHAR(4) CHARACTER SET latin1 COLLATE latin1_bin|'';'A';'a';'a b';'ä'|yes"
	"vl1np|VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_nopad_bin|'';'a';'a ';'b';'ä'|yes"
	"vgci|VARCHAR(20) COLLATE utf8mb4_general_ci|'a';'B';'ae';'ß';'z'|no"
	"vl1b|VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin|'A';'a';'a ';'b';'ä'|no"
)

for spec in "${specs[@]}"; do
	IFS='|' read -r name type values decodes <<<"$spec"
	IFS=';' read -r -a v <<<"$values"
	show=k
	[[ $type == *BINARY* ]] && show="HEX(k)"
	# Each value twice (the primary key orders them), NULL twice.
	rows="(1, NULL), (2, NULL)" id=3
	for x in "${v[@]}"; do
		rows+=", ($id, $x), ($((id + 1)), $x)"
		id=$((id + 2))
	done
	for p in o e; do
		tbl=${p}_$name eng=$(engine_of $p)
		sql "CREATE TABLE $tbl (id INT PRIMARY KEY, k $type NULL, pad CHAR(10) DEFAULT 'x',
			KEY kk (k)) ENGINE=$eng; INSERT INTO $tbl (id, k) VALUES $rows"
	done
	queries() {
		local t=$1 f="FROM $1 FORCE INDEX (kk)"
		echo "SELECT $show, id $f ORDER BY k, id;"
		echo "SELECT $show, id $f ORDER BY k DESC, id DESC;"
		echo "SELECT COUNT(*), COUNT(k) $f;"
		echo "SELECT $show $f WHERE k BETWEEN ${v[1]} AND ${v[3]} ORDER BY k;"
		echo "SELECT $show, id $f WHERE k >= ${v[1]} ORDER BY k DESC, id DESC LIMIT 3;"
		echo "SELECT $show, id $f WHERE k < ${v[3]} ORDER BY k DESC, id DESC;"
		echo "SELECT id $f WHERE k IS NULL ORDER BY id;"
		echo "SELECT $show, id $f WHERE k = ${v[2]};"
		echo "SELECT COUNT(*) $f WHERE k > ${v[0]};"
		echo "SELECT $(sed 's/k/MIN(k)/' <<<"$show"), $(sed 's/k/MAX(k)/' <<<"$show") FROM $t;"
	}
	before=$(vamos && covering_reads || true)
	same "$name" queries
	if vamos; then
		after=$(covering_reads)
		want=index-only moved=yes
		[[ $decodes == yes ]] || want=rows moved=no
		check_text "$name-plan" "$(index_only "SELECT k FROM e_$name FORCE INDEX (kk) WHERE k >= ${v[1]}")" <<<"$want"
		check_text "$name-from-index" "$( ((after > before)) && echo yes || echo no)" <<<"$moved"
	fi
done

# Composite keys with DESC parts, over a composite primary key.
for p in o e; do
	tbl=${p}_comp eng=$(engine_of $p)
	sql "CREATE TABLE $tbl (p1 SMALLINT, p2 BINARY(2), a INT NULL, b DATE NULL,
		c VARBINARY(6) NULL, d CHAR(8), PRIMARY KEY (p1, p2), KEY kabc (a DESC, b, c DESC)) ENGINE=$eng"
	sql "INSERT INTO $tbl VALUES (1, 'a', 1, '2000-01-01', 'x', 'd'), (1, 'b', 1, '2000-01-01', 'y', 'd'),
		(-1, 'a', 1, NULL, 'x', 'd'), (2, 'a', NULL, '1999-01-01', NULL, 'd'),
		(3, 'c', -5, '2000-01-02', '', 'd'), (-3, 'c', 7, '2000-01-01', 'zz', 'd'),
		(4, 'd', 1, '2000-01-01', NULL, 'd'), (5, X'0000', 7, '9999-12-31', X'00ff', 'd')"
done
comp_queries() {
	local f="FROM $1 FORCE INDEX (kabc)"
	echo "SELECT a, b, HEX(c), p1, HEX(p2) $f ORDER BY a DESC, b, c DESC, p1, p2;"
	echo "SELECT a, b, HEX(c), p1, HEX(p2) $f ORDER BY a, b DESC, c, p1 DESC, p2 DESC;"
	echo "SELECT a, b, HEX(c), p1 $f WHERE a = 1 ORDER BY a DESC, b, c DESC;"
	echo "SELECT a, b, p1 $f WHERE a BETWEEN 0 AND 7 AND b >= '2000-01-01' ORDER BY a DESC, b;"
	echo "SELECT p1, HEX(p2) $f WHERE a IS NULL;"
	echo "SELECT COUNT(*) $f WHERE a < 5;"
}
before=$(vamos && covering_reads || true)
same comp comp_queries
if vamos; then
	check_text comp-plan "$(index_only "SELECT a, b, c, p1, p2 FROM e_comp FORCE INDEX (kabc) WHERE a = 1")" <<<"index-only"
	check_text comp-from-index "$( (($(covering_reads) > before)) && echo yes || echo no)" <<<"yes"
fi

# A unique key with NULLs (its entries carry the primary key after the
# key), a table without a primary key (the hidden row id), and one whose
# primary key does not decode (no secondary index is then index-only).
for p in o_ e_; do
	eng=$(engine_of "${p%_}")
	sql "CREATE TABLE ${p}uniq (id INT PRIMARY KEY, u BIGINT NULL, v INT, UNIQUE KEY ku (u, v)) ENGINE=$eng;
		INSERT INTO ${p}uniq VALUES (1, NULL, 1), (2, NULL, 1), (3, 5, 1), (4, 5, 2), (5, -5, NULL), (6, -5, NULL);
		CREATE TABLE ${p}nopk (k INT NULL, v CHAR(3), KEY kk (k)) ENGINE=$eng;
		INSERT INTO ${p}nopk VALUES (3, 'a'), (NULL, 'b'), (1, 'c'), (3, 'd'), (-2, 'e');
		CREATE TABLE ${p}cipk (s VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, k INT, KEY kk (k)) ENGINE=$eng;
		INSERT INTO ${p}cipk VALUES ('a', 1), ('B', 2), ('c', 2), ('d', NULL)"
done
more_queries() {
	local t=${1#?_} p=${1%%_*}_
	case $t in
	uniq)
		echo "SELECT u, v, id FROM ${p}uniq FORCE INDEX (ku) ORDER BY u, v, id;"
		echo "SELECT u, v, id FROM ${p}uniq FORCE INDEX (ku) ORDER BY u DESC, v DESC, id DESC;"
		echo "SELECT u, v FROM ${p}uniq FORCE INDEX (ku) WHERE u = 5 AND v = 2;"
		echo "SELECT id FROM ${p}uniq FORCE INDEX (ku) WHERE u IS NULL ORDER BY id;" ;;
	nopk)
		echo "SELECT k FROM ${p}nopk FORCE INDEX (kk) ORDER BY k;"
		echo "SELECT k FROM ${p}nopk FORCE INDEX (kk) WHERE k >= 1 ORDER BY k DESC;"
		echo "SELECT COUNT(*) FROM ${p}nopk FORCE INDEX (kk) WHERE k > -5;" ;;
	cipk)
		echo "SELECT k, s FROM ${p}cipk FORCE INDEX (kk) ORDER BY k, s;"
		echo "SELECT s FROM ${p}cipk FORCE INDEX (kk) WHERE k = 2 ORDER BY s;" ;;
	esac
}
for t in uniq nopk cipk; do
	before=$(vamos && covering_reads || true)
	same "$t" more_queries
	if vamos; then
		moved=yes
		[[ $t != cipk ]] || moved=no
		check_text "$t-from-index" "$( (($(covering_reads) > before)) && echo yes || echo no)" <<<"$moved"
	fi
done
if vamos; then
	check_text uniq-plan "$(index_only "SELECT u, v, id FROM e_uniq FORCE INDEX (ku) WHERE u >= 0")" <<<"index-only"
	check_text cipk-plan "$(index_only "SELECT k FROM e_cipk FORCE INDEX (kk) WHERE k >= 0")" <<<"rows"
fi

# A locking read takes its rows (and their locks), not index entries, and
# still answers from the index's columns.
if vamos; then
	before=$(covering_reads)
	check locking-read "BEGIN; SELECT k FROM e_i FORCE INDEX (kk) WHERE k > 0 ORDER BY k FOR UPDATE; COMMIT" <<'EOF'
16777216
16777216
2147483647
2147483647
EOF
	check_text locking-read-from-rows "$(covering_reads)" <<<"$before"
fi

sqlt_end
