#!/usr/bin/env bash
# SQL savepoints: SAVEPOINT a; writes; SAVEPOINT b; writes; ROLLBACK TO b;
# RELEASE a; COMMIT keeps exactly the rows written before b (and after the
# rollback); ROLLBACK TO a savepoint keeps it set for another rollback, and
# undoes updates, deletes and primary key changes with every index; a
# failing statement (a duplicate key) inside a transaction undoes only
# itself; ROLLBACK after savepoints undoes everything.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE s (id INT PRIMARY KEY, v INT NOT NULL, UNIQUE KEY uv (v)) ENGINE=$E"
sql "INSERT INTO s VALUES (1,10)"

check nested "BEGIN;
	INSERT INTO s VALUES (2,20);
	SAVEPOINT a;
	INSERT INTO s VALUES (3,30);
	SAVEPOINT b;
	INSERT INTO s VALUES (4,40);
	UPDATE s SET v = 11 WHERE id = 1;
	ROLLBACK TO SAVEPOINT b;
	INSERT INTO s VALUES (5,50);
	RELEASE SAVEPOINT a;
	COMMIT;
	SELECT * FROM s ORDER BY id;
	SELECT id FROM s FORCE INDEX (uv) WHERE v >= 0 ORDER BY v" <<'EOF'
1	10
2	20
3	30
5	50
1
2
3
5
EOF

check twice "BEGIN;
	SAVEPOINT a;
	DELETE FROM s WHERE id = 2;
	UPDATE s SET id = 6 WHERE id = 3;
	ROLLBACK TO a;
	UPDATE s SET v = 51 WHERE id = 5;
	ROLLBACK TO a;
	INSERT INTO s VALUES (7,70);
	COMMIT;
	SELECT * FROM s ORDER BY id;
	SELECT id FROM s FORCE INDEX (uv) WHERE v >= 0 ORDER BY v" <<'EOF'
1	10
2	20
3	30
5	50
7	70
1
2
3
5
7
EOF

# The failing INSERT's first row is undone with it, the rest stays (in a
# session: the client goes on after the error).
session_open s1
check_text failing-statement "$(session s1 "BEGIN;
	INSERT INTO s VALUES (8,80);
	SAVEPOINT a;
	INSERT INTO s VALUES (9,90),(10,10);
	INSERT INTO s VALUES (11,110);
	COMMIT;
	SELECT * FROM s ORDER BY id" | sed 's/ at line [0-9]*//')" <<'EOF'
ERROR 1062 (23000): Duplicate entry '10' for key 'uv'
1	10
2	20
3	30
5	50
7	70
8	80
11	110
EOF
session_close s1

check rollback-all "BEGIN;
	SAVEPOINT a;
	DELETE FROM s;
	SAVEPOINT b;
	INSERT INTO s VALUES (12,120);
	ROLLBACK;
	SELECT COUNT(*) FROM s" <<'EOF'
7
EOF

sqlt_end
