#!/usr/bin/env bash
# Writes through every kind of key, checked against InnoDB as the oracle:
# for each key column type (integers signed and unsigned of each size, BIT
# of even and uneven widths, DECIMAL, FLOAT/DOUBLE, DATE/TIME/DATETIME/
# TIMESTAMP/YEAR, CHAR/VARCHAR/BINARY/VARBINARY in case-insensitive,
# binary, NO PAD and latin1 collations, ENUM/SET, composite keys, DESC
# parts) the same
# statements run on an InnoDB table and an $E table: INSERT (duplicates,
# a value equal to another under the collation), UPDATE of the primary
# key (onto a taken key, onto a free one, onto an equal-weight spelling),
# of a UNIQUE key and of a plain column, REPLACE and INSERT ... ON
# DUPLICATE KEY UPDATE (clashing on either key, changing the primary key),
# INSERT IGNORE, DELETE; after each, ROW_COUNT() and the whole table (by
# either key, both directions) must be the same.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

# name|key columns' types (;)|five values V1..V5 (;), each a tuple of one
# literal per key column (/)|a spelling of V1 that is a different literal
# but the same key (V1 again where the type has none)[|the keys' parts in
# order, by column number, with DESC where wanted (default: 1,2,...)]
specs=(
	"ti|TINYINT|-128;-1;0;1;127|'-128'"
	"tu|TINYINT UNSIGNED|0;1;128;254;255|'0'"
	"si|SMALLINT|-32768;-1;0;256;32767|-32768.0"
	"su|SMALLINT UNSIGNED|0;1;255;256;65535|0"
	"mi|MEDIUMINT|-8388608;-65536;0;65536;8388607|-8388608"
	"mu|MEDIUMINT UNSIGNED|0;1;65536;8388608;16777215|0"
	"i|INT|-2147483648;-256;0;16777216;2147483647|'-2147483648'"
	"iu|INT UNSIGNED|0;255;2147483648;4294967294;4294967295|0"
	"bi|BIGINT|-9223372036854775808;-4294967296;0;4294967296;9223372036854775807|-9223372036854775808"
	"bu|BIGINT UNSIGNED|0;1;9223372036854775807;9223372036854775808;18446744073709551615|0"
	"bit1|BIT(1)|b'0';b'1';b'1';b'1';b'1'|0"
	"bit5|BIT(5)|b'00000';b'00001';b'01010';b'10000';b'11111'|0"
	"bit8|BIT(8)|1;2;3;50;255|b'1'"
	"bit12|BIT(12)|0;1;255;2048;4095|b'000000000000'"
	"bit64|BIT(64)|0;1;9223372036854775807;9223372036854775808;18446744073709551615|b'0'"
	"dec|DECIMAL(10,3)|-9999999.999;-1.5;0;0.001;9999999.999|-9999999.9990"
	"decu|DECIMAL(5,2) UNSIGNED|0;0.01;1;99.99;999.99|0.000"
	"flt|FLOAT|-1e30;-2.5;0.5;3.25e10;1e30|'-1e30'"
	"flt0|FLOAT|0;-1e-30;1e-30;2.5;-2.5|-0e0"
	"dbl|DOUBLE|-1.7e308;-1e-300;0.1;2.5;1e300|-1.70e308"
	"dbl0|DOUBLE|0;-1e-300;1e-300;0.1;-0.1|-0e0"
	"dt|DATE|'1000-01-01';'1969-12-31';'2000-02-29';'2024-06-30';'9999-12-31'|'1000-1-1'"
	"tm|TIME(3)|'-838:59:59';'-00:00:01.5';'00:00:00';'12:34:56.789';'838:59:59'|'-838:59:59.000'"
	"tm0|TIME|'00:00:00';'-00:00:01';'00:00:01';'24:00:00';'-24:00:00'|'0:0:0'"
	"dtm|DATETIME(6)|'1000-01-01 00:00:00';'1970-01-01 00:00:00.000001';'2000-01-01 12:00:00.5';'2038-01-19 03:14:08';'9999-12-31 23:59:59.999999'|'1000-01-01'"
	"ts|TIMESTAMP|'1970-01-01 00:00:01';'1999-12-31 23:59:59';'2000-01-01 00:00:00';'2030-01-01 00:00:00';'2038-01-19 03:14:07'|'1970-01-01 00:00:01.0'"
	"ts3|TIMESTAMP(3)|'1970-01-01 00:00:01.001';'1999-12-31 23:59:59.999';'2000-01-01 00:00:00';'2030-01-01 00:00:00.5';'2038-01-19 03:14:07'|'1970-01-01 00:00:01.0010'"
	"yr|YEAR|1970;1999;2000;2069;2155|70"
	"chu|CHAR(6) COLLATE utf8mb4_unicode_ci|'a';'ab';'b';'é';'z'|'A  '"
	"vgci|VARCHAR(20) COLLATE utf8mb4_general_ci|'a';'ae';'b';'ß';'z'|'A '"
	"vbin|VARCHAR(20) COLLATE utf8mb4_bin|'A';'B';'a';'a b';'b'|'A  '"
	"vnopad|VARCHAR(20) COLLATE utf8mb4_nopad_bin|'a';'a ';'b';'ä';'z'|'a'"
	"vucinp|VARCHAR(6) COLLATE utf8mb4_unicode_nopad_ci|'a';'a ';'b';'ä';'z'|'A'"
	"vl1|VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci|'a';'b';'y';'z';'ä'|'A'"
	"vl1b|VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin|'A';'a';'b';'ä';'z'|'A '"
	"cl1|CHAR(3) CHARACTER SET latin1 COLLATE latin1_german1_ci|'a';'ab';'b';'ö';'z'|'A'"
	"bn|BINARY(4)|'a';'ab';X'00';X'ff';'z'|X'6100'"
	"vb|VARBINARY(10)|'';'a';'a ';X'00';X'ff'|X''"
	"en|ENUM('a','b','c','d','e')|'a';'b';'c';'d';'e'|1"
	"st|SET('a','b','c')|'a';'b';'a,b';'c';'a,b,c'|'a,a'"
	"c_int_vci|INT;VARCHAR(10) COLLATE utf8mb4_general_ci|1/'a';1/'b';2/'a';2/'B ';3/'z'|1/'A'"
	"c_vci_date|VARCHAR(10) COLLATE utf8mb4_general_ci;DATE|'a'/'2000-01-01';'a'/'2000-01-02';'b'/'1000-01-01';'ß'/'2000-01-01';'z'/'9999-12-31'|'A'/'2000-1-1'"
	"c_bit_int|BIT(5);INT|b'00001'/1;b'00001'/2;b'00010'/1;b'11111'/-1;b'11111'/0|1/1"
	"c_date_bu_chr|DATE;BIGINT UNSIGNED;CHAR(3) CHARACTER SET latin1|'2000-01-01'/0/'a';'2000-01-01'/0/'b';'2000-01-01'/18446744073709551615/'a';'2000-01-02'/1/'';'9999-12-31'/5/'zz'|'2000-01-01'/0/'A'"
	"c_dbl_dec_en|DOUBLE;DECIMAL(6,2);ENUM('x','y')|-1.5/0/'x';-1.5/0/'y';0/-1/'x';0/1/'x';2.5/9999.99/'y'|-1.50/0.00/1"
	"c_desc|INT;VARCHAR(10) COLLATE utf8mb4_general_ci|1/'a';1/'b';2/'a';2/'B ';3/'z'|1/'A'|1 DESC,2"
	"c_desc2|BIT(12);CHAR(4) CHARACTER SET latin1 COLLATE latin1_bin|0/'a';0/'b';1/'a';255/'';4095/'zz'|b'0'/'a '|1,2 DESC"
)

