# The differential test's statement stream (tests/sql/differential.sh says
# what it covers and what it leaves out). Run as
#   awk -v seed=S -v count=N -v final=FILE -f differential.awk
# FILE gets the queries of the final comparison that depend on the schema.
# One statement a line: "R " before a write (ROW_COUNT() and
# LAST_INSERT_ID() follow it), "D " before DDL (its answer is normalised
# before the comparison). The same seed gives the same stream.
#
# The generator keeps the schema it has produced: which added indexes and
# columns exist, each column's type and name, each table's name. A DDL
# that may fail (ADD UNIQUE over duplicates) leaves its index "maybe
# there", and the next DROP of it says IF EXISTS. A table renamed, or a
# column of the original schema dropped or renamed, is put back (the
# "restore") before any DML or other DDL on that table (a read may see it
# away first), so DML always names the original columns; added columns are
# written only by statements made from the current column list.

function pick(list,   cnt, v) { cnt = split(list, v, "|"); return v[1 + int(rand() * cnt)] }
function chance(p) { return rand() < p }
function a() { return pick("-2|-1|0|1|2|3") }
function b() { return pick("'a'|'A'|'b'|'ß'|'ss'|'a '|'s'") }
function c() { return pick("NULL|b'0'|b'1'|b'11111'|5") }
function d() { return pick("NULL|0|1.5|-1.5|99.99") }
function e() { return pick("NULL|'2000-01-01 00:00:00.000'|'2000-01-01 00:00:00.001'|'1999-12-31 23:59:59.999'") }
function f() { return pick("NULL|'x'|'y'|'z'") }
function g() { return pick("NULL|-0.5|0|0.5|10000000000") }
function t1row() { return "(" a() ", " b() ", " c() ", " d() ", " e() ", " f() ", " g() ")" }
function rows(fn, cnt,   i, out) { out = ""; for (i = 0; i < cnt; i++) out = out (i ? ", " : "") (fn == 1 ? t1row() : fn == 2 ? t2row() : fn == 3 ? t3row() : fn == 4 ? t4row() : t2gen()); return out }
function id() { return 1 + int(rand() * 30) }
function k() { return pick("NULL|-128|-1|0|1|127") }
function s() { return pick("NULL|'a'|'A'|'ä'|'b'|'a '") }
function v() { return pick("NULL|''|'a'|X'00'|X'ff'|'a '") }
function t() { return pick("NULL|'-01:00:00'|'00:00:00'|'12:00:00'") }
function t2row() { return "(" id() ", " k() ", " s() ", " v() ", " t() ")" }
function t2gen() { return "(" k() ", " s() ", NULL, " t() ")" }
function x() { return pick("NULL|-1|0|1|2") }
function y() { return pick("NULL|'a'|'A'|'a '|'b'") }
function z() { return pick("NULL|0.5|-0.5|2") }
function t3row() { return "(" x() ", " y() ", " z() ")" }
function p() { return pick("0|1|2|127|128|255") }
function q() { return pick("NULL|'a'|'A'|'ä'|'a '|'b'") }
function t4row() { return "(" p() ", " q() ", " int(rand() * 5) ")" }
function n() { return 1 + int(rand() * 4) }
function t1stmt(   r) {
	r = rand()
	if (r < 0.14) return "R INSERT INTO t1 " T1COLS " VALUES " rows(1, n())
	if (r < 0.20) return "R INSERT IGNORE INTO t1 " T1COLS " VALUES " rows(1, n())
	if (r < 0.26) return "R REPLACE INTO t1 " T1COLS " VALUES " rows(1, n())
	if (r < 0.32) return "R INSERT INTO t1 " T1COLS " VALUES " rows(1, n()) " ON DUPLICATE KEY UPDATE " pick("g = g + 1|c = VALUES(c)|a = a + 10|b = 'q'|d = NULL, c = " c())
	if (r < 0.38) return "R UPDATE t1 SET a = a + " pick("1|-1|5") " WHERE b = " b() " ORDER BY b, a" pick("| DESC") " LIMIT " n()
	if (r < 0.43) return "R UPDATE t1 SET b = " b() " WHERE a = " a() " ORDER BY b, a LIMIT " n()
	if (r < 0.48) return "R UPDATE t1 SET c = " c() ", d = " d() " WHERE b = " b() " AND a = " a()
	if (r < 0.54) return "R UPDATE t1 SET g = " g() ", f = " f() ", e = " e() " WHERE " pick("e IS NULL|g > 0|f = 'x'|a < 0")
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
	if (r < 0.27) return "R INSERT INTO t2 " T2COLS " VALUES " rows(2, n())
	if (r < 0.33) return "R INSERT IGNORE INTO t2 " T2COLS " VALUES " rows(2, n())
	if (r < 0.39) return "R REPLACE INTO t2 " T2COLS " VALUES " rows(2, n())
	if (r < 0.45) return "R INSERT INTO t2 " T2COLS " VALUES " rows(2, n()) " ON DUPLICATE KEY UPDATE " pick("k = VALUES(k)|v = " v() "|t = NULL|s = CONCAT(s, 'z')")
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
	if (r < 0.20) return "R INSERT INTO t3 " T3COLS " VALUES " rows(3, n())
	if (r < 0.27) return "R INSERT IGNORE INTO t3 " T3COLS " VALUES " rows(3, n())
	if (r < 0.33) return "R REPLACE INTO t3 " T3COLS " VALUES " rows(3, n())
	if (r < 0.38) return "R INSERT INTO t3 " T3COLS " VALUES " rows(3, 1) " ON DUPLICATE KEY UPDATE z = z + 1"
	if (r < 0.46) return "R UPDATE t3 SET y = " y() " WHERE x = " x() " ORDER BY " allcols(3) " LIMIT 1"
	if (r < 0.54) return "R UPDATE t3 SET x = x + 1, z = " z() " WHERE " pick("y = " y() "|x > 0|z IS NULL")
	if (r < 0.60) return "R DELETE FROM t3 WHERE " pick("x = " x() "|y = " y() "|z < 0")
	if (r < 0.70) return "SELECT x, y, z FROM t3 FORCE INDEX (kx) WHERE x " pick("<|>=|=") " " x() " ORDER BY x, y, z"
	if (r < 0.80) return "SELECT x, y, z FROM t3 WHERE y = " y()
	return "SELECT COUNT(*), COUNT(y), SUM(x) FROM t3"
}
function t4stmt(   r) {
	r = rand()
	if (r < 0.15) return "R INSERT INTO t4 " T4COLS " VALUES " rows(4, n())
	if (r < 0.21) return "R INSERT IGNORE INTO t4 " T4COLS " VALUES " rows(4, n())
	if (r < 0.27) return "R REPLACE INTO t4 " T4COLS " VALUES " rows(4, n())
	if (r < 0.33) return "R INSERT INTO t4 " T4COLS " VALUES " rows(4, n()) " ON DUPLICATE KEY UPDATE " pick("r = r + 1|p = " p() "|q = " q())
	if (r < 0.43) return "R UPDATE t4 SET p = " p() " WHERE p = " p()
	if (r < 0.50) return "R UPDATE t4 SET q = " q() " WHERE p = " p()
	if (r < 0.55) return "R UPDATE t4 SET r = r + 1 WHERE q = " q()
	if (r < 0.60) return "R DELETE FROM t4 WHERE " pick("p = " p() "|q = " q() "|r > 3")
	if (r < 0.72) return "SELECT p + 0, q, r FROM t4 WHERE p " pick("<|>=|=") " " p() " ORDER BY p" pick("| DESC")
	if (r < 0.84) return "SELECT p + 0, q, r FROM t4 FORCE INDEX (uq) WHERE q " pick("<|>=|=") " " q() " ORDER BY q, p"
	return "SELECT COUNT(*), COUNT(q), SUM(r) FROM t4"
}

