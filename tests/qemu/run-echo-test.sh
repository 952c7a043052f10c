#!/usr/bin/env bash
# One QEMU echo test: start the host program, boot the guest program in
# QEMU/TCG against it, and check both halves.
#
#   run-echo-test.sh --host EXE --guest EXE --mode doorbell|doorbell-noiommu|plain
#                    [--records N] [--batch B]
#
# doorbell: ivshmem-doorbell on our server's socket, intel-iommu, the guest
#           takes interrupts through VFIO; doorbells + interrupts must stay
#           far below the record count (batching).
# doorbell-noiommu: the same device without an IOMMU: the guest must report
#           polling (no interrupt path) yet still ring the host's doorbell.
# plain:    ivshmem-plain on a /dev/shm file; the guest must report polling.
# Cleans up what it started (host program, QEMU, socket, shm file) on any
# exit. Set VAMOS_QEMU_KEEP=1 to keep the work dir for inspection.
set -euo pipefail
VAMOS_LOG_TAG=qemu-test
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"

host='' guest='' mode='' records=100000 batch=32
while (($#)); do
	case $1 in
	--host) host=$2 ;;
	--guest) guest=$2 ;;
	--mode) mode=$2 ;;
	--records) records=$2 ;;
	--batch) batch=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
[[ -x $host && -x $guest && $mode =~ ^(doorbell|doorbell-noiommu|plain)$ ]] ||
	die "usage: $0 --host EXE --guest EXE --mode doorbell|doorbell-noiommu|plain"

ensure_packages "${VAMOS_QEMU_PKGS[@]}"

work=$(mktemp -d /tmp/vamos-qemu-XXXXXX)
shm=/dev/shm/vamos-qemu-test-$$
host_pid=''
cleanup() {
	if [[ -n $host_pid ]] && kill -0 "$host_pid" 2>/dev/null; then
		kill "$host_pid" 2>/dev/null || true
		wait "$host_pid" 2>/dev/null || true
	fi
	rm -f "$shm"
	[[ ${VAMOS_QEMU_KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$here/guest-image.sh" "$work/initrd" "$guest" >&2

host_args=(--ready "$work/ready" --timeout-ms 240000)
guest_args=(/guest/vamos-guest-echo --records "$records" --batch "$batch")
qemu_args=(--initrd "$work/initrd" --timeout 600)
if [[ $mode == doorbell ]]; then
	host_args+=(--socket "$work/ivshmem.sock" --vectors 2)
	qemu_args+=(--iommu --ivshmem-socket "$work/ivshmem.sock" --vectors 2)
	guest_args+=(--irq vfio --expect-mode interrupt)
elif [[ $mode == doorbell-noiommu ]]; then
	host_args+=(--socket "$work/ivshmem.sock" --vectors 2)
	qemu_args+=(--ivshmem-socket "$work/ivshmem.sock" --vectors 2)
	guest_args+=(--irq auto --expect-mode poll)
else
	host_args+=(--plain "$shm" --size $((1 << 20)))
	qemu_args+=(--ivshmem-plain "$shm" --size $((1 << 20)))
	guest_args+=(--expect-mode poll)
fi

"$host" "${host_args[@]}" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 100); do
	[[ -e $work/ready ]] && break
	kill -0 "$host_pid" 2>/dev/null || break
	sleep 0.1
done
[[ -e $work/ready ]] || { cat "$work/host.log" >&2; die "host program did not start"; }

set +e
bash "$here/run-guest.sh" "${qemu_args[@]}" -- "${guest_args[@]}" >"$work/guest.log" 2>&1
guest_rc=$?
wait "$host_pid"
host_rc=$?
host_pid=''
set -e

grep -E '^(guest|host):' "$work/guest.log" "$work/host.log" -h || true
if ((guest_rc != 0 || host_rc != 0)); then
	log "guest exit $guest_rc, host exit $host_rc; full logs:"
	cat "$work/guest.log" "$work/host.log" >&2
	exit 1
fi

# Each record crossed both ways; every doorbell and interrupt is a
# guest/host switch. With batching they must stay far below the records.
doorbells=$(sed -n 's/.*guest: stats .*doorbells=\([0-9]*\).*/\1/p' "$work/guest.log")
interrupts=$(sed -n 's/.*host: stats .*interrupts=\([0-9]*\).*/\1/p' "$work/host.log")
[[ -n $doorbells && -n $interrupts ]] || die "counters missing from the logs"
switches=$((doorbells + interrupts))
echo "switches: $doorbells doorbells + $interrupts interrupts for $records records each way" \
	"($(awk -v s="$switches" -v r="$records" 'BEGIN { printf "%.4f", s / r }') per record)"
if [[ $mode == plain ]]; then
	((switches == 0)) || die "plain mode must not notify ($switches notifications)"
elif [[ $mode == doorbell-noiommu ]]; then
	((interrupts == 0)) || die "a polling guest must never be interrupted ($interrupts)"
elif ((batch > 1 && switches * 10 > records)); then
	die "batching failed: $switches notifications for $records records"
fi
echo "PASS: $mode, $records records each way"
