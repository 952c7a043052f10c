#!/usr/bin/env bash
# Table features real schemas use, each statement run on an InnoDB copy
# (database o) and an $E copy (database e) and every answer compared:
#  - generated columns, VIRTUAL and STORED, with plain and UNIQUE indexes on
#    them (reads through those indexes, covering reads, UPDATE moving the
#    entries, duplicates of a computed value, ALTER adding an indexed one);
#  - UNIQUE on BLOB/TEXT and on keys past the length limit (MariaDB's long
#    unique keys): 1062 on INSERT, on a multi-row INSERT (the statement
#    undone), on UPDATE, inside a transaction; REPLACE, INSERT IGNORE and
#    ON DUPLICATE KEY UPDATE; NULLs distinct; a table without primary key;
#  - SEQUENCE objects;
#  - ANALYZE TABLE and CHECK TABLE answering OK.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

script() {
	local engine=$1
	cat <<EOF
SELECT '#vcol';
CREATE TABLE g (id INT PRIMARY KEY, a INT, b VARCHAR(20),
  v INT AS (a * 2) VIRTUAL, s INT AS (a + 1) STORED,
  vb VARCHAR(30) AS (CONCAT(b, '!')) VIRTUAL,
  KEY kv (v), KEY ks (s), UNIQUE KEY uvb (vb)) ENGINE=$engine;
INSERT INTO g (id, a, b) VALUES (1, 1, 'x'), (2, 5, 'y'), (3, 3, 'z');
INSERT INTO g (id, a, b) VALUES (4, 9, 'x');
INSERT INTO g (id, a, b) VALUES (5, 7, 'w'), (6, 8, 'y');
SELECT * FROM g ORDER BY id;
SELECT id, v FROM g FORCE INDEX (kv) WHERE v > 2 ORDER BY v;
SELECT id, s FROM g FORCE INDEX (ks) WHERE s BETWEEN 2 AND 4 ORDER BY s;
SELECT v FROM g FORCE INDEX (kv) ORDER BY v DESC;
SELECT vb FROM g FORCE INDEX (uvb) ORDER BY vb;
UPDATE g SET a = 10 WHERE id = 1;
SELECT id, v, s FROM g FORCE INDEX (kv) WHERE v = 20;
SELECT id FROM g FORCE INDEX (kv) WHERE v = 2;
UPDATE g SET b = 'y' WHERE id = 3;
UPDATE g SET b = 'q' WHERE id = 3;
SELECT id, vb FROM g FORCE INDEX (uvb) WHERE vb = 'q!';
DELETE FROM g WHERE v = 6;
SELECT * FROM g FORCE INDEX (uvb) ORDER BY vb;
ALTER TABLE g ADD COLUMN w INT AS (a - id) VIRTUAL, ADD KEY kw (w);
SELECT id, w FROM g FORCE INDEX (kw) ORDER BY w, id;
SELECT w FROM g FORCE INDEX (kw) WHERE w < 5 ORDER BY w;
REPLACE INTO g (id, a, b) VALUES (2, 4, 'q');
SELECT * FROM g ORDER BY id;
INSERT INTO g (id, a, b) VALUES (9, 1, 'x') ON DUPLICATE KEY UPDATE a = a + 1;
INSERT INTO g (id, a, b) VALUES (10, 1, 'q') ON DUPLICATE KEY UPDATE a = 100;
SELECT * FROM g ORDER BY id;
CREATE TABLE gs (a INT, b INT AS (a % 3) PERSISTENT, KEY (b)) ENGINE=$engine;
INSERT INTO gs (a) VALUES (1), (2), (3), (4), (5);
SELECT a, b FROM gs FORCE INDEX (b) WHERE b = 1 ORDER BY a;
SELECT '#long-unique';
CREATE TABLE lu (id INT PRIMARY KEY, t TEXT, v VARCHAR(2000), UNIQUE KEY ut (t),
  UNIQUE KEY uv (v, id)) ENGINE=$engine DEFAULT CHARSET=utf8mb4;
SHOW CREATE TABLE lu;
INSERT INTO lu VALUES (1, 'a', 'x'), (2, 'b', 'y');
INSERT INTO lu VALUES (3, 'a', 'z');
SELECT ROW_COUNT();
INSERT INTO lu VALUES (4, 'c', 'z'), (5, 'd', 'z'), (6, 'c', 'w');
SELECT * FROM lu ORDER BY id;
UPDATE lu SET t = 'a' WHERE id = 2;
UPDATE lu SET t = 'e' WHERE id = 2;
UPDATE lu SET t = CONCAT(t, t);
SELECT * FROM lu ORDER BY id;
REPLACE INTO lu VALUES (7, 'aa', 'r');
SELECT * FROM lu ORDER BY id;
INSERT IGNORE INTO lu VALUES (8, 'ee', 'i'), (9, 'f', 'i');
SELECT ROW_COUNT();
INSERT INTO lu VALUES (10, 'f', 'o') ON DUPLICATE KEY UPDATE v = 'dup';
SELECT * FROM lu ORDER BY id;
INSERT INTO lu VALUES (11, NULL, 'n'), (12, NULL, 'n');
INSERT INTO lu VALUES (13, REPEAT('long', 3000), 'l'), (14, CONCAT(REPEAT('long', 3000), '.'), 'l');
INSERT INTO lu VALUES (15, REPEAT('long', 3000), 'm');
SELECT id, LENGTH(t), v FROM lu WHERE t = REPEAT('long', 3000);
SELECT id, LENGTH(t), v FROM lu ORDER BY id;
BEGIN;
INSERT INTO lu VALUES (20, 'txn', 't');
INSERT INTO lu VALUES (21, 'txn', 't');
INSERT INTO lu VALUES (22, 'txn2', 't');
COMMIT;
SELECT id, t FROM lu WHERE id >= 20 ORDER BY id;
CREATE TABLE lh (t TEXT, n INT, UNIQUE KEY (t)) ENGINE=$engine;
INSERT INTO lh VALUES ('a', 1), ('b', 2);
INSERT INTO lh VALUES ('c', 3), ('a', 4);
UPDATE lh SET t = 'a' WHERE n = 2;
REPLACE INTO lh VALUES ('b', 5);
SELECT * FROM lh ORDER BY t;
SELECT '#sequence';
CREATE SEQUENCE s1 ENGINE=$engine;
SHOW CREATE SEQUENCE s1;
SELECT NEXTVAL(s1), NEXTVAL(s1), LASTVAL(s1);
SELECT SETVAL(s1, 100);
SELECT NEXTVAL(s1), LASTVAL(s1);
SELECT SETVAL(s1, 50);
SELECT NEXTVAL(s1);
ALTER SEQUENCE s1 RESTART WITH 500 INCREMENT BY 5;
SELECT NEXTVAL(s1), NEXTVAL(s1);
SELECT next_not_cached_value, increment, cache_size FROM s1;
CREATE SEQUENCE s2 START WITH 10 INCREMENT BY 2 MAXVALUE 16 CACHE 0 ENGINE=$engine;
BEGIN;
SELECT NEXTVAL(s2);
SELECT NEXTVAL(s2);
ROLLBACK;
SELECT NEXTVAL(s2);
SELECT NEXTVAL(s2);
SELECT NEXTVAL(s2);
SELECT * FROM s2;
ALTER SEQUENCE s2 CYCLE;
SELECT NEXTVAL(s2);
CREATE TABLE st (id INT PRIMARY KEY DEFAULT NEXTVAL(s1), v INT) ENGINE=$engine;
INSERT INTO st (v) VALUES (1), (2);
SELECT * FROM st ORDER BY id;
SET default_storage_engine = $engine;
CREATE SEQUENCE s3 START WITH 7;
SET default_storage_engine = DEFAULT;
SHOW CREATE SEQUENCE s3;
SELECT NEXTVAL(s3), NEXTVAL(s3);
SELECT ENGINE = '$engine' FROM information_schema.TABLES WHERE TABLE_NAME = 's3' AND TABLE_SCHEMA = DATABASE();
RENAME TABLE s3 TO s4;
SELECT NEXTVAL(s4);
DROP SEQUENCE s1, s2, s4;
SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_TYPE = 'SEQUENCE' AND TABLE_SCHEMA = DATABASE();
SELECT '#analyze-check';
CREATE TABLE ac (id INT PRIMARY KEY, a INT, b VARCHAR(10), u INT, KEY (a), UNIQUE KEY (u),
  KEY ab (a, b)) ENGINE=$engine;
INSERT INTO ac VALUES (1, 1, 'x', 1), (2, 1, 'y', NULL), (3, 2, 'z', 3), (4, NULL, NULL, NULL);
UPDATE ac SET a = 5, u = 5 WHERE id = 3;
DELETE FROM ac WHERE id = 2;
ANALYZE TABLE ac;
ANALYZE TABLE g, lu, lh;
CHECK TABLE ac;
CHECK TABLE g, lu, lh;
CHECK TABLE ac EXTENDED;
SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_NAME = 'ac' AND TABLE_SCHEMA = DATABASE();
CREATE TABLE ah (a INT, b INT, KEY (b)) ENGINE=$engine;
INSERT INTO ah VALUES (1, 1), (2, 2), (3, 3);
ANALYZE TABLE ah;
CHECK TABLE ah;
SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_NAME = 'ah' AND TABLE_SCHEMA = DATABASE();
EOF
}

