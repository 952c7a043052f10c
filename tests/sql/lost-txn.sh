#!/usr/bin/env bash
# A transaction vamosd lost (it was killed under it) is rolled back as a
# whole in MariaDB: the statement that finds it lost fails with 1296, the
# transaction ends there, and a client that ignores the error and commits
# commits nothing of it — not even another engine's part.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start
if [[ $E != VAMOS ]]; then
	check_text only-for-vamos "skipped" <<<"skipped"
	sqlt_end
fi

sql "CREATE TABLE v (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=$E"
sql "CREATE TABLE i (id INT PRIMARY KEY) ENGINE=InnoDB"
sql "INSERT INTO v VALUES (1, 'committed')"

session_open s1
check_session begin s1 "BEGIN; INSERT INTO v VALUES (2, 'lost'); INSERT INTO i VALUES (2);
	UPDATE v SET note = 'lost' WHERE id = 1; SELECT @@in_transaction" <<'EOF'
1
EOF
vamosd_restart "$V" KILL
check_text lost "$(session s1 "INSERT INTO v VALUES (3, 'after')" | cut -c1-10)" <<'EOF'
ERROR 1296
EOF
check_session transaction-ended s1 "SELECT @@in_transaction" <<'EOF'
0
EOF
check_session ignored-then-commit s1 "COMMIT" <<'EOF'
EOF
check nothing-committed "SELECT * FROM v ORDER BY id; SELECT COUNT(*) FROM i" <<'EOF'
1	committed
0
EOF

# Statements inside a transaction after the lost one: the same again, and
# the later ones form a new transaction of their own.
check_session begin-again s1 "BEGIN; INSERT INTO v VALUES (4, 'lost'); INSERT INTO i VALUES (4)" <<'EOF'
EOF
vamosd_restart "$V" KILL
check_text lost-again "$(session s1 "SELECT COUNT(*) FROM v" | cut -c1-10)" <<'EOF'
ERROR 1296
EOF
check_session new-transaction s1 "BEGIN; INSERT INTO v VALUES (5, 'new'); INSERT INTO i VALUES (5);
	COMMIT" <<'EOF'
EOF
check only-the-new-one "SELECT * FROM v ORDER BY id; SELECT id FROM i" <<'EOF'
1	committed
5	new
5
EOF
session_close s1

sqlt_end
