#!/usr/bin/env bash
# The VM benchmark behind `bench/run vm` (which builds vamosd and ha_vamos.so
# and passes their paths): guest/host switches per query, the number the
# VAMOS paper is about.
#
#   bench/vm/switches.sh --vamosd PATH --plugin PATH [--csv] [--rows N]
#       [--points N] [--scans N] [--inserts N] [--buffer-pool SIZE]
#
# One QEMU guest (TCG here: no KVM) runs MariaDB 10.11 (vm/image.sh) with a
# 1 GiB ext4 disk on virtio-blk (cache=none, aio=io_uring on the host) and
# the ivshmem-doorbell device of vamosd. vm/guest/bench.sh loads the same
# table twice, ENGINE=VAMOS (rows in vamosd on the host) and ENGINE=InnoDB
# (datadir on the virtio-blk disk, buffer pool smaller than the data),
# restarts mariadbd cold and runs, per engine, point selects, full scans and
# single-row inserts. At each phase boundary the guest waits while this
# script reads:
#   VAMOS       vamosd's counters (vamosctl stats): doorbells the guest rang
#               + interrupts vamosd sent
#   virtio-blk  QEMU's trace (-trace ... -D FILE) for the disk's device only:
#               virtio_queue_notify (guest kicks) + virtio_notify_irqfd /
#               virtio_notify (interrupts QEMU injected)
# and the guest passes its own counts (/proc/interrupts, /sys/block/vda/stat)
# to cross-check the trace. "switches" for an engine counts its own path
# (the other path's traffic in the same phase is shown in the breakdown).
# wall_s is QEMU TCG wall time, far slower than a real VM: not a speed.
set -euo pipefail
VAMOS_LOG_TAG=bench/vm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../vm/lib.sh
. "$here/../../vm/lib.sh"

vamosd='' plugin='' csv=0 rows=100000 points=1000 scans=3 inserts=1000 pool=8M
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 && shift ;;
	--plugin) plugin=$2 && shift ;;
	--csv) csv=1 ;;
	--rows) rows=$2 && shift ;;
	--points) points=$2 && shift ;;
	--scans) scans=$2 && shift ;;
	--inserts) inserts=$2 && shift ;;
	--buffer-pool) pool=$2 && shift ;;
	*) die "unknown option $1 (--csv, --rows N, --points N, --scans N, --inserts N, --buffer-pool SIZE)" ;;
	esac
	shift