# -- the schema as the stream has left it --
# Per table T (1..4): tbl[T] its current name; base[T] the original
# columns, in order; away[T] the restore statement while something of the
# original schema is away (a renamed table or column, a dropped column);
# ncol[T] the added INT column (nhas[T], its type ntype[T]); mname[T] the
# added VARCHAR (mhas[T]; renamed between m<T> and mm<T>); slot s = 1
# (plain, ix<T>) and 2 (UNIQUE, ux<T>): state 0 absent, 1 there, 2 maybe
# there, columns scols[T, s]; modifiable columns mod[T, i] with a narrow
# and a wide type (oneway: never narrowed back, the values may outgrow
# the narrow one); spec[T] the column of the original schema that is
# renamed or dropped (spec_type[T, col] its type, spec_drop[T] whether
# it may be dropped).
function setup(   T) {
	T1COLS = "(a, b, c, d, e, f, g)"; T2COLS = "(id, k, s, v, t)"; T3COLS = "(x, y, z)"; T4COLS = "(p, q, r)"
	base[1] = "a, b, c, d, e, f, g"; base[2] = "id, k, s, v, t"; base[3] = "x, y, z"; base[4] = "p, q, r"
	nbase[1] = 7; nbase[2] = 5; nbase[3] = 3; nbase[4] = 3
	for (T = 1; T <= 4; T++) { tbl[T] = "t" T; ncol[T] = "n" T; mname[T] = "m" T; ntype[T] = "INT NOT NULL DEFAULT 7" }
	addmod(1, "a", "INT NOT NULL", "BIGINT NOT NULL", 0)
	addmod(1, "b", "VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL", "VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL", 0)
	addmod(1, "d", "DECIMAL(6,2) NULL", "DECIMAL(10,2) NULL", 0)
	addmod(2, "k", "TINYINT NULL", "SMALLINT NULL", 1)
	addmod(2, "s", "CHAR(3) CHARACTER SET latin1 NULL", "CHAR(6) CHARACTER SET latin1 NULL", 1)
	addmod(3, "x", "INT NULL", "BIGINT NULL", 0)
	addmod(3, "y", "VARCHAR(5) COLLATE utf8mb4_bin NULL", "VARCHAR(20) COLLATE utf8mb4_bin NULL", 0)
	addmod(4, "p", "BIT(8) NOT NULL", "BIT(16) NOT NULL", 0)
	addmod(4, "q", "VARCHAR(4) COLLATE utf8mb4_unicode_nopad_ci NULL", "VARCHAR(12) COLLATE utf8mb4_unicode_nopad_ci NULL", 0)
	addmod(4, "r", "INT NULL", "BIGINT NULL", 0)
	spec[1] = "g"; spec_type[1, "g"] = "DOUBLE NULL"; spec_drop[1] = 0 # in the original key kg
	spec[2] = "t"; spec_type[2, "t"] = "TIME NULL"; spec_drop[2] = 1
	spec[3] = "z"; spec_type[3, "z"] = "FLOAT NULL"; spec_drop[3] = 1
	spec[4] = "r"; spec_type[4, "r"] = "INT NULL"; spec_drop[4] = 1
	# Index candidates; UNIQUE ones over columns with repeated values fail with 1062.
	cand[1, 1] = "d|f, a|e, g|b(1)"; cand[1, 2] = "a|d, b|b, a, f|g|e"
	cand[2, 1] = "t|s, t|v, k"; cand[2, 2] = "k|t, k|s, id|k, s, t"
	cand[3, 1] = "z|y, x|z, x"; cand[3, 2] = "x|x, z|z, y|z"
	cand[4, 1] = "r|q, r|r, p"; cand[4, 2] = "r|r, q|q, r"
}
function addmod(T, col, narrow, wide, oneway,   i) {
	i = ++nmod[T]; mod[T, i] = col; mod_narrow[T, i] = narrow; mod_wide[T, i] = wide
	mod_oneway[T, i] = oneway; mod_is_wide[T, i] = 0
}
function curtype(T, col,   i) {
	for (i = 1; i <= nmod[T]; i++)
		if (mod[T, i] == col) return mod_is_wide[T, i] ? mod_wide[T, i] : mod_narrow[T, i]
	return spec_type[T, col]
}
# Every current column, in order, for SELECT * ... ORDER BY (a total order).
function allcols(T,   out) {
	out = base[T]
	if (nhas[T]) out = out ", " ncol[T]
	if (mhas[T]) out = out ", " mname[T]
	return out
}
# The slot's index names column col (a column may be dropped only if not).
function in_slot(T, col,   s, i, cnt, v) {
	for (s = 1; s <= 2; s++) {
		if (!sstate[T, s]) continue
		cnt = split(scols[T, s], v, ", ")
		for (i = 1; i <= cnt; i++) if (v[i] == col || v[i] ~ ("^" col "\\(")) return 1
	}
	return 0
}
function slotname(T, s) { return (s == 1 ? "ix" : "ux") T }

