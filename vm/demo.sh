#!/usr/bin/env bash
# The main job (scripts/demo runs this): MariaDB in a QEMU guest, its VAMOS
# tables served by vamosd on the host through ivshmem-doorbell.
#
#   vm/demo.sh [--rows N]
#
# Builds vamosd, ha_vamos.so and the guest image (vm/image.sh), starts
# vamosd, boots the guest (QEMU TCG; VAMOS_QEMU_ACCEL=kvm for KVM, see
# tests/qemu/run-guest.sh), and runs vm/guest/demo.sh there: create a VAMOS
# table from the guest's mariadb client, load N rows (default 100000), run
# point selects, range selects, full scans, index lookups and updates. After
# each phase it prints what vamosd counted for it (requests, batches,
# doorbells taken, interrupts sent, per query) and at the end vamosctl stats.
set -euo pipefail
VAMOS_LOG_TAG=demo
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../scripts/lib.sh"
. "$here/lib.sh"

rows=100000
while (($#)); do
	case $1 in
	--rows) rows=${2:?--rows needs a number} && shift 2 ;;
	*) die "usage: scripts/demo [--rows N]   (or scripts/demo --local [client options])" ;;
	esac
done
[[ $rows =~ ^[0-9]+$ ]] && ((rows >= 1000)) || die "--rows must be a number >= 1000"

build=$vamos_root/build-release
vm_workdir vm-demo

vm_build "$build" "$build/vm/guest.img"
vm_vamosd_start "$work"
accel=${VAMOS_QEMU_ACCEL:-tcg}
echo "vamosd (pid $vamosd_pid) serves VM 'vm1' on $work/vm1.sock; booting the guest (QEMU, $accel)"

prev=(0 0 0 0) prev_t=$(date +%s%N)
header=0
on_phase() {
	local name=$1 queries=$2 now t d=() i
	read -ra now < <(vm_counters)
	t=$(date +%s%N)
	for i in 0 1 2 3; do d[i]=$((now[i] - prev[i])); done
	if ((!header)); then
		printf '\n%-15s %7s %9s %8s %9s %10s | %9s %10s %9s\n' phase queries requests batches \
			doorbells interrupts "req/query" "switch/q" "wall_s"
		header=1
	fi
	awk -v n="$name" -v q="$queries" -v r="${d[0]}" -v b="${d[1]}" -v db="${d[2]}" \
		-v ir="${d[3]}" -v ns="$((t - prev_t))" 'BEGIN {
		if (q > 0)
			printf "%-15s %7d %9d %8d %9d %10d | %9.1f %10.2f %9.2f\n", n, q, r, b, db, ir,
				r / q, (db + ir) / q, ns / 1e9
		else
			printf "%-15s %7s %9d %8d %9d %10d | %9s %10s %9.2f\n", n, "-", r, b, db, ir,
				"-", "-", ns / 1e9
	}'
	prev=("${now[@]}") prev_t=$t
}

rc=0
VM_CONSOLE=1 vm_run "$work" "$build/vm/guest.img" on_phase -- /bin/sh /vamos/demo.sh "$rows" |
	grep --line-buffered -E '^(vamos-guest:|phase|[a-z_0-9]+ +([0-9]+|-) )' || rc=$?
((rc == 0)) || { tail -n 40 "$work/console.log" >&2; die "the guest's demo failed"; }
echo
echo "switch/q = (doorbells + interrupts) / query: the guest/host transitions VAMOS costs."
[[ $accel == kvm ]] || echo "wall_s is QEMU TCG time (an emulated CPU), far slower than a real VM."
echo
echo "vamosctl stats:"
"$vm_vamosctl" --control "$work/ctl" stats
vm_vamosd_stop || die "vamosd did not stop cleanly on SIGTERM"
echo "vamosd drained and stopped"
