#!/bin/sh
# Sourced by the guest scripts (busybox sh, in the image vm/image.sh builds).
#
#   mdb_up [MARIADBD-OPTION...]   start mariadbd with ha_vamos loaded; return
#                                 once it answers (or fail after 120 s)
#   mdb_down                      SIGTERM mariadbd and wait until it is gone
#   sql STATEMENTS                run them through the mariadb client in
#                                 database vamos, tab separated, no names
#   sql_file                      the same for statements on stdin
#   phase NAME [WORDS...]         tell the host a phase ended
#                                 ("VAMOS-PHASE NAME WORDS" on the console)
#                                 and wait until it answers with a line: the
#                                 host reads vamosd's counters in between
#   fail MESSAGE                  say so and exit 1 (the host sees
#                                 VAMOS-GUEST-EXIT=1)

MDB_SOCK=/run/mysqld/mysqld.sock
MDB_LOG=/var/lib/mysql/guest.err
mdb_pid=

fail() {
	echo "vamos-guest: FAIL: $*"
	[ -f "$MDB_LOG" ] && tail -n 20 "$MDB_LOG"
	exit 1
}

mdb_up() {
	# --skip-networking: the client uses the socket. The redo log size is the
	# one vm/image.sh made the data directory with.
	mariadbd --no-defaults --user=root --datadir=/var/lib/mysql \
		--socket="$MDB_SOCK" --skip-networking --log-error="$MDB_LOG" \
		--plugin-dir=/usr/lib/mysql/plugin --plugin-load-add=ha_vamos.so --plugin-maturity=beta \
		--innodb-log-file-size=8M --innodb-buffer-pool-size=64M \
		--performance-schema=off "$@" </dev/null &
	mdb_pid=$!
	i=0
	while ! mariadb --no-defaults -S "$MDB_SOCK" -uroot -e 'SELECT 1' >/dev/null 2>&1 </dev/null; do
		kill -0 "$mdb_pid" 2>/dev/null || fail "mariadbd exited while starting"
		i=$((i + 1))
		[ "$i" -lt 1200 ] || fail "mariadbd did not answer within 120 s"
		sleep 0.1
	done
	mariadb --no-defaults -S "$MDB_SOCK" -uroot -e 'CREATE DATABASE IF NOT EXISTS vamos' \
		</dev/null || fail "cannot create database vamos"
}

mdb_down() {
	[ -n "$mdb_pid" ] || return 0
	kill -TERM "$mdb_pid" 2>/dev/null
	wait "$mdb_pid" 2>/dev/null
	mdb_pid=
}

sql() {
	mariadb --no-defaults -S "$MDB_SOCK" -uroot --batch --skip-column-names vamos \
		-e "$1" </dev/null
}

# sql_file: statements on stdin, one client session for all of them.
sql_file() {
	mariadb --no-defaults -S "$MDB_SOCK" -uroot --batch --skip-column-names vamos
}

phase() {
	echo "VAMOS-PHASE $*"
	read -r _ </dev/console
}