done
[[ -x $vamosd && -f $plugin ]] || die "--vamosd and --plugin are required"
for v in rows points scans inserts; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive integer"
done
((rows >= 1000)) || die "--rows must be at least 1000"
[[ $pool =~ ^[1-9][0-9]*[KMG]?$ ]] || die "--buffer-pool must be a size like 8M"
# vm/lib.sh's names for the daemon and its control tool.
vm_vamosd=$vamosd
vm_vamosctl=${vamosd%/*}/vamosctl
[[ -x $vm_vamosctl ]] || die "$vm_vamosctl: not built"

ensure_packages "${VAMOS_QEMU_PKGS[@]}" e2fsprogs

vm_workdir bench-vm

bash "$here/../../vm/image.sh" "$work/guest.img" "$plugin" >&2 || die "building the guest image failed"
# The InnoDB disk: a fresh ext4 image, O_DIRECT on the host (cache=none) so
# that the host's page cache does not turn it into a RAM disk.
mke2fs -t ext4 -q -F "$work/disk.img" 1G >&2 || die "mke2fs failed"
trace=$work/qemu-trace.log
vm_vamosd_start "$work"

# Counts of the virtio-blk device in QEMU's trace so far: "kicks irqs reqs
# other" (other: notify lines of any other virtio device; there is none).
# The disk's device pointer is the one its request completions carry.
trace_counts() {
	[[ -f $trace ]] || { echo 0 0 0 0; return; }
	awk '{
		ev = $1; sub(/^[0-9]+@[0-9.]+:/, "", ev)
		for (i = 2; i < NF; i++) if ($i == "vdev") { dev = $(i + 1); break }
		if (ev == "virtio_blk_req_complete") { blk[dev] = 1; reqs++ }
		else if (ev == "virtio_queue_notify") kick[dev]++
		else if (ev == "virtio_notify_irqfd" || ev == "virtio_notify") irq[dev]++
	} END {
		for (d in kick) if (d in blk) k += kick[d]; else o += kick[d]
		for (d in irq) if (d in blk) q += irq[d]; else o += irq[d]
		printf "%d %d %d %d\n", k, q, reqs, o
	}' "$trace"
}

# One result per measured phase, "engine workload queries d_requests
# d_batches d_doorbells d_interrupts kicks irqs reqs other guest_irqs
# guest_ios wall_ns".
results=()
prev_v=(0 0 0 0) prev_t=(0 0 0 0) prev_g=(0 0 0 0) prev_ns=0
on_phase() {
	local name=$1 queries=$2 ns v t g=("${@:3:4}") i dv=() dt=() dg=()
	ns=$(date +%s%N)
	((${#g[@]} == 4)) || { log "error: phase $name: the guest sent '$*'"; return 1; }
	read -ra v < <(vm_counters)
	# The guest is waiting now, its counts taken: the trace must have at
	# least the interrupts the guest has seen (QEMU's log is flushed line by
	# line; this catches it if it ever is not). More is fine: a completion
	# may be injected after the guest read /proc/interrupts.
	for i in $(seq 40); do
		read -ra t < <(trace_counts)
		((t[1] < g[0])) || break
		sleep 0.05
	done
	if ((t[1] < g[0])); then
		log "warning: $name: the trace has ${t[1]} virtio-blk interrupts, the guest saw ${g[0]}"
	elif ((i > 1)); then
		log "note: $name: waited $(((i - 1) * 50)) ms for QEMU's trace to catch up"
	fi
	for i in 0 1 2 3; do
		dv[i]=$((v[i] - prev_v[i])) dt[i]=$((t[i] - prev_t[i])) dg[i]=$((g[i] - prev_g[i]))
	done
	if [[ $name != load ]]; then
		# guest_ios: reads + writes + flushes the guest's block layer completed.
		results+=("${name%%_*} ${name#*_} $queries ${dv[*]} ${dt[*]} ${dg[0]} $((dg[1] + dg[2] + dg[3])) $((ns - prev_ns))")
		((dt[3] == 0)) || log "warning: $name: ${dt[3]} notifications of a virtio device other than the disk"
		log "$name: $queries queries; vamosd ${dv[2]} doorbells ${dv[3]} interrupts; virtio-blk ${dt[0]} kicks ${dt[1]} interrupts (guest saw ${dg[0]}), ${dt[2]} requests (guest ${dg[1]} reads ${dg[2]} writes ${dg[3]} flushes)"
	fi
	prev_v=("${v[@]}") prev_t=("${t[@]}") prev_g=("${g[@]}")
	# The guest goes on once we return: its phase starts now.
	prev_ns=$(date +%s%N)
}

accel=${VAMOS_QEMU_ACCEL:-tcg}
log "booting the guest (QEMU ${accel^^}, 1 GiB, 2 vCPUs): $rows rows, $points point selects, $scans full scans, $inserts inserts per engine, InnoDB buffer pool $pool"
rc=0
vm_run "$work" "$work/guest.img" on_phase \
	--qemu-arg -drive --qemu-arg "file=$work/disk.img,if=none,id=d0,format=raw,cache=none,aio=io_uring" \
	--qemu-arg -device --qemu-arg virtio-blk-pci,drive=d0 \
	--qemu-arg -trace --qemu-arg virtio_queue_notify --qemu-arg -trace --qemu-arg 'virtio_notify*' \
	--qemu-arg -trace --qemu-arg virtio_blk_req_complete --qemu-arg -D --qemu-arg "$trace" \
	-- /bin/sh /vamos/bench.sh "$rows" "$points" "$scans" "$inserts" "$pool" || rc=$?
tr -d '\r' <"$work/console.log" | grep '^vamos-guest:' >&2 || true
((rc == 0)) || { tail -n 40 "$work/console.log" >&2; die "the guest's benchmark failed (status $rc)"; }
((${#results[@]} == 6)) || die "expected 6 measured phases, got ${#results[@]}"
vm_vamosd_stop || die "vamosd did not stop cleanly on SIGTERM"

# switches: the engine's own path (VAMOS: doorbells + interrupts; InnoDB:
# virtio-blk kicks + interrupts from the trace).
report=$(printf '%s\n' "${results[@]}" | awk '{
	e = $1; w = $2; q = $3; db = $6; ir = $7; k = $8; bi = $9; rq = $10; o = $11
	gi = $12; gio = $13; wall = $14 / 1e9
	sw = (e == "vamos") ? db + ir : k + bi
	printf "%s %s %d %d %.4f %.2f %d %d %d %d %d %d %d %d\n", (e == "vamos" ? "vamos" : "innodb_virtio_blk"),
		w, q, sw, sw / q, wall, db, ir, $4, k, bi, gi, rq, gio
}')

if ((csv)); then
	echo "engine,workload,queries,switches,switches_per_query,wall_s"
	awk '{ printf "%s,%s,%d,%d,%s,%s\n", $1, $2, $3, $4, $5, $6 }' <<<"$report"
fi
{
	awk -v wall="wall_s(${accel^^})" 'BEGIN { printf "%-18s %-13s %7s %9s %10s %12s | %9s %10s %8s | %8s %8s %10s %8s %9s\n",
		"engine", "workload", "queries", "switches", "switch/q", wall, "doorbells",
		"interrupts", "vamos_rq", "blk_kick", "blk_irq", "guest_irq", "blk_req", "guest_io" }
	{ printf "%-18s %-13s %7d %9d %10.3f %12.2f | %9d %10d %8d | %8d %8d %10d %8d %9d\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 }' <<<"$report"
	echo
	awk '{ spq[$1 " " $2] = $5; w[$2] = 1 } END {
		for (x in w) if (spq["vamos " x] > 0)
			printf "%s: virtio-blk %.3f vs VAMOS %.3f switches/query: %.1fx fewer with VAMOS\n",
				x, spq["innodb_virtio_blk " x], spq["vamos " x], spq["innodb_virtio_blk " x] / spq["vamos " x]
	}' <<<"$report" | sort
	cat <<EOF

switches = guest/host transitions on the engine's own path, for the phase only
(not the load): VAMOS = doorbells the guest rang + interrupts vamosd sent
(vamosd's counters; vamos_rq = requests); InnoDB = virtio-blk kicks
(virtio_queue_notify) + interrupts (virtio_notify_irqfd/virtio_notify) of the
disk's device in QEMU's trace. guest_irq and guest_io are the guest's own
counts (vda's virtio*-req lines in /proc/interrupts; reads + writes + flushes
in /sys/block/vda/stat, where flushes the block layer merges count once per
caller), blk_req the trace's request completions.
InnoDB: buffer pool $pool, O_DIRECT, cold after a restart, doublewrite and
flush_log_at_trx_commit=1 (defaults); its insert phase includes writing the
dirty pages back. wall_s(${accel^^}) is QEMU ${accel^^} wall time$([[ $accel == kvm ]] ||
	echo " (an emulated CPU), far slower than a
real VM"): it is not a speed comparison.
EOF
} | if ((csv)); then cat >&2; else cat; fi
