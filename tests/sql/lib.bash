# shellcheck shell=bash
# Helpers for the SQL tests (tests/sql/*.sh). Source it from a test, then:
#
#   sqlt_start              vamosd + a private mariadbd (ENGINE $E loaded), database t
#   sql "SQL"               run SQL in database t; output tab-separated, no header
#   check NAME "SQL" <<EOF  run SQL and compare its output (stdout and
#   expected                stderr, errors included) with the heredoc;
#   EOF                     a mismatch prints a diff and fails the test
#   check_text NAME "TEXT" <<EOF   like check, on a value the test computed
#   check_plan NAME "SQL" <<EOF   like check, on "key=K filesort=yes|no" for
#                           each table of EXPLAIN SQL
#   sqlt_end                print PASS/FAIL for the test and exit with its status;
#                           a test that failed shows the end of vamosd's log
#                           ($V/vamosd.log) and mariadbd's ($M/error.log)
#
# Environment (scripts/test-sql sets it; the defaults let a test run alone):
#   SQLT_ENGINE    engine under test (default InnoDB); exported to tests as $E
#   SQLT_PLUGIN    the .so to load into mariadbd (ha_vamos.so), or empty
#   SQLT_VAMOSD    vamosd to start (default build-release/host-server/vamosd)
#   SQLT_WORK      scratch directory for the test's servers (default: a new /tmp/sqlh-*)
#   SQLT_VM_OPTIONS  vamosd's VM options (default channels=4,vectors=4,ring_bytes=4M)
#   SQLT_TRANSPORT   how mariadbd reaches vamosd: local (default: the VM's ivshmem
#                    socket as a local peer) or unix (the VM's stream_socket,
#                    vamos_transport=unix)
#   SQLT_VAMOSD_ARGS more vamosd arguments, split on spaces (e.g. --mysql-lock-wait-ms 2000)
#   SQLT_MARIADB_ARGS more mariadbd options, split on spaces (e.g. --log-bin=binlog)
#   SQLT_LOG_LINES   how many lines of each log a failed test shows (default 30)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mariadb.sh"

E=${SQLT_ENGINE:-InnoDB}
sqlt_name=$(basename "$0" .sh)
sqlt_failed=0
sqlt_checks=0

sqlt_start() {
	local vamosd=${SQLT_VAMOSD:-$vamos_root/build-release/host-server/vamosd}
	local base=${SQLT_WORK:-}
	if [[ -z $base ]]; then
		base=$(mktemp -d /tmp/sqlh-XXXXXX)
		sqlt_own_base=$base
	fi
	W=$(mktemp -d "$base/$sqlt_name-XXXXXX")
	V=$W/vamosd M=$W/mariadb
	mkdir -p "$V" "$M"
	trap sqlt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	trap 'exit 141' PIPE # a reader that went away (| head) must not leave the servers up
	# 4 MiB rings: most rows fit a record (larger ones go in pieces: big-rows.sh).
	local vm_options=${SQLT_VM_OPTIONS:-channels=4,vectors=4,ring_bytes=4M} transport
	case ${SQLT_TRANSPORT:-local} in
	local)
		# The VM's vectors said (sysvars.sh checks the variable shows them).
		local vectors=4
		[[ ,$vm_options, =~ ,vectors=([0-9]+), ]] && vectors=${BASH_REMATCH[1]}
		transport=(--env VAMOS_TRANSPORT=local --env "VAMOS_LOCAL_SOCKET=$V/vm1.sock"
			--env "VAMOS_LOCAL_VECTORS=$vectors") ;;
	unix)
		# The VM's own stream socket: the same VM, database and tables.
		vm_options+=",stream_socket=$V/vm1.stream"
		transport=(-- --vamos-transport=unix "--vamos-unix-socket=$V/vm1.stream") ;;
	*) fail "SQLT_TRANSPORT=$SQLT_TRANSPORT: want local or unix" ;;
	esac
	VAMOSD_VM_OPTIONS=$vm_options vamosd_start "$V" "$vamosd" ${SQLT_VAMOSD_ARGS:-}
	mdb_install_db "$M/data"
	local plugin=()
	[[ -n ${SQLT_PLUGIN:-} ]] && plugin=(--plugin "$SQLT_PLUGIN")
	local more=() extra=()
	if [[ -n ${SQLT_MARIADB_ARGS:-} ]]; then
		# After the transport's "--" if it has one (mdb_start's options end there).
		[[ " ${transport[*]} " == *" -- "* ]] || more=(--)
		read -ra extra <<<"$SQLT_MARIADB_ARGS"
		more+=("${extra[@]}")
	fi
	mdb_start "$M" "${plugin[@]}" "${transport[@]}" "${more[@]}"
	mdb_client "$M" -e "CREATE DATABASE t CHARACTER SET utf8mb4"
	if [[ $(sql "SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = '$E'") != @(YES|DEFAULT) ]]; then
		grep -i -e vamos -e plugin "$M/error.log" >&2 || true
		fail "engine $E is not available in mariadbd"
	fi
	if [[ ${SQLT_TRANSPORT:-local} == unix && -n ${SQLT_PLUGIN:-} ]] &&
		! "$(dirname "$vamosd")/vamosctl" --control "$V/ctl" stats |
		grep -Eq '^streams +[1-9][0-9]* connected'; then
		fail "mariadbd is not connected to vamosd over the VM's stream socket"
	fi
}

