#!/usr/bin/env bash
# libvamos-client inside a QEMU guest against the real vamosd.
#
#   run-client-test.sh --vamosd EXE --vamosctl EXE --client EXE --mode ivshmem|no-device
#
# ivshmem:   vamosd serves one VM entry; QEMU attaches with intel-iommu and
#            ivshmem-doorbell; the guest's vamos-echo-client, left to pick
#            its transport (auto), must take the ivshmem device with MSI-X
#            and get 100,000 echo requests answered; vamosd must count them
#            and stop cleanly on SIGTERM.
# no-device: a guest without an ivshmem device must fall back to vsock and,
#            with no vsock here, fail with a message naming what is missing.
set -euo pipefail
VAMOS_LOG_TAG=qemu-client-test
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"

vamosd='' vamosctl='' client='' mode=''
while (($#)); do
	case $1 in
	--vamosd) vamosd=$2 ;;
	--vamosctl) vamosctl=$2 ;;
	--client) client=$2 ;;
	--mode) mode=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
[[ -x $vamosd && -x $vamosctl && -x $client && $mode =~ ^(ivshmem|no-device)$ ]] ||
	die "usage: $0 --vamosd EXE --vamosctl EXE --client EXE --mode ivshmem|no-device"
ensure_packages "${VAMOS_QEMU_PKGS[@]}"

work=$(mktemp -d /tmp/vamos-qemu-client-XXXXXX)
vamosd_pid=''
cleanup() {
	if [[ -n $vamosd_pid ]] && kill -0 "$vamosd_pid" 2>/dev/null; then
		kill -KILL "$vamosd_pid" 2>/dev/null || true
		wait "$vamosd_pid" 2>/dev/null || true
	fi
	[[ ${VAMOS_QEMU_KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$here/guest-image.sh" "$work/initrd" "$client" >&2
name=$(basename "$client")

if [[ $mode == no-device ]]; then
	set +e
	bash "$here/run-guest.sh" --initrd "$work/initrd" --timeout 300 \
		-- "/guest/$name" --requests 10 >"$work/guest.log" 2>&1
	rc=$?
	set -e
	tr -d '\r' <"$work/guest.log" | grep 'vamos-echo-client' || true
	((rc != 0)) || die "the client succeeded without any transport"
	grep -q 'no ivshmem device' "$work/guest.log" && grep -q 'vsock' "$work/guest.log" ||
		{ cat "$work/guest.log" >&2; die "the failure does not name what is missing"; }
	echo "PASS: no device -> vsock fallback -> clear failure"
	exit 0
fi

"$vamosd" --vm "vm1=$work/vm1.sock,channels=2,vectors=2,ring_bytes=64K" \
	--control "$work/control.sock" --data-dir "$work/data" --log-level info \
	2>"$work/vamosd.log" &
vamosd_pid=$!
for _ in $(seq 100); do
	"$vamosctl" --control "$work/control.sock" ping >/dev/null 2>&1 && break
	sleep 0.1
done
set +e
bash "$here/run-guest.sh" --initrd "$work/initrd" --iommu --ivshmem-socket "$work/vm1.sock" \
	--vectors 2 --timeout 300 -- "/guest/$name" --requests 100000 --batch 32 \
	>"$work/guest.log" 2>&1
rc=$?
set -e
tr -d '\r' <"$work/guest.log" | grep -E '^(transport:|[0-9]+ requests|  )' || true
stats=$("$vamosctl" --control "$work/control.sock" stats)
echo "$stats"
kill -TERM "$vamosd_pid"
wait "$vamosd_pid" || die "vamosd did not stop cleanly on SIGTERM"
vamosd_pid=''
if ((rc != 0)); then
	cat "$work/guest.log" "$work/vamosd.log" >&2
	die "the guest client failed ($rc)"
fi
grep -q 'transport: ivshmem.*interrupt' "$work/guest.log" ||
	die "the guest did not pick the ivshmem device with interrupts"
requests=$(awk '$1 == "vm1" && $2 == "all" { print $3 }' <<<"$stats")
[[ $requests == 100000 ]] || die "vamosd counted $requests requests, not 100000"
echo "PASS: guest client over ivshmem, 100000 requests"