sql "CREATE DATABASE o; CREATE DATABASE e"
for side in o e; do
	engine=$E
	[[ $side == o ]] && engine=InnoDB
	script "$engine" >"$W/script.$side"
	mdb_client "$M" --batch --skip-column-names --force --unbuffered --skip-print-query-on-error "$side" \
		<"$W/script.$side" 2>&1 | sed "s/ENGINE=$engine/ENGINE=X/; s/^$side\\./X./; s/'$side\\./'X./" >"$W/out.$side" || true
	mkdir -p "$W/split.$side"
	awk -v dir="$W/split.$side" '/^#/ { f = dir "/" substr($0, 2); next } { print > f }' \
		"$W/out.$side"
done
sections=(vcol long-unique sequence analyze-check)
for name in "${sections[@]}"; do
	check_same "$name" "$(cat "$W/split.o/$name" 2>/dev/null)" "$(cat "$W/split.e/$name" 2>/dev/null)"
done
# A value one connection's open transaction took is not locked by it:
# another connection goes on at once (no lock wait), and the value stays
# taken after the first rolls back.
sql "CREATE SEQUENCE e.sc CACHE 0 ENGINE=$E"
session_open a
session_open b
check_session seq-a-takes a "BEGIN; SELECT NEXTVAL(e.sc)" <<<"1"
check_session seq-b-goes-on b "SET SESSION lock_wait_timeout = 1; SELECT NEXTVAL(e.sc)" <<<"2"
check_session seq-a-again a "SELECT NEXTVAL(e.sc); ROLLBACK" <<<"3"
check_session seq-after-rollback b "SELECT NEXTVAL(e.sc)" <<<"4"
session_close a
session_close b
sql "DROP SEQUENCE e.sc"

# Not vacuous: InnoDB ran every section, duplicates refused.
check_text oracle-sections "$(ls "$W/split.o" | wc -l)" <<<"${#sections[@]}"
check_text oracle-dups "$(grep -c 'ERROR 1062' "$W/out.o")" <<<"10"

sqlt_end
