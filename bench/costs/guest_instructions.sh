#!/usr/bin/env bash
# The guest side of `bench/run costs`: what one query costs mariadbd, with
# ENGINE=VAMOS and with InnoDB in the same run, counted by callgrind on
# mariadbd (and, for VAMOS, on vamosd beside it). Instruction counts do not
# move with the machine's load; they miss the kernel's part and cache misses.
#
#   bench/costs/guest_instructions.sh --vamosd PATH --plugin PATH [--csv]
#                                     [--rows N] [--queries N] [--keep DIR]
#
# Queries, one sysbench thread, prepared statements, autocommit:
#   point_select   SELECT c FROM sbtest1 WHERE id=?
#   range_100      SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?+99
#   insert         INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, ...):
#                  AUTO_INCREMENT (oltp_insert)
#   update_index   UPDATE sbtest1 SET k=k+1 WHERE id=? (an indexed column)
#   update_plain   UPDATE sbtest1 SET c=? WHERE id=? (a plain column)
#   delete_insert  DELETE FROM sbtest1 WHERE id=?, then INSERT of that id:
#                  two queries each time, counted as two
# mariadbd counts only inside dispatch_command() (a statement's parsing,
# execution and result sending), minus the guest's wait for vamosd's reply
# (shm_channel.c's chan_wait: its polling depends on how fast the host is).
# vamosd counts as in host_instructions.sh (serving requests only).
#
# Columns, per query unless said per row:
#   guest_ir       mariadbd's instructions
#   plugin_ir      of which in ha_vamos.so (ha_vamos and libvamos-client,
#                  statically linked): its own instructions plus its calls
#                  into libc and libstdc++ (memcpy, malloc, strings); its
#                  calls back into mariadbd stay in mariadbd's part
#   guest_allocs   malloc/calloc/realloc calls in mariadbd (free: guest_frees)
#   plugin_allocs  malloc-family and operator new calls made by ha_vamos.so
#   guest_memcpy_row, plugin_memcpy_row   memcpy/memmove calls per row (all
#                  of mariadbd; those made by ha_vamos.so)
#   plugin_memcpy_ir_row   instructions in ha_vamos.so's memcpy calls per row
#   host_ir, host_allocs, host_frees, host_memcpy_row, host_memcpy_ir_row
#                  the same on vamosd (VAMOS only)
#   requests, doorbells, interrupts   per query: Vamos_requests and
#                  Vamos_doorbells (SHOW STATUS), vamosd's interrupts to the VM
# CSV: one line per engine and query with these columns.
set -euo pipefail
VAMOS_LOG_TAG=bench/costs
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../scripts/lib.sh"
. "$vamos_root/scripts/mariadb.sh"

vamosd='' plugin='' csv=0 rows=10000 queries=300 keep=''
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--rows) rows=$2 && shift ;;
	--queries) queries=$2 && shift ;;
	--keep) keep=$2 && shift ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
[[ -x $vamosd && -f $plugin ]] || die "--vamosd and --plugin are required"
vamosd=$(realpath "$vamosd") plugin=$(realpath "$plugin")
[[ $rows =~ ^[0-9]+$ && $queries =~ ^[0-9]+$ && $rows -ge 100 && $queries -ge 1 ]] ||
	die "--rows (>= 100) and --queries are numbers"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d /tmp/vamos-gcosts-XXXXXX)
