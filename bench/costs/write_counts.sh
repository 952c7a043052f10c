#!/usr/bin/env bash
# What one sysbench write costs, in counts (not times: they do not depend
# on how busy the machine is): requests and doorbells from mariadbd to
# vamosd, interrupts back, requests vamosd served at once on a poller
# against those it handed to its worker pool (a thread hop there and
# back), commits, and vamosd's fsyncs per commit (commits that share one
# fsync show fewer than one), at 1, 4 and 16 connections. vamosd runs with
# mysql_sync = full (its default). The fsyncs and futex calls are counted
# with perf's system-call tracepoints, machine-wide, where perf may (root):
# they cost nothing, so commits group as they do unobserved (run it on a
# quiet machine). Without them, strace -f -c on vamosd's worker counts
# them, but strace stops the worker at every system call, which changes how
# commits group (it showed about one fsync per insert at 16 connections,
# where perf counts 0.4).
#
#   bench/costs/write_counts.sh --vamosd PATH --plugin PATH [--csv]
#                               [--rows N] [--events N] [--threads "1 4 16"]
#
# Workloads, autocommit unless said (per event: one sysbench transaction):
#   insert            oltp_insert: INSERT with AUTO_INCREMENT (1 query)
#   update_index      oltp_update_index: UPDATE of an indexed column (1)
#   update_non_index  oltp_update_non_index: UPDATE of a plain column (1)
#   delete            oltp_delete: DELETE by primary key (1; a row deleted
#                     before is not found, and its locking read still
#                     begins a write transaction)
#   write_only        oltp_write_only: BEGIN, UPDATE of an indexed and of a
#                     plain column, DELETE and INSERT of one id, COMMIT (6)
# CSV: workload,threads,events,requests,doorbells,interrupts,inline,pool,
#      commits,fsyncs_per_commit,futex_calls  (all but the last two per event)
set -euo pipefail
VAMOS_LOG_TAG=bench/write-counts
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../scripts/lib.sh"
. "$vamos_root/scripts/mariadb.sh"

vamosd='' plugin='' csv=0 rows=10000 events=2000 threads='1 4 16'
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--rows) rows=$2 && shift ;;
	--events) events=$2 && shift ;;
	--threads) threads=$2 && shift ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
[[ -x $vamosd && -f $plugin ]] || die "--vamosd and --plugin are required"
[[ $rows =~ ^[0-9]+$ && $events =~ ^[0-9]+$ && $rows -ge 100 && $events -ge 1 ]] ||
	die "--rows (>= 100) and --events are numbers"

