#!/bin/sh
# The in-VM SQL test, inside the guest (tests/vm/run.sh drives it):
#   /vamos/test.sh ivshmem     CRUD on an ENGINE=VAMOS table through the
#                              ivshmem device, a mariadbd restart, and the
#                              host's checks, vamosd restart and a frozen
#                              vamosd at phases
#   /vamos/test.sh no-device   a guest without ivshmem: ha_vamos must fall
#                              back to vsock and, with no vsock either, fail
#                              the statement with a message naming both
# Every check prints "vamos-guest: ok ..." or fails the run (exit 1).
. /vamos/lib.sh
mode=${1:-ivshmem}

ok() { echo "vamos-guest: ok $*"; }
# The client's error text on one line, without its dashed frame.
one_line() { echo "$1" | grep -v '^---' | tr '\n' ' '; }
# expect WHAT WANT GOT
expect() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	ok "$1"
}

mdb_up

if [ "$mode" = no-device ]; then
	if out=$(sql "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=VAMOS" 2>&1); then
		fail "CREATE TABLE ... ENGINE=VAMOS worked without any transport"
	fi
	out=$(one_line "$out")
	echo "vamos-guest: the statement failed with: $out"
	case $out in *"no ivshmem device"*) ;; *) fail "the error does not say the ivshmem device is missing" ;; esac
	case $out in *vsock*vhost-vsock*) ;; *) fail "the error does not name vsock and what it needs" ;; esac
	# InnoDB and the server itself are unaffected.
	expect "InnoDB still works" 1 "$(sql 'CREATE TABLE i (a INT) ENGINE=InnoDB; INSERT INTO i VALUES (1); SELECT COUNT(*) FROM i')"
	mdb_down
	exit 0
fi

sql "CREATE TABLE t (id INT UNSIGNED NOT NULL PRIMARY KEY, k INT NOT NULL,
  v VARCHAR(64) NOT NULL, KEY k (k)) ENGINE=VAMOS" || fail "CREATE TABLE ENGINE=VAMOS failed"
sql "INSERT INTO t SELECT seq, seq % 100, CONCAT('row-', seq) FROM seq_1_to_5000" ||
	fail "INSERT of 5000 rows failed"
expect "count" "5000	12502500" "$(sql 'SELECT COUNT(*), SUM(id) FROM t')"
expect "point select" "row-4321" "$(sql 'SELECT v FROM t WHERE id = 4321')"
expect "range" "100	1001	1100" "$(sql 'SELECT COUNT(*), MIN(id), MAX(id) FROM t WHERE id BETWEEN 1001 AND 1100')"
expect "secondary index" "50" "$(sql 'SELECT COUNT(*) FROM t FORCE INDEX (k) WHERE k = 7')"
sql "UPDATE t SET v = 'changed' WHERE k = 7; DELETE FROM t WHERE id > 4900" ||
	fail "UPDATE/DELETE failed"
expect "update and delete" "4900	49" "$(sql "SELECT COUNT(*), SUM(v = 'changed') FROM t")"
out=$(sql "INSERT INTO t VALUES (1, 1, 'dup')" 2>&1) && fail "a duplicate key was accepted"
out=$(one_line "$out")
case $out in *1062*) ok "duplicate key refused: $out" ;; *) fail "duplicate key: $out" ;; esac
expect "rollback" "4900" "$(sql 'BEGIN; DELETE FROM t; ROLLBACK; SELECT COUNT(*) FROM t')"
phase checked 0

# mariadbd restarts; the table lives on the host and is still there.
mdb_down
mdb_up
expect "after a mariadbd restart" "4900	49" "$(sql "SELECT COUNT(*), SUM(v = 'changed') FROM t")"
phase mariadbd_restarted 0

# vamosd restarts in place (SIGUSR2) while this VM runs: QEMU keeps its
# connection, memory and interrupts; the guest sees a pause.
phase restart_vamosd 0
expect "after a vamosd restart" "4900	49" "$(sql "SELECT COUNT(*), SUM(v = 'changed') FROM t")"
sql "INSERT INTO t SELECT seq, seq % 100, CONCAT('new-', seq) FROM seq_6001_to_7000" ||
	fail "INSERT after the vamosd restart failed"
expect "writes after a vamosd restart" "5900	1000" "$(sql "SELECT COUNT(*), SUM(v LIKE 'new-%') FROM t")"
echo "vamos-guest: $(sql 'SHOW STATUS LIKE "Vamos_reattaches"' | tr '\t' '=')"
phase after_restart 0

# vamosd dies (SIGKILL): its keeper starts it again with this VM's device.
phase crash_vamosd 0
expect "after vamosd died" "5900	1000" "$(sql "SELECT COUNT(*), SUM(v LIKE 'new-%') FROM t")"
sql "DELETE FROM t WHERE id > 6500" || fail "DELETE after vamosd died failed"
expect "writes after vamosd died" "5400" "$(sql "SELECT COUNT(*) FROM t")"
echo "vamos-guest: $(sql 'SHOW STATUS LIKE "Vamos_reattaches"' | tr '\t' '=')"
phase after_crash 0

# vamosd is alive but frozen (its worker SIGSTOPped): the statement fails
# within seconds, from the heartbeat in the region header, naming why;
# once vamosd moves again the next statement is served.
phase freeze_vamosd 0
out=$(sql "SELECT COUNT(*) FROM t" 2>&1) && fail "a statement was answered by a frozen vamosd: $out"
out=$(one_line "$out")
echo "vamos-guest: the statement failed with: $out"
case $out in *"has not answered for"*) ok "a frozen vamosd is named" ;; *) fail "frozen vamosd: $out" ;; esac
phase thaw_vamosd 0
expect "after vamosd moved again" "5400" "$(sql "SELECT COUNT(*) FROM t")"
mdb_down
