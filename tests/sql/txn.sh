#!/usr/bin/env bash
# Transactions: ROLLBACK undoes inserts, updates (primary key changes too)
# and deletes; COMMIT keeps them; a transaction sees its own writes, others
# do not until it commits; a failed statement undoes itself; a client that
# disconnects mid-transaction is rolled back.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE a (id INT PRIMARY KEY, v INT NOT NULL, KEY kv (v)) ENGINE=$E"
sql "INSERT INTO a VALUES (1,10),(2,20),(3,30)"

check rollback "BEGIN;
	INSERT INTO a VALUES (4,40);
	UPDATE a SET v = v + 1 WHERE id = 1;
	UPDATE a SET id = 20 WHERE id = 2;
	DELETE FROM a WHERE id = 3;
	SELECT * FROM a ORDER BY id;
	SELECT id FROM a WHERE v = 40;
	ROLLBACK;
	SELECT * FROM a ORDER BY id;
	SELECT id FROM a FORCE INDEX (kv) WHERE v >= 0 ORDER BY v" <<'EOF'
1	11
4	40
20	20
4
1	10
2	20
3	30
1
2
3
EOF

check commit "START TRANSACTION;
	INSERT INTO a VALUES (5,50);
	UPDATE a SET id = 6 WHERE id = 1;
	DELETE FROM a WHERE id = 2;
	COMMIT;
	SELECT * FROM a ORDER BY id;
	SELECT id FROM a FORCE INDEX (kv) WHERE v >= 0 ORDER BY v" <<'EOF'
3	30
5	50
6	10
6
3
5
EOF

# A multi-row statement that fails on its third row leaves nothing behind,
# inside a transaction too (and the transaction's earlier work stays).
check statement-atomic "INSERT INTO a VALUES (100,1),(101,1),(5,1)" <<'EOF'
ERROR 1062 (23000) at line 1: Duplicate entry '5' for key 'PRIMARY'
EOF
check statement-atomic-in-txn "BEGIN;
	INSERT INTO a VALUES (7,70);
	INSERT INTO a VALUES (200,1),(201,1),(3,1);
	COMMIT;
	SELECT * FROM a ORDER BY id" <<'EOF'
ERROR 1062 (23000) at line 3: Duplicate entry '3' for key 'PRIMARY'
EOF
check statement-atomic-after "SELECT * FROM a ORDER BY id" <<'EOF'
3	30
5	50
6	10
EOF
check statement-atomic-txn-rest "BEGIN;
	INSERT INTO a VALUES (7,70);
	UPDATE a SET id = id + 1 WHERE id >= 5;
	COMMIT;
	SELECT * FROM a ORDER BY id" <<'EOF'
ERROR 1062 (23000) at line 3: Duplicate entry '6' for key 'PRIMARY'
EOF
check statement-atomic-txn-rest-after "SELECT * FROM a ORDER BY id" <<'EOF'
3	30
5	50
6	10
EOF

# Two connections: uncommitted work is invisible to the other one.
session_open s1
session_open s2
check_session s1-begin s1 "BEGIN; INSERT INTO a VALUES (8,80); UPDATE a SET v = 31 WHERE id = 3;
	SELECT * FROM a ORDER BY id" <<'EOF'
3	31
5	50
6	10
8	80
EOF
check_session s2-not-yet s2 "SELECT * FROM a ORDER BY id" <<'EOF'
3	30
5	50
6	10
EOF
check_session s1-commit s1 "COMMIT" <<'EOF'
EOF
check_session s2-after-commit s2 "SELECT * FROM a ORDER BY id" <<'EOF'
3	31
5	50
6	10
8	80
EOF
check_session s1-rollback s1 "BEGIN; DELETE FROM a WHERE id = 8; SELECT COUNT(*) FROM a; ROLLBACK;
	SELECT COUNT(*) FROM a" <<'EOF'
3
4
EOF
check_session s2-after-rollback s2 "SELECT COUNT(*) FROM a" <<'EOF'
4
EOF

# A client that goes away in the middle of a transaction is rolled back.
check_session s1-abandon s1 "BEGIN; INSERT INTO a VALUES (9,90); DELETE FROM a WHERE id = 3;
	SELECT COUNT(*) FROM a" <<'EOF'
4
EOF
session_close s1
check_session s2-after-disconnect s2 "SELECT * FROM a ORDER BY id" <<'EOF'
3	31
5	50
6	10
8	80
EOF
session_close s2

sqlt_end