cleanup() {
	mdb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/vamosd" <<EOS
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --trace-children=yes \
	--collect-atstart=no --toggle-collect=session_serve --toggle-collect=mx_job_run \
	--callgrind-out-file=$work/cg.%p "$vamosd" "\$@"
EOS
# mariadbd: collection on inside dispatch_command, off again inside the
# wait for a reply (a toggle switches on entry and back on return).
cat >"$work/mariadbd-cg" <<EOS
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
	--toggle-collect='dispatch_command*' --toggle-collect=chan_wait \
	--callgrind-out-file=$work/mdb.%p "\$@"
EOS
chmod +x "$work/vamosd" "$work/mariadbd-cg"
ln -s "$(dirname "$vamosd")/vamosctl" "$work/vamosctl"

mdb_install_db "$work/template"
mkdir -p "$work/vamosd.d" "$work/mariadb"
vamosd_start "$work/vamosd.d" "$work/vamosd"
cp -a "$work/template" "$work/mariadb/data"
mdb_opts=(--plugin "$plugin" --env VAMOS_TRANSPORT=local
	--env "VAMOS_LOCAL_SOCKET=$work/vamosd.d/vm1.sock" --env VAMOS_LOCAL_VECTORS=4)
mdb_start "$work/mariadb" "${mdb_opts[@]}"
mdb_client "$work/mariadb" -e "CREATE DATABASE sb_vamos; CREATE DATABASE sb_innodb"

sb() { # sb DB SCRIPT COMMAND [ARGS...]
	sysbench "$2" --db-driver=mysql --mysql-user=root --mysql-db="$1" \
		"--mysql-socket=$work/mariadb/mysqld.sock" --tables=1 --table-size="$rows" \
		--threads=1 --report-interval=0 "${@:4}" "$3"
}
log "preparing $rows rows in each engine"
sb sb_vamos oltp_read_only prepare --mysql_storage_engine=VAMOS >/dev/null
sb sb_innodb oltp_read_only prepare --mysql_storage_engine=InnoDB >/dev/null
mdb_stop "$work/mariadb"
log "restarting mariadbd under callgrind (slow)"
mdb_start "$work/mariadb" "${mdb_opts[@]}" --wrapper "$work/mariadbd-cg" -- \
	--innodb-use-native-aio=0 --innodb-buffer-pool-size=128M --innodb-buffer-pool-size-max=128M
mdb_pid=$(<"$work/mariadb/mariadbd.run-pid")
worker_pid=$(vamosd_worker "$work/vamosd.d")

status() { # Vamos_requests Vamos_doorbells vamosd's interrupts, on one line
	local s
	s=$(mdb_client "$work/mariadb" -N -e "SHOW GLOBAL STATUS LIKE 'Vamos_%'")
	printf '%s %s %s\n' "$(awk '$1 == "Vamos_requests" { print $2 }' <<<"$s")" \
		"$(awk '$1 == "Vamos_doorbells" { print $2 }' <<<"$s")" \
		"$("$work/vamosctl" --control "$work/vamosd.d/ctl" stats --prometheus |
			awk '/^vamos_interrupts_total\{vm="vm1"\}/ { print $2 }')"
}
cg() { callgrind_control "$@" >/dev/null 2>&1; }
sums() { python3 "$here/callgrind_sums.py" "$@"; }
per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.2f", a / n }'; }

declare -A args=(
	[point_select]="oltp_point_select"
	[range_100]="oltp_read_only --skip-trx=on --point-selects=0 --simple-ranges=1 --sum-ranges=0 --order-ranges=0 --distinct-ranges=0 --range-size=100"
	[insert]="oltp_insert"
	[update_index]="oltp_update_index"
	[update_plain]="oltp_update_non_index"
	[delete_insert]="oltp_write_only --skip-trx=on --index-updates=0 --non-index-updates=0 --delete-inserts=1"
)
# Rows a query returns (per row columns), and queries a sysbench event sends.
declare -A per_rows=([point_select]=1 [range_100]=100 [insert]=1 [update_index]=1
	[update_plain]=1 [delete_insert]=1)
