#!/usr/bin/env bash
# Types, checked against InnoDB as the oracle: the same rows go into an
# InnoDB table and an $E table, then the same ordered index reads (both
# directions), range reads, lookups and NULL lookups run on both and must
# return the same rows in the same order. Covers signed/unsigned integers
# and their extremes, DECIMAL, FLOAT/DOUBLE (-0 too), DATE/DATETIME/TIME
# (negative)/TIMESTAMP/YEAR, CHAR/VARCHAR with case-insensitive, binary and
# latin1 collations (trailing spaces, accents), VARBINARY, NULLs in keys,
# two-part keys across types, and BLOB/TEXT values up to 1 MB.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

rows=300

# name|columns|keys (each key: column list)
tables=(
	"ints|ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED|ti tu si mi i iu bi bu si,bu"
	"nums|d DECIMAL(12,3), du DECIMAL(5,2) UNSIGNED, f FLOAT, g DOUBLE|d du f g d,g"
	"times|dt DATE, dtm DATETIME(6), tm TIME(3), ts TIMESTAMP NULL, y YEAR|dt dtm tm ts y dt,tm"
	"strs|ci VARCHAR(20) COLLATE utf8mb4_general_ci, bin VARCHAR(20) COLLATE utf8mb4_bin, ch CHAR(6) COLLATE utf8mb4_unicode_ci, l1 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci, vb VARBINARY(10)|ci bin ch l1 vb ci,bin ch,vb"
)

# Column name -> values (SQL literals, separated by |) to draw from.
declare -A vocab=(
	[ti]="-128|-127|-1|0|1|2|126|127"
	[tu]="0|1|2|127|128|254|255"
	[si]="-32768|-300|-1|0|1|255|256|32767"
	[mi]="-8388608|-65536|-1|0|1|65536|8388607"
	[i]="-2147483648|-16777216|-256|-1|0|1|256|16777216|2147483647"
	[iu]="0|1|255|256|2147483648|4294967295"
	[bi]="-9223372036854775808|-4294967296|-1|0|1|4294967296|9223372036854775807"
	[bu]="0|1|9223372036854775807|9223372036854775808|18446744073709551615"
	[d]="-999999999.999|-1.5|-0.001|0|0.001|0.01|1.5|10|999999999.999"
	[du]="0|0.01|1|99.99|999.99"
	[f]="-1e30|-2.5|-1e-30|-0e0|0|1e-30|0.5|2.5|3.25e10|1e30"
	[g]="-1.7e308|-2.5|-1e-300|-0e0|0|1e-300|0.1|2.5|1e300"
	[dt]="'1000-01-01'|'1969-12-31'|'1970-01-01'|'2000-02-29'|'2024-06-30'|'9999-12-31'"
	[dtm]="'1000-01-01 00:00:00'|'1970-01-01 00:00:00.000001'|'2000-01-01 12:00:00.5'|'2000-01-01 12:00:00.499999'|'2038-01-19 03:14:08'|'9999-12-31 23:59:59.999999'"
	[tm]="'-838:59:59'|'-00:00:01.5'|'-00:00:00.001'|'00:00:00'|'00:00:00.001'|'12:34:56.789'|'838:59:59'"
	[ts]="'1970-01-01 00:00:01'|'1999-12-31 23:59:59'|'2000-01-01 00:00:00'|'2038-01-19 03:14:07'"
	[y]="1901|1970|1999|2000|2155"
	[ci]="'a'|'A'|'b'|'B'|'ä'|'Ä'|'ae'|'z'|'Z'|''|' '|'a '|'ß'|'ss'|'é'|'e'|'E'|'abc'|'ABC'|'abd'"
	[bin]="'a'|'A'|'b'|'B'|'ä'|'ae'|'z'|''|' '|'a '|'ß'|'ss'|'é'|'e'|'abc'|'ABC'"
	[ch]="'a'|'A'|'b'|'ä'|'Ä'|'ae'|'z'|''|'ß'|'ss'|'é'|'e'|'abcdef'|'ABCDEF'"
	[l1]="'a'|'A'|'b'|'ä'|'Ä'|'ae'|'z'|''|'a '|'é'|'e'|'ü'|'y'"
	[vb]="''|'a'|'A'|'a '|'b'|X'00'|X'0000'|X'0001'|X'7f'|X'80'|X'ff'|X'ff00'"
)

