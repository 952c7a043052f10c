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
# Where perf counts, also where the CPU goes: the CPU time (task-clock) and
# the context switches of mariadbd and of vamosd's worker, and the context
# switches of the whole machine (sysbench and the kernel's threads too),
# per event. With --innodb the same workloads run afterwards on a private
# mariadbd whose table is InnoDB, for comparison in the same run (its
# VAMOS-only columns are blank; commits is 1, one per sysbench transaction,
# so its fsyncs_per_commit is the machine's fsyncs per transaction). Times
# and tps move with the machine's load: compare them within one run.
#
#   bench/costs/write_counts.sh --vamosd PATH --plugin PATH [--csv] [--innodb]
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
# CSV: engine,workload,threads,events,tps,requests,doorbells,interrupts,
#      inline,pool,commits,fsyncs_per_commit,futex_calls,mariadbd_cpu_us,
#      vamosd_cpu_us,mariadbd_switches,vamosd_switches,all_switches
#      (all per event but tps and fsyncs_per_commit; the last five blank
#      without perf)
set -euo pipefail
VAMOS_LOG_TAG=bench/write-counts
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../scripts/lib.sh"
. "$vamos_root/scripts/mariadb.sh"

vamosd='' plugin='' csv=0 innodb=0 rows=10000 events=2000 threads='1 4 16'
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--innodb) innodb=1 ;;
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
counters=() # perf or strace processes counting now
cleanup() {
	((${#counters[@]} == 0)) || kill "${counters[@]}" 2>/dev/null || true
	mdb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

ctl() { "$(dirname "$vamosd")/vamosctl" --control "$work/vamosd.d/ctl" "$@"; }

server='' # the mariadbd being measured: $work/$server
sb() { # sb SCRIPT COMMAND THREADS [ARGS...]
	sysbench "$1" --db-driver=mysql --mysql-user=root --mysql-db=sbtest \
		"--mysql-socket=$work/$server/mysqld.sock" --tables=1 --table-size="$rows" \
		--threads="$3" --report-interval=0 "${@:4}" "$2"
}
# requests doorbells interrupts inline pool commits, on one line (VAMOS)
counts() {
	local s m
	s=$(mdb_client "$work/$server" -N -e "SHOW GLOBAL STATUS LIKE 'Vamos_%'")
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
# Start counting into $work/count.$1 (fsyncs, futex calls, and with perf
# the machine's switches), $work/cpu.m.$1 (mariadbd $2) and $work/cpu.v.$1
# (vamosd's worker $3, if any).
count_start() {
	if [[ $counter == perf ]]; then
		perf stat -a -x, -e "$sync_events,context-switches" -o "$work/count.$1" &
		counters=($!)
		# Each process's CPU time and switches, its threads included.
		perf stat -x, -e task-clock,context-switches -p "$2" -o "$work/cpu.m.$1" &
		counters+=($!)
		if [[ -n ${3:-} ]]; then
			perf stat -x, -e task-clock,context-switches -p "$3" -o "$work/cpu.v.$1" &
			counters+=($!)
		fi
	elif [[ -n ${3:-} ]]; then
		strace -f -c -e trace=fsync,fdatasync,futex -o "$work/count.$1" -p "$3" 2>/dev/null &
		counters=($!)
	fi
	sleep 1 # the counters attach first (no count depends on this)
}
# Stop them (in this shell: it waits for its own children).
count_stop() {
	((${#counters[@]} == 0)) && return
	kill -INT "${counters[@]}"
	wait "${counters[@]}" || true
	counters=()
}
# "fsyncs futex_calls" counted in $work/count.$1.
count_read() {
	[[ -f $work/count.$1 ]] || { echo "0 0" && return; }
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
# Per event, as CSV fields: mariadbd's and vamosd's CPU microseconds and
# switches, and the machine's switches (blank where not counted).
cpu_fields() {
	local tag=$1 files
	if [[ $counter != perf ]]; then
		echo ",,,,"
		return
	fi
	files=("$work/cpu.m.$tag" "$work/count.$tag")
	[[ ! -f $work/cpu.v.$tag ]] || files+=("$work/cpu.v.$tag")
	# perf stat -x, of task-clock (msec) and context-switches.
	awk -F, -v e="$events" '
		FILENAME ~ /cpu\.m\./ && $3 == "task-clock" { mt = $1 * 1000 }
		FILENAME ~ /cpu\.m\./ && $3 == "context-switches" { ms = $1 }
		FILENAME ~ /cpu\.v\./ && $3 == "task-clock" { vt = $1 * 1000; v = 1 }
		FILENAME ~ /cpu\.v\./ && $3 == "context-switches" { vs = $1 }
		FILENAME ~ /count\./ && $3 == "context-switches" { as = $1 }
		END {
			printf "%.0f,%s,%.1f,%s,%.1f\n", mt / e, v ? sprintf("%.0f", vt / e) : "",
				ms / e, v ? sprintf("%.1f", vs / e) : "", as / e
		}' "${files[@]}"
}
per_event() { awk -v a="$1" -v b="$2" -v e="$events" 'BEGIN { printf "%.2f", (b - a) / e }'; }

workloads=(insert update_index update_non_index delete write_only)
declare -A script=([insert]=oltp_insert [update_index]=oltp_update_index
	[update_non_index]=oltp_update_non_index [delete]=oltp_delete
	[write_only]=oltp_write_only)
results=()

# Every workload at every thread count on $server (ENGINE $1); mariadbd's
# PID $2, vamosd's worker $3 (VAMOS only).
run_workloads() {
	local engine=$1 mdb=$2 worker=${3:-} n w tag out tps c0 c1 row syncs futex commits
	for n in $threads; do
		for w in "${workloads[@]}"; do
			tag=$engine.$w.$n
			[[ -z $worker ]] || read -r -a c0 <<<"$(counts)"
			count_start "$tag" "$mdb" "$worker"
			out=$(sb "${script[$w]}" run "$n" --events="$events" --time=0)
			count_stop
			tps=$(awk '/transactions:/ { gsub(/[(]/, "", $3); print $3 }' <<<"$out")
			read -r syncs futex < <(count_read "$tag")
			row="$engine,$w,$n,$events,$tps"
			if [[ -n $worker ]]; then
				read -r -a c1 <<<"$(counts)"
				for i in 0 1 2 3 4; do row+=,$(per_event "${c0[i]}" "${c1[i]}"); done
				commits=$((c1[5] - c0[5]))
				row+=,$(awk -v c="$commits" -v e="$events" 'BEGIN { printf "%.2f", c / e }')
				row+=,$(awk -v s="$syncs" -v c="$commits" 'BEGIN { printf "%.2f", c ? s / c : 0 }')
				row+=,$(awk -v f="$futex" -v e="$events" 'BEGIN { printf "%.1f", f / e }')
			else
				row+=,,,,,,1.00
				row+=,$(awk -v s="$syncs" -v e="$events" 'BEGIN { printf "%.2f", s / e }'),
			fi
			row+=,$(cpu_fields "$tag")
			results+=("$row")
		done
	done
}

mdb_install_db "$work/template"

mkdir -p "$work/vamosd.d" "$work/vamos"
vamosd_start "$work/vamosd.d" "$vamosd"
cp -a "$work/template" "$work/vamos/data"
mdb_start "$work/vamos" --plugin "$plugin" --env VAMOS_TRANSPORT=local \
	--env "VAMOS_LOCAL_SOCKET=$work/vamosd.d/vm1.sock"
server=vamos
mdb_client "$work/$server" -e "CREATE DATABASE sbtest"
worker=$(vamosd_worker "$work/vamosd.d")
[[ -n $worker ]] || die "vamosd has no worker process"
log "vamos: preparing $rows rows"
sb oltp_read_only prepare 1 --mysql_storage_engine=VAMOS >/dev/null
run_workloads vamos "$(<"$work/vamos/mariadbd.run-pid")" "$worker"
mdb_stop "$work/vamos"
vamosd_stop "$work/vamosd.d"

if ((innodb)); then
	mkdir -p "$work/innodb"
	cp -a "$work/template" "$work/innodb/data"
	mdb_start "$work/innodb"
	server=innodb
	mdb_client "$work/$server" -e "CREATE DATABASE sbtest"
	log "innodb: preparing $rows rows"
	sb oltp_read_only prepare 1 >/dev/null
	run_workloads innodb "$(<"$work/innodb/mariadbd.run-pid")"
	mdb_stop "$work/innodb"
fi

header=engine,workload,threads,events,tps,requests,doorbells,interrupts,inline,pool,commits
header+=,fsyncs_per_commit,futex_calls,mariadbd_cpu_us,vamosd_cpu_us,mariadbd_switches
header+=,vamosd_switches,all_switches
if ((csv)); then
	echo "$header"
	printf '%s\n' "${results[@]}"
	exit 0
fi
fmt='%-6s %-16s %3s %6s %8s %8s %9s %10s %6s %5s %7s %6s %5s %7s %7s %7s %7s %7s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" engine workload thr events tps requests doorbells interrupts inline pool commits \
	fsyncs futex mdb_cpu vd_cpu mdb_cs vd_cs all_cs
for r in "${results[@]}"; do
	IFS=, read -r -a f <<<"$r,"
	# shellcheck disable=SC2059
	printf "$fmt" "${f[@]:0:18}"
done
echo "(per event, a sysbench transaction: insert, update_*, delete 1 query; write_only 6;"
echo " fsyncs per commit; fsyncs and futex calls counted by $counter$([[ $counter == perf ]] &&
	echo ", machine-wide"); cpu in microseconds; cs: context switches, all_cs the machine's)"