sqlt_cleanup() {
	local rc=$? name
	for name in "${!sqlt_sess_pid[@]}"; do kill "${sqlt_sess_pid[$name]}" 2>/dev/null || true; done
	# The logs as they were when the test failed, before the servers stop.
	((rc == 0 && sqlt_failed == 0)) || [[ -z ${W:-} ]] || sqlt_show_logs
	mdb_cleanup
	if ((rc != 0 || sqlt_failed != 0)); then
		log "$sqlt_name: logs kept in $W"
	elif [[ -n ${W:-} ]]; then
		rm -rf "$W"
	fi
	[[ -z ${sqlt_own_base:-} ]] || rmdir "$sqlt_own_base" 2>/dev/null || true
}

# The end of the servers' logs, for a test that failed.
sqlt_show_logs() {
	local f
	for f in "$V/vamosd.log" "$M/error.log"; do
		[[ -s $f ]] || continue
		printf '%s: last lines of %s:\n' "$sqlt_name" "$f" >&2
		tail -n "${SQLT_LOG_LINES:-30}" "$f" | sed 's/^/  /' >&2
	done
}

sql() {
	mdb_client "$M" --batch --skip-column-names --skip-print-query-on-error t -e "$1"
}

check() {
	_check "$1" "$2" "$(sql "$2" 2>&1)"
}

# check_text NAME TEXT <<EOF: check a value computed by the test.
check_text() {
	_check "$1" "(computed)" "$2"
}

check_plan() {
	_check "$1" "EXPLAIN $2" "$(plan "$2")"
}

_check() {
	local name=$1 query=$2 got=$3 expected
	expected=$(cat)
	sqlt_checks=$((sqlt_checks + 1))
	if [[ $got != "$expected" ]]; then
		sqlt_failed=$((sqlt_failed + 1))
		printf '%s: FAIL %s\n  query: %s\n' "$sqlt_name" "$name" "$query" >&2
		diff -u --label expected --label got <(printf '%s\n' "$expected") \
			<(printf '%s\n' "$got") >&2 || true
	fi
}

# Compare two outputs given as strings; used for the InnoDB oracle.
check_same() {
	local name=$1 expected=$2 got=$3
	sqlt_checks=$((sqlt_checks + 1))
	if [[ $got != "$expected" ]]; then
		sqlt_failed=$((sqlt_failed + 1))
		printf '%s: FAIL %s\n' "$sqlt_name" "$name" >&2
		diff -u --label InnoDB --label "$E" <(printf '%s\n' "$expected") \
			<(printf '%s\n' "$got") | head -n 40 >&2 || true
	fi
}

# EXPLAIN's chosen key and whether it sorts, one line per table.
plan() {
	mdb_client "$M" --batch --skip-print-query-on-error t -e "EXPLAIN $1" 2>&1 | awk -F'\t' '
		NR == 1 && $1 != "id" { bad = 1 }
		bad { print; next }
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ print "key=" $col["key"] " filesort=" ($col["Extra"] ~ /filesort/ ? "yes" : "no") }'
}

# Sessions: a client kept open (a connection with its own transaction).
#   session_open NAME; session NAME "SQL" (prints its output); session_close NAME
#   session_send NAME "SQL" then session_recv NAME: the same in two steps, so
#   that another session can run while this one waits (e.g. for a lock)
# Output ends at a marker query, so reading never depends on timing.
declare -A sqlt_sess_in sqlt_sess_out sqlt_sess_pid
session_open() {
	local name=$1 fin fout
	mkfifo "$W/$name.in" "$W/$name.out"
	(
		# Other sessions' pipes stay ours alone, or closing one never ends its client.
		for fd in "${sqlt_sess_in[@]}" "${sqlt_sess_out[@]}"; do exec {fd}>&-; done
		exec mariadb --no-defaults -uroot --socket="$M/mysqld.sock" \
			--default-character-set=utf8mb4 --batch \
			--skip-column-names --unbuffered --force --skip-print-query-on-error t
	) <"$W/$name.in" >"$W/$name.out" 2>&1 &
	sqlt_sess_pid[$name]=$!
	exec {fin}>"$W/$name.in" {fout}<"$W/$name.out"
	sqlt_sess_in[$name]=$fin sqlt_sess_out[$name]=$fout
}

session_send() {
	printf '%s;\nSELECT "--end--";\n' "$2" >&"${sqlt_sess_in[$1]}"
}

session_recv() {
	local name=$1 line
	while IFS= read -r -t "${VAMOS_WAIT_SECONDS:-180}" -u "${sqlt_sess_out[$name]}" line; do
		[[ $line == --end-- ]] && return 0
		printf '%s\n' "$line"
	done
	echo "session $name: the client went away or did not answer"
}

session() {
	session_send "$1" "$2"
	session_recv "$1"
}

# check_session NAME SESSION "SQL" <<EOF: check, in that session.
check_session() {
	_check "$1" "[$2] $3" "$(session "$2" "$3")"
}

session_close() {
	local name=$1 fin=${sqlt_sess_in[$1]} fout=${sqlt_sess_out[$1]}
	exec {fin}>&- {fout}<&-
	wait "${sqlt_sess_pid[$name]}" || true
	unset "sqlt_sess_pid[$name]"
}

# Fail the test now (setup that cannot go on).
fail() {
	printf '%s: FAIL %s\n' "$sqlt_name" "$*" >&2
	sqlt_failed=$((sqlt_failed + 1))
	sqlt_end
}

sqlt_end() {
	if ((sqlt_failed)); then
		echo "FAIL $sqlt_name ($sqlt_failed of $sqlt_checks checks failed, engine $E)"
		exit 1
	fi
	((sqlt_checks > 0)) || { echo "FAIL $sqlt_name (no checks ran)"; exit 1; }
	echo "PASS $sqlt_name ($sqlt_checks checks, engine $E)"
	exit 0
}