work=$(mktemp -d /tmp/vamos-wcounts-XXXXXX)
counter_pid=''
cleanup() {
	[[ -z $counter_pid ]] || kill "$counter_pid" 2>/dev/null || true
	mdb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

ctl() { "$(dirname "$vamosd")/vamosctl" --control "$work/vamosd.d/ctl" "$@"; }
mdb_install_db "$work/template"
mkdir -p "$work/vamosd.d" "$work/mariadb"
vamosd_start "$work/vamosd.d" "$vamosd"
cp -a "$work/template" "$work/mariadb/data"
mdb_start "$work/mariadb" --plugin "$plugin" --env VAMOS_TRANSPORT=local \
	--env "VAMOS_LOCAL_SOCKET=$work/vamosd.d/vm1.sock"
mdb_client "$work/mariadb" -e "CREATE DATABASE sbtest"
worker=$(vamosd_worker "$work/vamosd.d")
[[ -n $worker ]] || die "vamosd has no worker process"

sb() { # sb SCRIPT COMMAND THREADS [ARGS...]
	sysbench "$1" --db-driver=mysql --mysql-user=root --mysql-db=sbtest \
		"--mysql-socket=$work/mariadb/mysqld.sock" --tables=1 --table-size="$rows" \
		--threads="$3" --report-interval=0 "${@:4}" "$2"
}
# requests doorbells interrupts inline pool commits, on one line
counts() {
	local s m
	s=$(mdb_client "$work/mariadb" -N -e "SHOW GLOBAL STATUS LIKE 'Vamos_%'")
	m=$(ctl stats)
	printf '%s %s %s %s\n' \
		"$(awk '$1 == "Vamos_requests" { r = $2 } $1 == "Vamos_doorbells" { d = $2 }
			END { print r, d }' <<<"$s")" \
		"$(ctl stats --prometheus | awk '/^vamos_interrupts_total\{vm="vm1"\}/ { print $2 }')" \
		"$(sed -n 's/.* \([0-9]*\) requests at once, \([0-9]*\) on the pool,.*/\1 \2/p' <<<"$m")" \
		"$(sed -n 's/.* \([0-9]*\) commits,.*/\1/p' <<<"$m")"
}

# perf's tracepoints when they can be counted here, else strace.
sync_events=syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_futex
if perf stat -a -x, -e "$sync_events" -- true >/dev/null 2>&1; then
	counter=perf
else
	counter=strace
	log "perf cannot count system calls here: strace counts them (it changes how commits group)"
fi
# Start counting vamosd's fsyncs and futex calls into $work/count.$1.
count_start() {
	if [[ $counter == perf ]]; then
		perf stat -a -x, -e "$sync_events" -o "$work/count.$1" &
	else
		strace -f -c -e trace=fsync,fdatasync,futex -o "$work/count.$1" -p "$worker" 2>/dev/null &
	fi
	counter_pid=$!
	sleep 1 # the counter attaches first (no count depends on this)
}
# Stop it (in this shell: it waits for its own child); the counts in
# $syncs and $futex.
count_stop() {
	kill -INT "$counter_pid"
	wait "$counter_pid" || true
	counter_pid=''
	read -r syncs futex < <(count_read "$1")
}
count_read() {
	if [[ $counter == perf ]]; then
		# perf stat -x,: value,unit,event,...
		awk -F, '$3 ~ /sys_enter_f(data)?sync$/ { s += $1 } $3 ~ /sys_enter_futex$/ { f += $1 }
			END { print s + 0, f + 0 }' "$work/count.$1"
	else
		# strace -c: % time, seconds, usecs/call, calls, [errors,] syscall
		awk '$NF == "fsync" || $NF == "fdatasync" { s += $4 } $NF == "futex" { f += $4 }
			END { print s + 0, f + 0 }' "$work/count.$1"
	fi
}

log "preparing $rows rows"
sb oltp_read_only prepare 1 --mysql_storage_engine=VAMOS >/dev/null
workloads=(insert update_index update_non_index delete write_only)
declare -A script=([insert]=oltp_insert [update_index]=oltp_update_index
	[update_non_index]=oltp_update_non_index [delete]=oltp_delete
	[write_only]=oltp_write_only)
results=()
for n in $threads; do
	for w in "${workloads[@]}"; do
		read -r -a c0 <<<"$(counts)"
		count_start "$w.$n"
		sb "${script[$w]}" run "$n" --events="$events" --time=0 >/dev/null
		count_stop "$w.$n"
		read -r -a c1 <<<"$(counts)"
		row="$w,$n,$events"
		for i in 0 1 2 3 4; do
			row+=,$(awk -v a="${c0[i]}" -v b="${c1[i]}" -v e="$events" 'BEGIN { printf "%.2f", (b - a) / e }')
		done
		commits=$((c1[5] - c0[5]))
		row+=,$(awk -v c="$commits" -v e="$events" 'BEGIN { printf "%.2f", c / e }')
		row+=,$(awk -v s="$syncs" -v c="$commits" 'BEGIN { printf "%.2f", c ? s / c : 0 }')
		row+=,$(awk -v f="${futex:-0}" -v e="$events" 'BEGIN { printf "%.1f", f / e }')
		results+=("$row")
	done
done
mdb_stop "$work/mariadb"
vamosd_stop "$work/vamosd.d"

if ((csv)); then
	echo "workload,threads,events,requests,doorbells,interrupts,inline,pool,commits,fsyncs_per_commit,futex_calls"
	printf '%s\n' "${results[@]}"
	exit 0
fi
printf '%-17s %7s %6s %8s %9s %10s %6s %5s %7s %16s %11s\n' workload threads events requests \
	doorbells interrupts inline pool commits fsyncs_per_commit futex_calls
for r in "${results[@]}"; do
	IFS=, read -r -a f <<<"$r"
	printf '%-17s %7s %6s %8s %9s %10s %6s %5s %7s %16s %11s\n' "${f[@]}"
done
echo "(per event, a sysbench transaction: insert, update_*, delete 1 query; write_only 6;"
echo " fsyncs and futex calls counted by $counter$([[ $counter == perf ]] && echo ", machine-wide"))"