# INSERTs of $rows rows: each value drawn from the column's vocabulary, or
# NULL one time in eight; the same statements go into both tables.
gen_rows() {
	local table=$1 cols=$2 name
	local -a names=()
	for name in ${cols//,/ }; do [[ -n ${vocab[$name]:-} ]] && names+=("$name"); done
	for name in "${names[@]}"; do echo "${vocab[$name]}"; done |
		awk -v rows="$rows" -v table="$table" -v names="${names[*]}" '
		{ n[NR] = split($0, v, "|"); for (i = 1; i <= n[NR]; i++) val[NR, i] = v[i] }
		END {
			srand(7)
			cols = split(names, c, " ")
			for (r = 1; r <= rows; r++) {
				line = "INSERT INTO " table " VALUES (" r
				for (k = 1; k <= cols; k++) {
					x = rand() < 0.125 ? "NULL" : val[k, 1 + int(rand() * n[k])]
					line = line ", " x
				}
				print line ");"
			}
		}'
}

# Side o is the InnoDB oracle, side e the engine under test.
engine() { if [[ $1 == o ]]; then echo InnoDB; else echo "$E"; fi; }

run_on() {
	sql "SET time_zone = '+00:00'; $1"
}

queries=$W/queries.sql
: >"$queries"
for spec in "${tables[@]}"; do
	IFS='|' read -r name cols keys <<<"$spec"
	keydefs='' kn=0
	for key in $keys; do
		kn=$((kn + 1))
		keydefs+=", KEY k$kn ($key)"
	done
	for side in o e; do
		run_on "CREATE TABLE ${name}_$side (id INT PRIMARY KEY, $cols $keydefs) ENGINE=$(engine $side)"
	done
	gen_rows "${name}_TBL" "$(sed 's/ [A-Z][^,]*//g' <<<"$cols")" >"$W/$name.rows"
	for side in o e; do
		run_on "$(sed "s/_TBL /_$side /" "$W/$name.rows")"
	done

	# Per key: whole index both ways, ranges between values found in the
	# data, an equality, IS NULL, and a read in the engine's own order.
	kn=0
	for key in $keys; do
		kn=$((kn + 1))
		first=${key%%,*}
		idx="FORCE INDEX (k$kn)"
		mapfile -t cut < <(run_on "SELECT QUOTE($first) FROM (SELECT $first FROM ${name}_o
			WHERE $first IS NOT NULL ORDER BY $first, id) s LIMIT 4 OFFSET $((rows / 5))" |
			awk 'NR == 1 || NR == 4')
		lo=${cut[0]} hi=${cut[1]}
		{
			echo "SELECT '#$name k$kn asc'; SELECT $key, id FROM ${name}_TBL $idx ORDER BY $key, id;"
			echo "SELECT '#$name k$kn desc'; SELECT $key, id FROM ${name}_TBL $idx ORDER BY ${key//,/ DESC,} DESC, id DESC;"
			echo "SELECT '#$name k$kn range'; SELECT $key, id FROM ${name}_TBL $idx WHERE $first > $lo AND $first <= $hi ORDER BY $key, id;"
			echo "SELECT '#$name k$kn range-closed'; SELECT $key, id FROM ${name}_TBL $idx WHERE $first BETWEEN $lo AND $hi ORDER BY $key, id;"
			echo "SELECT '#$name k$kn below'; SELECT $key, id FROM ${name}_TBL $idx WHERE $first < $lo ORDER BY $key DESC, id DESC LIMIT 5;"
			echo "SELECT '#$name k$kn eq'; SELECT id FROM ${name}_TBL $idx WHERE $first = $lo ORDER BY id;"
			echo "SELECT '#$name k$kn null'; SELECT id FROM ${name}_TBL $idx WHERE $first IS NULL ORDER BY id;"
			echo "SELECT '#$name k$kn engine-order'; SELECT $first, id FROM ${name}_TBL $idx WHERE $first >= $lo;"
			echo "SELECT '#$name k$kn min-max'; SELECT MIN($first), MAX($first) FROM ${name}_TBL;"
		} >>"$queries"
	done
	echo "SELECT '#$name rows'; SELECT * FROM ${name}_TBL ORDER BY id;" >>"$queries"
