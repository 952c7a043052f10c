#!/usr/bin/env bash
# The SQL benchmark behind `bench/run sql` (which builds vamosd and
# ha_vamos.so and passes their paths):
#
#   bench/sql/sysbench.sh --vamosd PATH --plugin PATH [--csv] [--time S]
#                         [--threads "4 16"] [--workloads "oltp_point_select ..."]
#
# sysbench oltp_point_select, oltp_read_only, oltp_read_write,
# oltp_write_only, oltp_update_index and oltp_insert (in that order: the
# writes come after the reads), at 4 and then 16 threads, one table of
# 100,000 rows, each for S seconds (default 10, or $VAMOS_SQL_BENCH_TIME),
# against a private mariadbd whose table sbtest1 is
#   vamos       ENGINE=VAMOS, served by vamosd through a local peer of its VM socket
#   federatedx  ENGINE=FEDERATED (FederatedX) pointing at a second mariadbd
#               over loopback TCP, where the table is InnoDB
#   innodb      local InnoDB
# For vamos, requests_per_query and doorbells_per_query come from vamosd's
# counters (vamosctl stats --prometheus) before and after the run, divided by
# sysbench's query count; doorbells counts both directions: doorbells the
# guest side rang plus notifications vamosd sent. Blank for the others.
# Without --csv, a second table gives each engine's tps as a ratio of
# InnoDB's in the same run (the machine is noisy: compare within a run).
set -euo pipefail
VAMOS_LOG_TAG=bench/sql
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mariadb.sh"

vamosd='' plugin='' csv=0 seconds=${VAMOS_SQL_BENCH_TIME:-10}
thread_counts=(4 16)
workloads=(oltp_point_select oltp_read_only oltp_read_write oltp_write_only oltp_update_index
	oltp_insert)
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--time) seconds=$2 && shift ;;
	--threads) read -r -a thread_counts <<<"$2" && shift ;;
	--workloads) read -r -a workloads <<<"$2" && shift ;;
	*) die "unknown option $1 (--csv, --time S, --threads \"N...\", --workloads \"W...\")" ;;
	esac
	shift
done
[[ -x $vamosd && -f $plugin ]] || die "--vamosd and --plugin are required"