declare -A per_event=([delete_insert]=2)
workloads=(point_select range_100 insert update_index update_plain delete_insert)
results=()
for engine in vamos innodb; do
	for w in "${workloads[@]}"; do
		read -r -a a <<<"${args[$w]}"
		sb "sb_$engine" "${a[0]}" run --events=20 --time=0 "${a[@]:1}" >/dev/null # warm up
		read -r r0 d0 i0 <<<"$(status)"
		cg -i on "$mdb_pid"
		cg -i on "$worker_pid"
		cg -z "$mdb_pid"
		cg -z "$worker_pid"
		sb "sb_$engine" "${a[0]}" run --events="$queries" --time=0 "${a[@]:1}" >/dev/null
		cg -d "$engine-$w" "$mdb_pid"
		cg -d "$engine-$w" "$worker_pid"
		cg -i off "$mdb_pid"
		cg -i off "$worker_pid"
		read -r r1 d1 i1 <<<"$(status)"
		g=$(grep -l "^desc: Trigger: dump $engine-$w\$" "$work"/mdb.* | head -n 1)
		h=$(grep -l "^desc: Trigger: dump $engine-$w\$" "$work"/cg.* | xargs ls -S | head -n 1)
		[[ -n $g && -n $h ]] || die "no callgrind dump for $engine $w"
		cp "$g" "$work/guest-$engine-$w.callgrind"
		declare -A G=() H=()
		while IFS='=' read -r k v; do G[$k]=$v; done < <(sums "$g" ha_vamos.so /mariadbd)
		while IFS='=' read -r k v; do H[$k]=$v; done < <(sums "$h" vamosd)
		n=$((queries * ${per_event[$w]:-1})) && rq=$((n * per_rows[$w]))
		line="$engine,$w,$n,$(per "${G[total]}" "$n"),$(per $((G[obj_self] + G[obj_out])) "$n")"
		line+=",$(per "${G[allocs]}" "$n"),$(per "${G[frees]}" "$n"),$(per "${G[obj_allocs]}" "$n")"
		line+=",$(per "${G[memcpy_calls]}" "$rq"),$(per "${G[obj_memcpy_calls]}" "$rq")"
		line+=",$(per "${G[obj_memcpy_ir]}" "$rq")"
		if [[ $engine == vamos ]]; then
			cp "$h" "$work/host-$engine-$w.callgrind"
			line+=",$(per "${H[total]}" "$n"),$(per "${H[allocs]}" "$n"),$(per "${H[frees]}" "$n")"
			line+=",$(per "${H[memcpy_calls]}" "$rq"),$(per "${H[memcpy_ir]}" "$rq")"
			line+=",$(per $((r1 - r0)) "$n"),$(per $((d1 - d0)) "$n"),$(per $((i1 - i0)) "$n")"
		else
			line+=",,,,,,,,"
		fi
		results+=("$line")
		unset G H
	done
done
mdb_stop "$work/mariadb"
vamosd_stop "$work/vamosd.d"
if [[ -n $keep ]]; then
	mkdir -p "$keep"
	cp "$work"/guest-*.callgrind "$work"/host-*.callgrind "$keep"/
fi

cols=engine,query,queries,guest_ir,plugin_ir,guest_allocs,guest_frees,plugin_allocs
cols+=,guest_memcpy_row,plugin_memcpy_row,plugin_memcpy_ir_row,host_ir,host_allocs,host_frees
cols+=,host_memcpy_row,host_memcpy_ir_row,requests,doorbells,interrupts
if ((csv)); then
	echo "$cols"
	printf '%s\n' "${results[@]}"
	exit 0
fi
{
	echo "$cols"
	printf '%s\n' "${results[@]}"
} | column -t -s, -o '  '
for f in "$work"/guest-vamos-*.callgrind; do
	w=${f##*/guest-vamos-} && w=${w%.callgrind}
	echo
	echo "VAMOS $w: ha_vamos.so's ten costliest functions (self instructions, all $queries queries)"
	callgrind_annotate "$f" 2>/dev/null | grep 'ha_vamos.so\]' | head -n 10 |
		sed -E 's/ \[[^]]*\]$//' | cut -c1-150
done
