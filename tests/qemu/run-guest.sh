#!/usr/bin/env bash
# Boot an initramfs made by guest-image.sh under QEMU (TCG), run one command
# in the guest, and exit with that command's status.
#
#   tests/qemu/run-guest.sh --initrd FILE [options] -- GUEST COMMAND...
#
# The guest console goes to stdout. Exit status: the guest command's (from its
# VAMOS-GUEST-EXIT= line), 124 on timeout, 125 if QEMU ended without that
# line (QEMU failed to start, the guest panicked, ...), 2 on bad usage.
# See README.md for the options.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh's log
VAMOS_LOG_TAG=run-guest
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

usage() {
	cat >&2 <<EOF
usage: $0 --initrd FILE [--ivshmem-socket PATH [--vectors K]]
          [--ivshmem-plain SHMFILE [--size BYTES]] [--iommu] [--timeout SECONDS]
          [--mem MB] [--smp N] [--qemu-log FILE] [--kernel VMLINUX]
          [--append 'KERNEL PARAMS'] [--qemu-arg ARG]... [--console-in FILE] [--accel tcg|kvm]
          -- GUEST COMMAND...
EOF
	exit 2
}
bad() {
	log "error: $*"
	usage
}

initrd='' kernel='' sock='' vectors=1 plain='' size='' iommu=0 timeout_s=120
mem=256 smp=1 qemu_log='' append='' extra=() console_in=/dev/null accel=${VAMOS_QEMU_ACCEL:-tcg}
while (($#)); do
	case $1 in
	--) shift && break ;;
	--iommu) iommu=1 && shift && continue ;;
	--initrd | --kernel | --ivshmem-socket | --vectors | --ivshmem-plain | --size | \
		--timeout | --mem | --smp | --qemu-log | --append | --qemu-arg | --console-in | --accel)
		(($# >= 2)) || bad "$1 needs a value" ;;
	*) bad "unknown option $1" ;;
	esac
	case $1 in
	--initrd) initrd=$2 ;;
	--kernel) kernel=$2 ;;
	--ivshmem-socket) sock=$2 ;;
	--vectors) vectors=$2 ;;
	--ivshmem-plain) plain=$2 ;;
	--size) size=$2 ;;
	--timeout) timeout_s=$2 ;;
	--mem) mem=$2 ;;
	--smp) smp=$2 ;;
	--qemu-log) qemu_log=$2 ;;
	--append) append=$2 ;;
	--qemu-arg) extra+=("$2") ;;
	--console-in) console_in=$2 ;;
	--accel) accel=$2 ;;
	esac
	shift 2
