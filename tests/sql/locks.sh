#!/usr/bin/env bash
# Row locks between connections, with a 2 s lock wait set by the session
# (vamos_lock_wait_timeout, while vamosd's own mysql_lock_wait_ms is an
# hour: a wait that ignored the session would end in ha_vamos's call
# timeout instead, a different error; innodb_lock_wait_timeout for
# InnoDB): two
# transactions updating different rows both commit without waiting; the
# same row makes the second wait and fail with 1205 (its statement undone,
# its transaction going on); crossing updates end in 1213 for one of the
# two, whose whole transaction is rolled back, while the other commits.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
SQLT_VAMOSD_ARGS="--mysql-lock-wait-ms 3600000" sqlt_start

sql "CREATE TABLE r (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=$E"
sql "INSERT INTO r VALUES (1,10),(2,20),(3,30)"
session_open s1
session_open s2
wait_var=innodb_lock_wait_timeout
[[ $E != VAMOS ]] || wait_var=vamos_lock_wait_timeout
for s in s1 s2; do session "$s" "SET SESSION $wait_var = 2" >/dev/null; done

# Error lines without the client's running line number.
plain() { sed 's/ at line [0-9]*//'; }

check_session different-rows-1 s1 "BEGIN; UPDATE r SET v = 11 WHERE id = 1" <<'EOF'
EOF
check_session different-rows-2 s2 "BEGIN; UPDATE r SET v = 21 WHERE id = 2; COMMIT" <<'EOF'
EOF
check_session different-rows-both s1 "COMMIT; SELECT * FROM r ORDER BY id" <<'EOF'
1	11
2	21
3	30
EOF

check_session same-row-1 s1 "BEGIN; UPDATE r SET v = 12 WHERE id = 1" <<'EOF'
EOF
check_text same-row-2-times-out "$(session s2 "BEGIN; UPDATE r SET v = 32 WHERE id = 3;
	UPDATE r SET v = 13 WHERE id = 1; SELECT * FROM r ORDER BY id" | plain)" <<'EOF'
ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction
1	11
2	21
3	32
EOF
check_session same-row-2-commits s2 "COMMIT" <<'EOF'
EOF
check_session same-row-1-commits s1 "COMMIT; SELECT * FROM r ORDER BY id" <<'EOF'
1	12
2	21
3	32
EOF

# Crossing: each holds one row and asks for the other's. Whichever asks
# second closes the cycle; the order is not the test's to choose, the
# outcome is: one 1213 (all of its transaction undone), the other commits.
check_session cross-1 s1 "BEGIN; UPDATE r SET v = 100 WHERE id = 1" <<'EOF'
EOF
check_session cross-2 s2 "BEGIN; UPDATE r SET v = 200 WHERE id = 2" <<'EOF'
EOF
session_send s1 "UPDATE r SET v = 102 WHERE id = 2"
session_send s2 "UPDATE r SET v = 201 WHERE id = 1"
out1=$(session_recv s1 | plain)
out2=$(session_recv s2 | plain)
session s1 "COMMIT" >/dev/null
session s2 "COMMIT" >/dev/null
deadlock="ERROR 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"
if [[ $out1 == "$deadlock" && -z $out2 ]]; then
	outcome="one deadlock"
	expected=$'1\t201\n2\t200\n3\t32'
elif [[ $out2 == "$deadlock" && -z $out1 ]]; then
	outcome="one deadlock"
	expected=$'1\t100\n2\t102\n3\t32'
else
	outcome="s1: $out1 / s2: $out2"
	expected=
fi
check_text cross-one-refused "$outcome" <<'EOF'
one deadlock
EOF
check_text cross-the-other-committed "$(sql "SELECT * FROM r ORDER BY id")" <<<"$expected"

session_close s1
session_close s2
sqlt_end
