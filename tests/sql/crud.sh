#!/usr/bin/env bash
# CREATE, INSERT, SELECT, UPDATE (primary key changes too), DELETE, REPLACE,
# INSERT ... ON DUPLICATE KEY UPDATE, and duplicate key errors.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL,
	qty INT, UNIQUE KEY uname (name), KEY kqty (qty)) ENGINE=$E"
check engine "SELECT engine FROM information_schema.tables
	WHERE table_schema = 't' AND table_name = 'p'" <<EOF
$E
EOF

sql "INSERT INTO p VALUES (1,'apple',10),(2,'banana',20),(3,'cherry',30)"
sql "INSERT INTO p (id, name) VALUES (4,'date')"
check insert-scan "SELECT * FROM p" <<'EOF'
1	apple	10
2	banana	20
3	cherry	30
4	date	NULL
EOF
check count "SELECT COUNT(*), SUM(qty) FROM p" <<'EOF'
4	60
EOF

# Duplicate keys: error 1062 naming the key, and nothing written.
check dup-primary "INSERT INTO p VALUES (2,'fig',1)" <<'EOF'
ERROR 1062 (23000) at line 1: Duplicate entry '2' for key 'PRIMARY'
EOF
check dup-unique "INSERT INTO p VALUES (9,'cherry',1)" <<'EOF'
ERROR 1062 (23000) at line 1: Duplicate entry 'cherry' for key 'uname'
EOF
check dup-update "UPDATE p SET name = 'apple' WHERE id = 3" <<'EOF'
ERROR 1062 (23000) at line 1: Duplicate entry 'apple' for key 'uname'
EOF
check dup-update-pk "UPDATE p SET id = 1 WHERE id = 4" <<'EOF'
ERROR 1062 (23000) at line 1: Duplicate entry '1' for key 'PRIMARY'
EOF
check after-dups "SELECT * FROM p ORDER BY id" <<'EOF'
1	apple	10
2	banana	20
3	cherry	30
4	date	NULL
EOF
check unique-lookup-after-dups "SELECT id FROM p WHERE name IN ('fig','cherry','apple') ORDER BY id" <<'EOF'
1
3
EOF

# UPDATE: plain columns, an indexed column, the primary key.
sql "UPDATE p SET qty = qty + 1 WHERE id <= 2"
sql "UPDATE p SET name = 'elder' WHERE id = 4"
sql "UPDATE p SET id = id + 100 WHERE id IN (1, 3)"
check update "SELECT * FROM p ORDER BY id" <<'EOF'
2	banana	21
4	elder	NULL
101	apple	11
103	cherry	30
EOF
check update-pk-lookup "SELECT name FROM p WHERE id = 101; SELECT COUNT(*) FROM p WHERE id = 1" <<'EOF'
apple
0
EOF
check update-secondary "SELECT id FROM p WHERE name = 'elder'; SELECT COUNT(*) FROM p WHERE name = 'date'" <<'EOF'
4
0
EOF
check update-qty-index "SELECT id, qty FROM p FORCE INDEX (kqty) WHERE qty >= 11 ORDER BY qty" <<'EOF'
101	11
2	21
103	30
EOF
# Every row moves (a scan that meets its own updates must not move them twice).
sql "UPDATE p SET id = id + 1000"
check update-all-pk "SELECT id FROM p ORDER BY id" <<'EOF'
1002
1004
1101
1103
EOF

# DELETE by key, by range, by secondary index.
sql "DELETE FROM p WHERE id = 1002"
sql "DELETE FROM p WHERE name = 'cherry'"
check delete "SELECT * FROM p ORDER BY id" <<'EOF'
1004	elder	NULL
1101	apple	11
EOF
check delete-gone-from-index "SELECT COUNT(*) FROM p FORCE INDEX (uname) WHERE name >= ''" <<'EOF'
2
EOF

# REPLACE: new row, a row clashing on the primary key, one clashing on the unique key.
sql "REPLACE INTO p VALUES (5,'fig',5)"
sql "REPLACE INTO p VALUES (5,'grape',6)"
sql "REPLACE INTO p VALUES (7,'apple',7)"
check replace "SELECT * FROM p ORDER BY id" <<'EOF'
5	grape	6
7	apple	7
1004	elder	NULL
EOF

# INSERT ... ON DUPLICATE KEY UPDATE, through either key.
sql "INSERT INTO p VALUES (5,'x',1) ON DUPLICATE KEY UPDATE qty = qty + 100"
sql "INSERT INTO p VALUES (8,'apple',1) ON DUPLICATE KEY UPDATE qty = VALUES(qty) + 1000"
sql "INSERT INTO p VALUES (9,'kiwi',9) ON DUPLICATE KEY UPDATE qty = 0"
check iodku "SELECT * FROM p ORDER BY id" <<'EOF'
5	grape	106
7	apple	1001
9	kiwi	9
1004	elder	NULL
EOF
check iodku-rowcount "INSERT INTO p VALUES (9,'kiwi',9) ON DUPLICATE KEY UPDATE qty = qty + 1; SELECT ROW_COUNT()" <<'EOF'
2
EOF

# Many rows, then a scan, an aggregate and a bulk delete.
sql "CREATE TABLE big (id INT PRIMARY KEY, v INT, s VARCHAR(40), KEY kv (v)) ENGINE=$E"
sql "INSERT INTO big SELECT seq, seq % 97, CONCAT('row-', seq) FROM seq_1_to_5000"
check big "SELECT COUNT(*), SUM(id), SUM(v), MAX(s) FROM big" <<'EOF'
5000	12502500	238887	row-999
EOF
sql "DELETE FROM big WHERE v = 0"
check big-delete "SELECT COUNT(*) FROM big; SELECT COUNT(*) FROM big WHERE v = 0" <<'EOF'
4949
0
EOF

sql "TRUNCATE TABLE big"
check truncate "SELECT COUNT(*) FROM big" <<'EOF'
0
EOF
sql "RENAME TABLE big TO big2"
sql "INSERT INTO big2 VALUES (1, 1, 'one')"
check rename "SELECT * FROM big2" <<'EOF'
1	1	one
EOF
sql "DROP TABLE big2"
check drop "SHOW TABLES" <<'EOF'
p
EOF

sqlt_end