done
(($# >= 1)) || bad "no guest command after --"
[[ -n $initrd ]] || bad "--initrd is required"
[[ -f $initrd ]] || die "$initrd: no such file"
kernel=${kernel:-${VAMOS_CACHE:-$vamos_root/.cache}/qemu/kernel/vmlinux}
[[ -f $kernel ]] || die "$kernel: no such file (tests/qemu/guest-image.sh fetches it)"
for v in vectors timeout_s mem smp; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad "--${v%_s} must be a positive integer"
done

ensure_packages qemu-system-x86

# Arguments joined by commas, each percent-encoded except for a safe set; the
# guest's /init decodes it (guest-image.sh). Keeps argv intact, spaces and all.
encode_run() {
	local LC_ALL=C a c i out=() s
	for a in "$@"; do
		s=
		for ((i = 0; i < ${#a}; i++)); do
			c=${a:i:1}
			case $c in
			[A-Za-z0-9_./:=+@-]) s+=$c ;;
			*) s+=$(printf '%%%02X' "'$c") ;;
			esac
		done
		out+=("$s")
	done
	local IFS=,
	echo "${out[*]}"
}
# no_timer_check: at boot the kernel checks that the timer interrupt gets
# through the (remapped) IO-APIC within a few ticks and panics if not
# ("timer doesn't work through Interrupt-remapped IO-APIC"); under TCG on a
# loaded host the vCPU can be starved for that long, so the check only ever
# fails there by chance. The timer itself works either way.
cmdline="console=ttyS0 quiet intel_iommu=on no_timer_check panic=-1 ${append:+$append }vamos.run=$(encode_run "$@")"
# x86's COMMAND_LINE_SIZE.
((${#cmdline} < 2048)) || die "kernel command line too long (${#cmdline} bytes)"

[[ $accel == tcg || $accel == kvm ]] || bad "--accel must be tcg or kvm"
machine=q35 iommu_dev=intel-iommu cpu=()
if [[ $accel == kvm ]]; then
	[[ -r /dev/kvm && -w /dev/kvm ]] || die "--accel kvm: /dev/kvm is not usable here"
	# With KVM the interrupt remapping the guest's VFIO needs lives in QEMU
	# (split irqchip); TCG has it by default.
	machine=q35,kernel-irqchip=split iommu_dev=intel-iommu,intremap=on cpu=(-cpu host)
fi
args=(-machine "$machine" -accel "$accel" "${cpu[@]}" -m "$mem" -smp "$smp" -nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline")
# The IOMMU must come before the devices it translates for.
((iommu)) && args+=(-device "$iommu_dev")
if [[ -n $sock ]]; then
	[[ -S $sock ]] || die "$sock: not a socket (start the ivshmem server first)"
	[[ $sock != *,* ]] || die "$sock: QEMU options cannot take a path with a comma"
	args+=(-chardev "socket,path=$sock,id=vivs" -device "ivshmem-doorbell,chardev=vivs,vectors=$vectors")
fi
if [[ -n $plain ]]; then
	[[ $plain != *,* ]] || die "$plain: QEMU options cannot take a path with a comma"
	if [[ -z $size ]]; then
		[[ -f $plain ]] || bad "--size is needed when $plain does not exist"
		size=$(stat -c %s "$plain")
	fi
	if ! [[ $size =~ ^[0-9]+$ ]] || ((size == 0 || (size & (size - 1)) != 0)); then
		bad "ivshmem size $size is not a power of two (QEMU aborts on that)"
	fi
	args+=(-object "memory-backend-file,id=vmem,size=$size,share=on,mem-path=$plain"
		-device "ivshmem-plain,memdev=vmem")
elif [[ -n $size ]]; then
	bad "--size goes with --ivshmem-plain"
fi
args+=("${extra[@]}")

work=$(mktemp -d "${TMPDIR:-/tmp}/vamos-run.XXXXXX")
qpid='' teepid='' interrupted=0
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	# Only ever the timeout(1) we started; it passes the signal on to QEMU.
	[[ -z $qpid ]] || kill -TERM "$qpid" 2>/dev/null || true
	[[ -z $teepid ]] || wait "$teepid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'interrupted=1; [[ -z $qpid ]] || kill -TERM "$qpid" 2>/dev/null || true' INT TERM HUP

# Console through a FIFO so that it is both shown live and kept for parsing.
mkfifo "$work/console"
tee "$work/console.log" <"$work/console" &
teepid=$!
qerr=/dev/stderr
[[ -z $qemu_log ]] || qerr=$qemu_log
start=$(date +%s%N)
# timeout(1) puts QEMU in its own process group; -k: SIGKILL if TERM is ignored.
timeout -k 5 "$timeout_s" qemu-system-x86_64 "${args[@]}" <"$console_in" >"$work/console" 2>>"$qerr" &
qpid=$!
rc=0
wait "$qpid" || rc=$?
if ((interrupted)); then
	wait "$qpid" 2>/dev/null || true
	qpid=
	log "error: interrupted; QEMU stopped"
	exit 130
fi
qpid=
wait "$teepid" || true
teepid=
elapsed_ms=$((($(date +%s%N) - start) / 1000000))

line=$(tr -d '\r' <"$work/console.log" | grep -o 'VAMOS-GUEST-EXIT=[0-9]*' | tail -n1 || true)
if [[ -n $line ]]; then
	status=${line#VAMOS-GUEST-EXIT=}
	log "guest exited with $status after $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s"
	((rc == 0)) || log "warning: QEMU itself ended with status $rc"
	exit "$status"
fi
# 137: timeout had to SIGKILL QEMU after the time ran out.
if ((rc == 124 || (rc == 137 && elapsed_ms >= timeout_s * 1000))); then
	log "error: timed out after $timeout_s s"
	exit 124
fi
log "error: QEMU ended (status $rc) without a VAMOS-GUEST-EXIT line${qemu_log:+; see $qemu_log}"
exit 125
