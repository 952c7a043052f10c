#!/usr/bin/env bash
# ha_vamos's system variables: the transport settings are read-only
# globals that take their VAMOS_* environment variable when not given on
# the command line (and the command line wins over the environment);
# vamos_lock_wait_timeout is a session variable, sent to vamosd with a
# transaction's first write. vamos_poll_us: -1 (unset) leaves the reply
# poll to libvamos-client's default, 0 turns it off.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start # VAMOS_TRANSPORT=local, VAMOS_LOCAL_SOCKET, VAMOS_LOCAL_VECTORS=4
if [[ $E != VAMOS ]]; then
	check_text only-for-vamos "skipped" <<<"skipped"
	sqlt_end
fi
show="SHOW GLOBAL VARIABLES LIKE 'vamos%'"

check from-environment "$show" <<EOF
vamos_local_socket	$V/vm1.sock
vamos_local_vectors	4
vamos_lock_wait_timeout	50
vamos_poll_us	-1
vamos_stale_ms	5000
vamos_transport	local
vamos_unix_socket	
vamos_vsock_cid	2
vamos_vsock_port	7800
EOF
check read-only "SET GLOBAL vamos_transport = 'unix'" <<'EOF'
ERROR 1238 (HY000) at line 1: Variable 'vamos_transport' is a read only variable
EOF

check session "SET SESSION vamos_lock_wait_timeout = 3; SELECT @@session.vamos_lock_wait_timeout,
	@@global.vamos_lock_wait_timeout; SET SESSION vamos_lock_wait_timeout = 0;
	SELECT @@session.vamos_lock_wait_timeout" <<'EOF'
3	50
1
EOF
sql "SET GLOBAL vamos_lock_wait_timeout = 7"
check global-for-new-sessions "SELECT @@session.vamos_lock_wait_timeout" <<<"7"
# vamosd takes the wait sent with the first write of each transaction.
sql "CREATE TABLE w (id INT PRIMARY KEY, v INT) ENGINE=$E"
sql "SET SESSION vamos_lock_wait_timeout = 2; BEGIN; INSERT INTO w VALUES (1, 1), (2, 2);
	UPDATE w SET v = v + 1; COMMIT; UPDATE w SET v = v * 10 WHERE id = 2"
check writes-with-a-wait "SELECT id, v FROM w ORDER BY id" <<'EOF'
1	2
2	30
EOF

# The command line wins over the environment, which here names a
# transport that cannot work.
mdb_stop "$M"
mdb_start "$M" --plugin "$SQLT_PLUGIN" --env VAMOS_TRANSPORT=unix \
	--env VAMOS_UNIX_SOCKET=/nonexistent/vamosd.sock --env VAMOS_VSOCK_PORT=9 \
	--env VAMOS_STALE_MS=7000 --env VAMOS_POLL_US=250 \
	-- --vamos-transport=local --vamos-local-socket="$V/vm1.sock" --vamos-local-vectors=4 \
	--vamos-poll-us=0
check command-line "$show; SELECT id, v FROM w ORDER BY id" <<EOF
vamos_local_socket	$V/vm1.sock
vamos_local_vectors	4
vamos_lock_wait_timeout	50
vamos_poll_us	0
vamos_stale_ms	7000
vamos_transport	local
vamos_unix_socket	/nonexistent/vamosd.sock
vamos_vsock_cid	2
vamos_vsock_port	9
1	2
2	30
EOF

# The environment's reply poll when the command line leaves it unset.
mdb_stop "$M"
mdb_start "$M" --plugin "$SQLT_PLUGIN" --env VAMOS_POLL_US=250 \
	-- --vamos-transport=local --vamos-local-socket="$V/vm1.sock" --vamos-local-vectors=4
check poll-from-environment "SELECT @@global.vamos_poll_us; SELECT COUNT(*) FROM w" <<'EOF'
250
2
EOF
mdb_stop "$M"
mdb_start "$M" --plugin "$SQLT_PLUGIN" --env VAMOS_POLL_US=fast -- --vamos-transport=local
check bad-poll "SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = 'VAMOS'" <<<"0"
check_text bad-poll-logged "$(grep -c 'VAMOS_POLL_US must be a number from 0 to 1000000' "$M/error.log")" <<<"1"

# A bad setting keeps the engine out, saying why.
mdb_stop "$M"
mdb_start "$M" --plugin "$SQLT_PLUGIN" -- --vamos-transport=carrier-pigeon
check bad-transport "SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = 'VAMOS'" <<<"0"
check_text bad-transport-logged "$(grep -c 'vamos_transport must be auto, ivshmem, local, vsock or unix, not "carrier-pigeon"' "$M/error.log")" <<<"1"

sqlt_end