# Statements on the added columns (when there are any) and whole rows.
function extra_stmt(T,   where) {
	where = T == 1 ? "a = " a() : T == 2 ? pick("id = " id() "|k = " k()) : T == 3 ? "x = " x() : "p = " p()
	if (nhas[T] && (!mhas[T] || chance(0.5)))
		return "R UPDATE " tbl[T] " SET " ncol[T] " = " ncol[T] " + " pick("1|-1|100") " WHERE " where
	return "R UPDATE " tbl[T] " SET " mname[T] " = " pick("NULL|'u'|'U'|'u '|'vvvvvvv'") " WHERE " where
}
function rows_stmt(T, without,   cols) {
	cols = without == "" ? allcols(T) : allcols_without(T, without)
	return "SELECT " text_of(cols) " FROM " tbl[T] " ORDER BY " cols
}
# BIT and binary values as text.
function text_of(cols) {
	cols = ", " cols ","
	sub(/, p,/, ", p + 0,", cols); sub(/, c,/, ", BIN(c),", cols); sub(/, v,/, ", HEX(v),", cols)
	return substr(cols, 3, length(cols) - 3)
}

# A DDL statement on table T (which has nothing away); prints one or more lines.
function ddl(T,   opts, o, s, i, col, before, after) {
	opts = "analyze|check"
	for (s = 1; s <= 2; s++) opts = opts (sstate[T, s] ? "|drop_index" : "|add_index")
	opts = opts (nhas[T] ? (in_slot(T, ncol[T]) ? "" : "|drop_n") "|modify_n" : "|add_n")
	opts = opts (mhas[T] ? "|drop_m|rename_m" : "|add_m")
	opts = opts "|modify|modify|rename_spec|rename_table|truncate"
	if (spec_drop[T] && !in_slot(T, spec[T])) opts = opts "|drop_spec"
	if (T == 2) opts = opts "|autoinc|autoinc"
	o = pick(opts)
	if (o == "analyze") { print "D ANALYZE TABLE " tbl[T]; return }
	if (o == "check") { print "D CHECK TABLE " tbl[T]; return }
	if (o == "add_index") {
		s = sstate[T, 1] ? 2 : sstate[T, 2] ? 1 : 1 + int(rand() * 2)
		scols[T, s] = pick(cand[T, s] (nhas[T] ? "|" ncol[T] : ""))
		# A UNIQUE by copying the rows: InnoDB adding one in place checks it
		# after the older unique keys, not in the order of the table's
		# definition, and then names another key when a row clashes on two.
		if (chance(0.5))
			print "D ALTER TABLE " tbl[T] " ADD " (s == 2 ? "UNIQUE" : "INDEX") " " slotname(T, s) " (" scols[T, s] ")" (s == 2 ? ", ALGORITHM=COPY" : "")
		else
			print "D CREATE " (s == 2 ? "UNIQUE " : "") "INDEX " slotname(T, s) " ON " tbl[T] " (" scols[T, s] ")" (s == 2 ? " ALGORITHM=COPY" : "")
		sstate[T, s] = s == 2 ? 2 : 1 # a UNIQUE may have met duplicates
		return
	}
	if (o == "drop_index") {
		s = !sstate[T, 1] ? 2 : !sstate[T, 2] ? 1 : 1 + int(rand() * 2)
		if (chance(0.5))
			print "D ALTER TABLE " tbl[T] " DROP INDEX " (sstate[T, s] == 2 ? "IF EXISTS " : "") slotname(T, s)
		else
			print "D DROP INDEX " (sstate[T, s] == 2 ? "IF EXISTS " : "") slotname(T, s) " ON " tbl[T]
		sstate[T, s] = 0
		return
	}
	if (o == "add_n") { print "D ALTER TABLE " tbl[T] " ADD COLUMN " ncol[T] " " ntype[T]; nhas[T] = 1; return }
	if (o == "drop_n") { print "D ALTER TABLE " tbl[T] " DROP COLUMN " ncol[T]; nhas[T] = 0; ntype[T] = "INT NOT NULL DEFAULT 7"; return }
	if (o == "modify_n") {
		ntype[T] = ntype[T] ~ /^INT/ ? "BIGINT NOT NULL DEFAULT 7" : "INT NOT NULL DEFAULT 7"
		print "D ALTER TABLE " tbl[T] " MODIFY " ncol[T] " " ntype[T]
		return
	}
	if (o == "add_m") {
		split(base[T], before, ", ")
		print "D ALTER TABLE " tbl[T] " ADD COLUMN " mname[T] " VARCHAR(8) NULL " (chance(0.2) ? "FIRST" : "AFTER " before[1 + int(rand() * nbase[T])])
		mhas[T] = 1
		return
	}
	if (o == "drop_m") { print "D ALTER TABLE " tbl[T] " DROP COLUMN " mname[T]; mhas[T] = 0; mname[T] = "m" T; return }
	if (o == "rename_m") {
		after = mname[T] == "m" T ? "mm" T : "m" T
		print "D ALTER TABLE " tbl[T] " CHANGE " mname[T] " " after " VARCHAR(" (after == "m" T ? 8 : 20) ") NULL"
		mname[T] = after
		return
	}
	if (o == "modify") {
		i = 1 + int(rand() * nmod[T])
		if (mod_oneway[T, i] && mod_is_wide[T, i]) { print "D CHECK TABLE " tbl[T]; return }
		mod_is_wide[T, i] = !mod_is_wide[T, i]
		print "D ALTER TABLE " tbl[T] " MODIFY " mod[T, i] " " curtype(T, mod[T, i])
		return
	}
	col = spec[T]
	if (o == "rename_spec") {
		print "D ALTER TABLE " tbl[T] " CHANGE " col " " col "_renamed " curtype(T, col)
		away[T] = "D ALTER TABLE " tbl[T] " CHANGE " col "_renamed " col " " curtype(T, col)
		probe[T] = "SELECT COUNT(" col "_renamed) FROM " tbl[T]
		return
	}
	if (o == "drop_spec") {
		print "D ALTER TABLE " tbl[T] " DROP COLUMN " col
		away[T] = "D ALTER TABLE " tbl[T] " ADD COLUMN " col " " curtype(T, col)
		probe[T] = rows_stmt(T, col)
		return
	}
	if (o == "rename_table") {
		print "D " (chance(0.5) ? "RENAME TABLE " tbl[T] " TO " : "ALTER TABLE " tbl[T] " RENAME TO ") tbl[T] "_moved"
		away[T] = "D RENAME TABLE " tbl[T] "_moved TO " tbl[T]
		probe[T] = pick("SELECT COUNT(*) FROM |D CHECK TABLE |D ANALYZE TABLE ") tbl[T] "_moved"
		return
	}
	if (o == "truncate") {
		if (chance(0.5)) { print "D CHECK TABLE " tbl[T]; return } # rarer: it empties the table
		print "D TRUNCATE TABLE " tbl[T]
		# The counter TRUNCATE left, then generated ids above the explicit ones again.
		if (T == 2) print "SHOW CREATE TABLE t2\nD ALTER TABLE t2 AUTO_INCREMENT = 1000"
		return
	}
	if (o == "autoinc") { print "D ALTER TABLE t2 AUTO_INCREMENT = " pick("1|1000|1010|1500|3000"); return }
}
function allcols_without(T, col,   out, v, cnt, i) {
	cnt = split(allcols(T), v, ", ")
	out = ""
	for (i = 1; i <= cnt; i++) if (v[i] != col) out = out (out == "" ? "" : ", ") v[i]
	return out
}
function stmt(T) {
	if (chance(0.04)) return rows_stmt(T)
	if ((nhas[T] || mhas[T]) && chance(0.06)) return extra_stmt(T)
	if (chance(0.01)) return "SHOW CREATE TABLE " tbl[T]
	return T == 1 ? t1stmt() : T == 2 ? t2stmt() : T == 3 ? t3stmt() : t4stmt()
}
function restore(T) { print away[T]; away[T] = "" }
BEGIN {
	srand(seed)
	setup()
	intxn = 0
	for (i = 0; i < count; i++) {
		if (!intxn && chance(0.03)) { print "BEGIN"; intxn = 1; continue }
		if (intxn && chance(0.08)) { print pick("COMMIT|ROLLBACK"); intxn = 0; continue }
		r = rand()
		# t2 takes AUTO_INCREMENT values: never inside a transaction
		T = r < 0.35 ? 1 : r < 0.60 && !intxn ? 2 : r < 0.80 ? 3 : 4
		if (away[T] != "") {
			if (chance(0.3)) { print probe[T]; if (probe[T] ~ /^D /) intxn = 0; continue }
			restore(T)
		} else if (chance(intxn ? 0.02 : 0.04))
			ddl(T)
		else {
			print stmt(T)
			continue
		}
		intxn = 0 # DDL (ANALYZE and CHECK too) commits the open transaction
	}
	if (intxn) print "COMMIT"
	for (T = 1; T <= 4; T++) if (away[T] != "") restore(T)
	# The final contents, every column, and the tables' definitions.
	for (T = 1; T <= 4; T++) print rows_stmt(T) "\nSHOW CREATE TABLE " tbl[T] >final
}
