#!/usr/bin/env bash
# vamosd's worker SIGKILLed under a running mariadbd (its keeper starts a
# new one, the VM's connection kept): the local-peer mariadbd gets vamosd
# back, idle and busy, after several deaths in a row, on new connections
# and old ones alike; every acknowledged row is there.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start
if [[ $E != VAMOS ]]; then
	check_text only-for-vamos "skipped" <<<"skipped"
	sqlt_end
fi

sql "CREATE TABLE w (writer INT, seq INT, PRIMARY KEY (writer, seq)) ENGINE=$E"
sql "INSERT INTO w VALUES (0, 1)"
session_open s1
check_session s1-before s1 "SELECT COUNT(*) FROM w" <<'EOF'
1
EOF

# Idle: two deaths in a row with nothing going on, then a new connection
# and the old one both write and read.
vamosd_kill_worker "$V"
vamosd_kill_worker "$V"
check idle-new-connection "INSERT INTO w VALUES (0, 2); SELECT COUNT(*) FROM w" <<'EOF'
2
EOF
check_session idle-old-connection s1 "INSERT INTO w VALUES (0, 3); SELECT COUNT(*) FROM w" <<'EOF'
3
EOF

# Busy: two writers inserting a row a statement, each acknowledged row
# recorded; two more deaths in a row under them (four in all: as many as
# the keeper allows). A statement in flight may fail; afterwards they all
# get through again.
writer() {
	local n=$1 seq=0
	while [[ ! -e $W/stop ]]; do
		seq=$((seq + 1))
		if sql "INSERT INTO w VALUES ($n, $seq)" 2>>"$W/writer$n.err"; then
			echo "$seq" >>"$W/writer$n.acked"
		fi
	done
}
acked() { wc -l <"$W/writer$1.acked"; }
# Wait until each writer has MORE rows acknowledged past B1 and B2; a hang
# guard ends the test if they never do.
wait_acked() {
	local more=$1 b1=$2 b2=$3 deadline=$((SECONDS + ${VAMOS_WAIT_SECONDS:-180}))
	until (($(acked 1) >= b1 + more && $(acked 2) >= b2 + more)); do
		if ((SECONDS > deadline)); then
			touch "$W/stop"
			tail -n 3 "$W"/writer*.err >&2
			fail "the writers got no rows through after vamosd's worker died"
		fi
		sleep 0.05
	done
}
: >"$W/writer1.acked"
: >"$W/writer2.acked"
writer 1 &
w1=$!
writer 2 &
w2=$!
for _ in 1 2; do
	wait_acked 1 "$(acked 1)" "$(acked 2)"
	vamosd_kill_worker "$V"
done
wait_acked 3 "$(acked 1)" "$(acked 2)"
touch "$W/stop"
wait "$w1" "$w2"

check busy-new-connection "INSERT INTO w VALUES (0, 4); SELECT COUNT(*) FROM w WHERE writer = 0" <<'EOF'
4
EOF
check_session busy-old-connection s1 "INSERT INTO w VALUES (0, 5);
	SELECT COUNT(*) FROM w WHERE writer = 0" <<'EOF'
5
EOF
session_close s1
# Every acknowledged row is there (the primary key says: once).
for n in 1 2; do
	check_text "writer$n-acknowledged-rows-present" "$(comm -23 <(sort "$W/writer$n.acked") \
		<(sql "SELECT seq FROM w WHERE writer = $n" | sort))" <<'EOF'
EOF
done

sqlt_end