done

# BLOB and TEXT: no index; values from empty to 1 MB, read back whole,
# by primary key ranges both ways, then updated.
for side in o e; do
	run_on "CREATE TABLE lobs_$side (id INT PRIMARY KEY, b LONGBLOB, t TEXT, tt TINYTEXT) ENGINE=$(engine $side);
		INSERT INTO lobs_$side VALUES (1, NULL, NULL, NULL), (2, '', '', ''),
			(3, X'00', 'ä', 'x'), (4, REPEAT(X'00ff', 500000), REPEAT('é', 20000), REPEAT('t', 255));
		INSERT INTO lobs_$side SELECT seq, RANDOM_BYTES(1 + seq % 1000), REPEAT(CHAR(65 + seq % 26), seq * 7),
			LEFT(MD5(seq), seq % 33) FROM seq_5_to_200"
done
# RANDOM_BYTES differs between the two inserts: copy b over from InnoDB.
run_on "UPDATE lobs_e e JOIN lobs_o i USING (id) SET e.b = i.b WHERE id >= 5"
lobsel="id, LENGTH(b), MD5(b), LENGTH(t), MD5(t), tt"
{
	echo "SELECT '#lobs all'; SELECT $lobsel FROM lobs_TBL ORDER BY id;"
	echo "SELECT '#lobs range'; SELECT $lobsel FROM lobs_TBL WHERE id BETWEEN 3 AND 60;"
	echo "SELECT '#lobs desc'; SELECT $lobsel FROM lobs_TBL WHERE id > 150 ORDER BY id DESC;"
	echo "SELECT '#lobs small'; SELECT id, HEX(b), t, tt FROM lobs_TBL WHERE id <= 3 ORDER BY id;"
	echo "UPDATE lobs_TBL SET b = CONCAT(IFNULL(b, ''), 'tail'), t = NULL WHERE id % 3 = 0;"
	echo "UPDATE lobs_TBL SET t = REPEAT('long', 15000) WHERE id = 7;"
	echo "SELECT '#lobs updated'; SELECT $lobsel FROM lobs_TBL ORDER BY id;"
} >>"$queries"

# Run every query on both, split the outputs at the markers, compare.
for side in o e; do
	mdb_client "$M" --batch --skip-column-names --force --skip-print-query-on-error t \
		-e "SET time_zone = '+00:00'; $(sed "s/_TBL\b/_$side/g" "$queries")" >"$W/out.$side" 2>&1 || true
	mkdir -p "$W/split.$side"
	awk -v dir="$W/split.$side" '/^#/ { f = dir "/" $0; gsub(/ /, "_", f); next } { print > f }' \
		"$W/out.$side"
done
nq=$(grep -c "^SELECT '#" "$queries")
check_text query-count "$(grep -c '^#' "$W/out.e")" <<<"$nq"
while IFS= read -r marker; do
	f=${marker// /_}
	check_same "$marker" "$(cat "$W/split.o/$f" 2>/dev/null)" "$(cat "$W/split.e/$f" 2>/dev/null)"
done < <(grep -o "'#[^']*'" "$queries" | tr -d "'")
# Not vacuous: the InnoDB side returned rows.
check_text oracle-rows "$(($(wc -l <"$W/out.o") > 20000))" <<<"1"

sqlt_end
