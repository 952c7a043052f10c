#!/usr/bin/env bash
# mariadbd stopped (SIGTERM) or killed (SIGKILL) and started again: committed
# rows are all there, through every index; a transaction open at the kill is gone.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE d (id INT PRIMARY KEY, k INT, s VARCHAR(30), KEY kk (k), KEY ks (s)) ENGINE=$E"
sql "INSERT INTO d SELECT seq, seq % 13, CONCAT('s', seq) FROM seq_1_to_3000"
sql "UPDATE d SET id = id + 10000 WHERE id <= 100"
sql "DELETE FROM d WHERE k = 5"

# Counts and sums through the table and through each index.
summary="SELECT COUNT(*), SUM(id), SUM(k), SUM(CRC32(s)) FROM d IGNORE INDEX (kk, ks);
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (kk) WHERE k >= 0;
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (ks) WHERE s >= '';
	SELECT id, k, s FROM d WHERE id IN (1, 101, 10001, 10100) ORDER BY id"
before=$(sql "$summary")
check_text before "$(echo "$before" | tail -n 3)" <<'EOF'
101	10	s101
10001	1	s1
10100	9	s100
EOF

mdb_restart "$M"
check after-sigterm "$summary" <<<"$before"

# A transaction still open when mariadbd is killed must not survive.
session_open s1
check_session open-txn s1 "BEGIN; INSERT INTO d VALUES (99999, 1, 'uncommitted');
	DELETE FROM d WHERE id = 101; SELECT COUNT(*) FROM d WHERE id IN (99999, 101)" <<'EOF'
1
EOF
mdb_stop "$M" kill
session_close s1
mdb_restart "$M"
check after-sigkill "$summary" <<<"$before"
check open-txn-gone "SELECT COUNT(*) FROM d WHERE id = 99999" <<'EOF'
0
EOF

# Still writable after both.
sql "INSERT INTO d VALUES (20000, 1, 'new')"
check writable "SELECT id FROM d WHERE s = 'new'" <<'EOF'
20000
EOF

sqlt_end