# One spec's statements on table $tbl (database o: InnoDB, e: $E).
gen_spec() {
	local name=$1 types=$2 values=$3 alias=$4 engine=$5 tbl=$6 parts=${7:-}
	local -a ty vals
	IFS=';' read -r -a ty <<<"$types"
	IFS=';' read -r -a vals <<<"$values"
	local n=${#ty[@]} i kdef='' udef='' kcols='' ucols='' kshow='' ushow=''
	for ((i = 1; i <= n; i++)); do
		local t=${ty[i - 1]} show
		kdef+="k$i $t NOT NULL, " udef+="u$i $t NULL, "
		kcols+="${kcols:+, }k$i" ucols+="${ucols:+, }u$i"
		case $t in
		BIT*) show="BIN(%s)" ;;
		BINARY* | VARBINARY*) show="HEX(%s)" ;;
		*) show="%s" ;;
		esac
		# shellcheck disable=SC2059
		kshow+="$(printf "$show" "k$i"), " ushow+=", $(printf "$show" "u$i")"
	done
	# tuple helpers: K V (key = V), KS V (SET k = V), U V, US V, VS V (values)
	tup() { # $1: k|u, $2: tuple, $3: and|set|list
		local -a p
		IFS='/' read -r -a p <<<"$2"
		local j out='' sep
		case $3 in and) sep=' AND ' ;; *) sep=', ' ;; esac
		for ((j = 1; j <= n; j++)); do
			case $3 in
			list) out+="${out:+$sep}${p[j - 1]}" ;;
			*) out+="${out:+$sep}$1$j = ${p[j - 1]}" ;;
			esac
		done
		echo "$out"
	}
	local V1=${vals[0]} V2=${vals[1]} V3=${vals[2]} V4=${vals[3]} V5=${vals[4]} A=$alias
	local nulls=NULL
	for ((i = 2; i <= n; i++)); do nulls+=", NULL"; done
	row() { echo "($(tup k "$1" list), $2, $([[ $3 == NULL ]] && echo "$nulls" || tup u "$3" list))"; }
	local sel="SELECT $kshow c$ushow FROM $tbl"
	echo "SELECT '#$name';"
	local kparts=$kcols uparts=$ucols
	if [[ -n $parts ]]; then
		kparts=$(sed 's/\([0-9]\)/k\1/g; s/,/, /g' <<<"$parts")
		uparts=$(sed 's/\([0-9]\)/u\1/g; s/,/, /g' <<<"$parts")
	fi
	echo "CREATE TABLE $tbl ($kdef c INT, $udef PRIMARY KEY ($kparts), UNIQUE KEY uk ($uparts), KEY kc (c)) ENGINE=$engine;"
	stmt() {
		echo "$1;"
		echo "SELECT ROW_COUNT();"
		echo "$sel ORDER BY $kcols;"
	}
	stmt "INSERT INTO $tbl VALUES $(row "$V1" 10 "$V1"), $(row "$V2" 20 "$V2"), $(row "$V3" 30 NULL)"
	stmt "INSERT INTO $tbl VALUES $(row "$A" 11 NULL)"
	stmt "INSERT INTO $tbl VALUES $(row "$V4" 40 "$A")"
	stmt "INSERT INTO $tbl VALUES $(row "$V4" 40 "$V4"), $(row "$V2" 41 NULL)"
	stmt "UPDATE $tbl SET $(tup k "$V3" set) WHERE $(tup k "$V1" and)"
	stmt "UPDATE $tbl SET $(tup k "$V5" set) WHERE $(tup k "$V1" and)"
	stmt "UPDATE $tbl SET c = c + 1 WHERE $(tup k "$V2" and)"
	stmt "UPDATE $tbl SET $(tup k "$A" set) WHERE $(tup k "$V5" and)"
	stmt "UPDATE $tbl SET $(tup k "$V5" set), c = c + 2 WHERE $(tup k "$V1" and)"
	stmt "UPDATE $tbl SET $(tup u "$V1" set) WHERE $(tup k "$V3" and)"
	stmt "UPDATE $tbl SET $(tup u "$V2" set) WHERE $(tup k "$V3" and)"
	stmt "UPDATE $tbl SET $(tup u "$V3" set) WHERE $(tup k "$V3" and)"
	stmt "UPDATE $tbl SET $(tup k "$V4" set) WHERE c >= 20"
	stmt "REPLACE INTO $tbl VALUES $(row "$V2" 50 "$V3")"
	stmt "REPLACE INTO $tbl VALUES $(row "$A" 51 NULL)"
	stmt "INSERT INTO $tbl VALUES $(row "$V2" 60 NULL) ON DUPLICATE KEY UPDATE c = c + 100"
	stmt "INSERT INTO $tbl VALUES $(row "$V2" 61 NULL) ON DUPLICATE KEY UPDATE $(tup k "$V4" set)"
	stmt "INSERT INTO $tbl VALUES $(row "$V4" 62 NULL) ON DUPLICATE KEY UPDATE $(tup k "$V5" set)"
	stmt "INSERT INTO $tbl VALUES $(row "$V1" 63 "$V3") ON DUPLICATE KEY UPDATE c = 0, $(tup u "$V1" set)"
	stmt "INSERT INTO $tbl VALUES $(row "$V3" 64 NULL), $(row "$V3" 65 NULL) ON DUPLICATE KEY UPDATE c = VALUES(c)"
	stmt "INSERT IGNORE INTO $tbl VALUES $(row "$V4" 70 NULL), $(row "$V3" 71 "$V2"), $(row "$A" 72 NULL)"
	stmt "DELETE FROM $tbl WHERE $(tup k "$A" and)"
	stmt "INSERT INTO $tbl VALUES $(row "$V1" 80 NULL)"
	stmt "UPDATE $tbl SET $(tup k "$V1" set) WHERE $(tup k "$V4" and)"
	stmt "DELETE FROM $tbl WHERE c > 60"
	stmt "REPLACE INTO $tbl VALUES $(row "$A" 90 "$V2"), $(row "$V5" 91 "$V2"), $(row "$V4" 92 "$V1")"
	stmt "UPDATE $tbl SET c = -c"
	for v in "$V1" "$V2" "$V3" "$V4" "$V5" "$A"; do
		echo "$sel WHERE $(tup k "$v" and);"
		echo "$sel WHERE $(tup u "$v" and);"
	done
	echo "$sel FORCE INDEX (uk) ORDER BY $ucols, $kcols;"
	echo "$sel FORCE INDEX (PRIMARY) ORDER BY ${kcols//,/ DESC,} DESC;"
	echo "SELECT COUNT(*) FROM $tbl;"
	echo "DELETE FROM $tbl;"
	echo "SELECT ROW_COUNT(), COUNT(*) FROM $tbl;"
}

