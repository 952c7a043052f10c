#!/usr/bin/env bash
# Which thread serves a write: the autocommit writes sysbench issues
# (UPDATE of an indexed column, of a plain column, DELETE, INSERT with
# AUTO_INCREMENT, each by primary key) cost vamosd's worker pool no job of
# their own: the locking read that finds the row, the write and the COMMIT
# are served at once on the poller, since no other transaction holds their
# locks, and the COMMIT is answered after a WAL sync the pool makes for it
# and every other commit waiting then ("commits made at once"). Inside a
# transaction, the reads after its first write are served at once too. A
# read that meets a lock held by another transaction still waits on the
# pool, and sees the row once the holder commits. Counts, not times:
# vamosctl's "on the pool" and "commits made at once" counters.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

vamos_stat() {
	"$(dirname "$SQLT_VAMOSD")/vamosctl" --control "$V/ctl" stats |
		sed -n "s/.* \\([0-9]*\\) $1.*/\\1/p"
}
requests() {
	sql "SHOW GLOBAL STATUS LIKE 'Vamos_requests'" | awk '{ print $2 }'
}

sql "CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, c CHAR(20) NOT NULL,
	KEY (k)) ENGINE=$E;
	INSERT INTO w (k, c) SELECT seq, 'c' FROM seq_1_to_100"

# Pool jobs and requests per statement, for $2 statements "$1" (ID: 1..$2).
per_statement() {
	local stmts='' i p0 r0 p1 r1
	for i in $(seq 1 "$2"); do stmts+="${1//ID/$i};"; done
	local s0 s1
	p0=$(vamos_stat 'on the pool') r0=$(requests) s0=$(vamos_stat 'commits made at once')
	sql "$stmts"
	p1=$(vamos_stat 'on the pool') r1=$(requests) s1=$(vamos_stat 'commits made at once')
	echo "pool $(((p1 - p0) / $2)) requests $(((r1 - r0) / $2)) synced $(((s1 - s0) / $2))"
}

check_text update-indexed "$(per_statement 'UPDATE w SET k = k + 1 WHERE id = ID' 20)" <<'EOF'
pool 0 requests 3 synced 1
EOF
check_text update-plain "$(per_statement "UPDATE w SET c = 'u' WHERE id = ID" 20)" <<'EOF'
pool 0 requests 3 synced 1
EOF
# A delete keeps the plugin's row count (it counts the row off): no INFO
# at the next statement's start.
check_text delete "$(per_statement 'DELETE FROM w WHERE id = ID' 20)" <<'EOF'
pool 0 requests 3 synced 1
EOF
# A single-row INSERT takes its AUTO_INCREMENT value from the range the
# table keeps in the guest: the first asks vamosd for a range, the other 19
# send no AUTOINC (41 requests / 20).
check_text insert-autoinc "$(per_statement "INSERT INTO w (id, k, c) VALUES (0, ID, 'i')" 20)" <<'EOF'
pool 0 requests 2 synced 1
EOF

# A transaction: its reads after the first write are not the pool's, nor
# its COMMIT.
p0=$(vamos_stat 'on the pool')
sql "BEGIN; UPDATE w SET k = 0 WHERE id = 50; SELECT k FROM w WHERE id = 50;
	SELECT COUNT(*) FROM w WHERE k = 0; SELECT c FROM w WHERE id = 51; COMMIT" >/dev/null
check_text txn-reads-after-write "pool $(($(vamos_stat 'on the pool') - p0))" <<'EOF'
pool 0
EOF

# Inside a transaction a statement's end costs no request of its own: the
# next request says the statement ended. Two UPDATEs by key: a locking
# read and a write each, then the COMMIT; the failed INSERT's statement is
# rolled back alone (its request says the UPDATE before it ended).
# (A session of its own, its context opened by a transaction that wrote:
# no context to open, no idle snapshot's end owed meanwhile.)
session_open s0
session s0 "BEGIN; UPDATE w SET c = 'x' WHERE id = 75; COMMIT" >/dev/null
r0=$(requests)
session s0 "BEGIN; UPDATE w SET k = k + 1 WHERE id = 70; UPDATE w SET c = 't' WHERE id = 71;
	COMMIT" >/dev/null
check_text txn-two-updates "requests $(($(requests) - r0))" <<'EOF'
requests 5
EOF
session s0 "BEGIN; UPDATE w SET c = 'kept' WHERE id = 72; INSERT INTO w VALUES (73, 0, 'dup');
	UPDATE w SET c = 'kept' WHERE id = 74; COMMIT" >/dev/null
session_close s0
check after-failed-statement "SELECT id, c FROM w WHERE id IN (72, 73, 74, 75) ORDER BY id" <<'EOF'
72	kept
73	c
74	kept
75	x
EOF

# A locking read that meets another transaction's lock waits for it (on
# the pool) and then sees the committed row.
session_open s1
session_open s2
session s1 "BEGIN; UPDATE w SET c = 'held' WHERE id = 60" >/dev/null
d0=$(vamos_stat deferred_writes)
session_send s2 "UPDATE w SET k = k + 1000 WHERE id = 60; SELECT k > 1000, c FROM w WHERE id = 60"
for _ in $(seq 300); do
	# The waiting request was handed to the pool (no timing asserted).
	[[ $(vamos_stat deferred_writes) == "$d0" ]] || break
	sleep 0.1
done
check_text lock-wait-deferred "$(($(vamos_stat deferred_writes) - d0))" <<'EOF'
1
EOF
session s1 "COMMIT" >/dev/null
check_text waits-then-sees-commit "$(session_recv s2)" <<'EOF'
1	held
EOF
session_close s1
session_close s2
check rows "SELECT COUNT(*), SUM(c = 'held') FROM w" <<'EOF'
100	1
EOF
sqlt_end