rows=100000
threads=4
work=$(mktemp -d /tmp/sqlh-bench-XXXXXX)
cleanup() {
	mdb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

mdb_install_db "$work/template"

# A server in $work/NAME from the template datadir; extra args go to mdb_start.
server() {
	local name=$1
	shift
	mkdir -p "$work/$name"
	cp -a "$work/template" "$work/$name/data"
	mdb_start "$work/$name" "$@"
	mdb_client "$work/$name" -e "CREATE DATABASE sbtest"
}

# sysbench WORKLOAD CMD against the server in $work/NAME (socket) or on TCP PORT.
sb() {
	local workload=$1 cmd=$2 target=$3
	shift 3
	sysbench "$workload" --db-driver=mysql --mysql-user=root --mysql-db=sbtest \
		"$target" --tables=1 --table-size="$rows" --threads="$threads" \
		--time="$seconds" --report-interval=0 --percentile=95 "$@" "$cmd"
}

# vamosd's counters for vm1: requests, then doorbells + interrupts.
vamos_counters() {
	"${vamosd%/*}/vamosctl" --control "$work/vamosd/ctl" stats --prometheus | awk '
		/^vamos_requests_total\{vm="vm1"\}/ { r = $2 }
		/^vamos_doorbells_total\{vm="vm1"\}/ { d += $2 }
		/^vamos_interrupts_total\{vm="vm1"\}/ { d += $2 }
		END { printf "%d %d\n", r, d }'
}

# sysbench prepare on the server in $work/NAME (ARGS: its target and
# engine options). Loud: its output, and a stop, unless the table is there
# with every row afterwards (a prepare that went wrong must not leave the
# runs to fail later with a missing table).
prepare() {
	local name=$1 out count
	shift
	out=$(sb oltp_read_only prepare "$@" 2>&1) ||
		{ echo "$out" >&2; die "sysbench prepare on $name failed"; }
	count=$(mdb_client "$work/$name" -N -e "SELECT COUNT(*) FROM sbtest.sbtest1" 2>&1) ||
		{ echo "$out" >&2; die "sysbench prepare on $name left no table: $count"; }
	[[ $count == "$rows" ]] ||
		{ echo "$out" >&2; die "sysbench prepare on $name left $count rows, not $rows"; }
}

rows_out=()
# Run every workload at every thread count against the server in
# $work/NAME; engine label ENGINE.
run_workloads() {
	local engine=$1 name=$2 w
	for threads in "${thread_counts[@]}"; do
		for w in "${workloads[@]}"; do
			run_one "$engine" "$name" "$w"
		done
	done
}

# One workload at $threads threads.
run_one() {
	local engine=$1 name=$2 w=$3 out tps qps queries p95 req0 db0 req1 db1 rpq dpq
	[[ $engine != vamos ]] || read -r req0 db0 < <(vamos_counters)
	log "$engine $w, $threads threads: ${seconds} s"
	# FederatedX reports the remote's deadlocks as 1296 and, at 16
	# threads, the races of read_write's delete-then-insert as duplicate
	# keys (it has no transactions of its own): retried, as sysbench
	# retries 1213 by default.
	local extra=()
	[[ $engine != federatedx ]] || extra=(--mysql-ignore-errors=1213,1020,1205,1296,1022,1062)
	out=$(sb "$w" run "--mysql-socket=$work/$name/mysqld.sock" "${extra[@]}") ||
		{ echo "$out" >&2; die "sysbench $w on $engine failed"; }
	tps=$(awk '/transactions:/ { gsub(/[(]/, "", $3); print $3 }' <<<"$out")
	queries=$(awk '/queries:/ && !/performed/ { print $2 }' <<<"$out")
	qps=$(awk '/queries:/ && !/performed/ { gsub(/[(]/, "", $3); print $3 }' <<<"$out")
	p95=$(awk '/95th percentile:/ { print $3 }' <<<"$out")
	[[ -n $tps && -n $queries && -n $p95 && $queries -gt 0 ]] ||
		{ echo "$out" >&2; die "cannot read sysbench's output for $engine $w"; }
	rpq='' dpq=''
	if [[ $engine == vamos ]]; then
		read -r req1 db1 < <(vamos_counters)
		rpq=$(awk -v a="$req0" -v b="$req1" -v q="$queries" 'BEGIN { printf "%.3f", (b - a) / q }')
		dpq=$(awk -v a="$db0" -v b="$db1" -v q="$queries" 'BEGIN { printf "%.4f", (b - a) / q }')
	fi
	rows_out+=("$engine,$w,$threads,$tps,$qps,$p95,$rpq,$dpq")
}

# ---------------------------------------------------------------- vamos
mkdir -p "$work/vamosd"
vamosd_start "$work/vamosd" "$vamosd"
# The local peer learns the VM's vectors ($VAMOSD_VM_OPTIONS may change them).
server vamos --plugin "$plugin" --env VAMOS_TRANSPORT=local \
	--env "VAMOS_LOCAL_SOCKET=$work/vamosd/vm1.sock"
log "vamos: preparing $rows rows"
prepare vamos "--mysql-socket=$work/vamos/mysqld.sock" --mysql_storage_engine=VAMOS
run_workloads vamos vamos
mdb_stop "$work/vamos"
vamosd_stop "$work/vamosd"

# ---------------------------------------------------------------- federatedx
# The remote: InnoDB on 127.0.0.1, a port nobody listens on.
port=$(comm -23 <(seq 23306 23399) <(ss -Htln | awk '{ sub(/.*:/, "", $4); print $4 }' | sort -u) | head -n 1)
[[ -n $port ]] || die "no free TCP port in 23306-23399"
server remote --port "$port"
log "federatedx: preparing $rows rows on the remote (InnoDB, port $port)"
prepare remote --mysql-host=127.0.0.1 "--mysql-port=$port"
schema=$(mdb_client "$work/remote" --batch --skip-column-names sbtest \
	-e "SHOW CREATE TABLE sbtest1" | cut -f2-)
schema=${schema//\\n/ }
federated="ENGINE=FEDERATED CONNECTION='remote/sbtest1'"
server federatedx -- --plugin-load-add=ha_federatedx.so
mdb_client "$work/federatedx" sbtest -e "
	CREATE SERVER remote FOREIGN DATA WRAPPER mysql OPTIONS
		(HOST '127.0.0.1', PORT $port, USER 'root', DATABASE 'sbtest');
	${schema/ENGINE=InnoDB/$federated}"
[[ $(mdb_client "$work/federatedx" --batch --skip-column-names sbtest \
	-e "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_NAME = 'sbtest1'") == FEDERATED ]] ||
	die "sbtest1 is not a FEDERATED table"
run_workloads federatedx federatedx
mdb_stop "$work/federatedx"
mdb_stop "$work/remote"

# ---------------------------------------------------------------- innodb
server innodb
log "innodb: preparing $rows rows"
prepare innodb "--mysql-socket=$work/innodb/mysqld.sock"
run_workloads innodb innodb
mdb_stop "$work/innodb"

# ---------------------------------------------------------------- report
header=engine,workload,threads,tps,qps,p95_ms,requests_per_query,doorbells_per_query
if ((csv)); then
	echo "$header"
	printf '%s\n' "${rows_out[@]}"
else
	printf '%s\n' "$header" "${rows_out[@]}" | awk -F, '
		{ printf "%-10s  %-17s  %7s  %10s  %10s  %8s  %18s  %19s\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
	echo
	echo "tps as a ratio of InnoDB's, same run:"
	printf '%s\n' "${rows_out[@]}" | awk -F, '
		{ tps[$1 "," $2 "," $3] = $4; if (!seen[$2 "," $3]++) order[n++] = $2 "," $3 }
		END {
			printf "%-17s  %7s  %8s  %10s\n", "workload", "threads", "vamos", "federatedx"
			for (i = 0; i < n; i++) {
				split(order[i], k, ",")
				base = tps["innodb," order[i]]
				v = (base > 0) ? sprintf("%.2f", tps["vamos," order[i]] / base) : "-"
				f = (base > 0) ? sprintf("%.2f", tps["federatedx," order[i]] / base) : "-"
				printf "%-17s  %7s  %8s  %10s\n", k[1], k[2], v, f
			}
		}'
fi