sql "CREATE DATABASE o; CREATE DATABASE e"
for side in o e; do
	engine=$E
	[[ $side == o ]] && engine=InnoDB
	{
		echo "SET time_zone = '+00:00'; SET sql_mode = DEFAULT;"
		for spec in "${specs[@]}"; do
			IFS='|' read -r name types values alias parts <<<"$spec"
			gen_spec "$name" "$types" "$values" "$alias" "$engine" "k_$name" "$parts"
		done
	} >"$W/script.$side"
	mdb_client "$M" --batch --skip-column-names --force --unbuffered --skip-print-query-on-error "$side" \
		<"$W/script.$side" >"$W/out.$side" 2>&1 || true
	mkdir -p "$W/split.$side"
	awk -v dir="$W/split.$side" '/^#/ { f = dir "/" substr($0, 2); next } { print > f }' \
		"$W/out.$side"
done
for spec in "${specs[@]}"; do
	name=${spec%%|*}
	check_same "$name" "$(cat "$W/split.o/$name" 2>/dev/null)" "$(cat "$W/split.e/$name" 2>/dev/null)"
done
# Not vacuous: InnoDB ran every statement, rows and errors both.
check_text oracle-sections "$(ls "$W/split.o" | wc -l)" <<<"${#specs[@]}"
check_text oracle-dups "$(($(grep -c 'ERROR 1062' "$W/out.o") > 4 * ${#specs[@]}))" <<<"1"

sqlt_end
