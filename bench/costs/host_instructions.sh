#!/usr/bin/env bash
# The benchmark behind `bench/run costs`: what one query costs vamosd, in
# instructions, counted by callgrind (valgrind) on the daemon while MariaDB
# runs sysbench through ha_vamos (local peer). Instruction counts do not
# depend on how busy the machine is, unlike times, so this one figure can be
# compared across runs and machines; it misses what the kernel does
# (wakeups) and cache misses.
#
#   bench/costs/host_instructions.sh --vamosd PATH --plugin PATH [--csv]
#                                    [--rows N] [--transactions N] [--keep DIR]
#
# Workloads, one thread, each a sysbench transaction:
#   point_select   oltp_point_select: one SELECT by primary key
#   range_100      oltp_read_only with one simple range of 100 rows, in
#                  BEGIN ... COMMIT
#   update_row     oltp_update_non_index: one UPDATE by primary key (autocommit)
#   update_index   oltp_update_index: one UPDATE of an indexed column
#   insert         oltp_insert: one INSERT with AUTO_INCREMENT (autocommit)
#   delete_insert  a DELETE by primary key, then an INSERT of that id, each
#                  autocommit (one transaction here: both statements)
# CSV: workload,transactions,host_instructions_per_txn,requests_per_txn
# Without --csv the table is followed by each workload's ten costliest
# functions (self cost). --keep DIR keeps each workload's callgrind file
# there (DIR/WORKLOAD.callgrind, for callgrind_annotate --inclusive=yes).
set -euo pipefail
VAMOS_LOG_TAG=bench/costs
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../scripts/lib.sh"
. "$vamos_root/scripts/mariadb.sh"

vamosd='' plugin='' csv=0 rows=10000 txns=2000 keep=''
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--rows) rows=$2 && shift ;;
	--transactions) txns=$2 && shift ;;
	--keep) keep=$2 && shift ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
[[ -x $vamosd && -f $plugin ]] || die "--vamosd and --plugin are required"
[[ $rows =~ ^[0-9]+$ && $txns =~ ^[0-9]+$ && $rows -ge 100 && $txns -ge 1 ]] ||
	die "--rows (>= 100) and --transactions are numbers"

work=$(mktemp -d /tmp/vamos-costs-XXXXXX)
cleanup() {
	mdb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

# vamosd under callgrind: the keeper and its worker (exec'd) each write
# $work/cg.PID; counting starts only when asked (callgrind_control -i on),
# and counts only inside the serving of requests — a poller's
# session_serve() and the worker pool's mx_job_run() — so RocksDB's
# background flushes and compactions, and idle polling, are left out.
cat >"$work/vamosd" <<EOS
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --trace-children=yes \
	--collect-atstart=no --toggle-collect=session_serve --toggle-collect=mx_job_run \
	--callgrind-out-file=$work/cg.%p "$vamosd" "\$@"
EOS
chmod +x "$work/vamosd"
ln -s "$(dirname "$vamosd")/vamosctl" "$work/vamosctl"

mdb_install_db "$work/template"
mkdir -p "$work/vamosd.d" "$work/mariadb"
vamosd_start "$work/vamosd.d" "$work/vamosd"
cp -a "$work/template" "$work/mariadb/data"
mdb_start "$work/mariadb" --plugin "$plugin" --env VAMOS_TRANSPORT=local \
	--env "VAMOS_LOCAL_SOCKET=$work/vamosd.d/vm1.sock" --env VAMOS_LOCAL_VECTORS=4
mdb_client "$work/mariadb" -e "CREATE DATABASE sbtest"

sb() {
	sysbench "$1" --db-driver=mysql --mysql-user=root --mysql-db=sbtest \
		"--mysql-socket=$work/mariadb/mysqld.sock" --tables=1 --table-size="$rows" \
		--threads=1 --report-interval=0 "${@:3}" "$2"
}
requests() {
	"$work/vamosctl" --control "$work/vamosd.d/ctl" stats --prometheus |
		awk '/^vamos_requests_total\{vm="vm1"\}/ { print $2 }'
}

log "preparing $rows rows (vamosd runs under callgrind: slow)"
sb oltp_read_only prepare --mysql_storage_engine=VAMOS >/dev/null
sb oltp_point_select run --events=200 --time=0 >/dev/null # warm the caches

declare -A args=(
	[point_select]="oltp_point_select"
	[range_100]="oltp_read_only --point-selects=0 --simple-ranges=1 --sum-ranges=0 --order-ranges=0 --distinct-ranges=0 --range-size=100"
	[update_row]="oltp_update_non_index"
	[update_index]="oltp_update_index"
	[insert]="oltp_insert"
	[delete_insert]="oltp_write_only --skip-trx=on --index-updates=0 --non-index-updates=0 --delete-inserts=1"
)
workloads=(point_select range_100 update_row update_index insert delete_insert)
results=()
for w in "${workloads[@]}"; do
	read -r -a a <<<"${args[$w]}"
	r0=$(requests)
	callgrind_control -i on >/dev/null 2>&1
	callgrind_control -z >/dev/null 2>&1
	sb "${a[0]}" run --events="$txns" --time=0 "${a[@]:1}" >/dev/null
	callgrind_control -d "$w" >/dev/null 2>&1
	callgrind_control -i off >/dev/null 2>&1
	r1=$(requests)
	# The worker's dump of this workload (the keeper's holds ~nothing).
	dump=$(grep -l "^desc: Trigger: dump $w\$" "$work"/cg.*.* | xargs ls -S | head -n 1)
	[[ -n $dump ]] || die "no callgrind dump for $w"
	total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1 }')
	[[ -n $total ]] || die "cannot read callgrind's totals for $w"
	results+=("$w,$txns,$((total / txns)),$(awk -v a="$r0" -v b="$r1" -v n="$txns" 'BEGIN { printf "%.2f", (b - a) / n }')")
	cp "$dump" "$work/$w.callgrind"
done
mdb_stop "$work/mariadb"
vamosd_stop "$work/vamosd.d"
if [[ -n $keep ]]; then
	mkdir -p "$keep"
	cp "$work"/*.callgrind "$keep"/
fi

if ((csv)); then
	echo "workload,transactions,host_instructions_per_txn,requests_per_txn"
	printf '%s\n' "${results[@]}"
	exit 0
fi
printf '%-14s %12s %26s %18s\n' workload transactions host_instructions_per_txn requests_per_txn
for r in "${results[@]}"; do
	IFS=, read -r w n i q <<<"$r"
	printf '%-14s %12s %26s %18s\n' "$w" "$n" "$i" "$q"
done
for w in "${workloads[@]}"; do
	echo
	echo "$w: the ten costliest functions (self instructions, all $txns transactions)"
	callgrind_annotate "$work/$w.callgrind" 2>/dev/null |
		awk '/file:function/ { on = 1; getline; next } on && NF { print } on && ++n >= 10 { exit }' |
		sed -E 's/ \[[^]]*\]$//' | cut -c1-150
done
