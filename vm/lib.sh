# shellcheck shell=bash
# Host side of the MariaDB guest, sourced by vm/demo.sh, tests/vm/* and
# bench/vm/*. Source scripts/lib.sh first. Functions:
#
#   vm_build BUILD_DIR IMAGE   build vamosd, vamosctl and ha_vamos.so in
#                              BUILD_DIR (release) and the guest image IMAGE;
#                              sets vm_vamosd, vm_vamosctl
#   vm_workdir NAME            make $work, a private directory under /tmp,
#                              removed (vamosd killed first) when the script
#                              exits, unless VAMOS_VM_KEEP=1
#   vm_vamosd_start WORK [VAMOSD-FLAG...]
#                              vamosd serving VM "vm1" on WORK/vm1.sock (an
#                              ivshmem server: 4 channels, 4 vectors, rings of
#                              VM_RING_BYTES, default 1M), data in WORK/data,
#                              control socket WORK/ctl, log WORK/vamosd.log
#   vm_vamosd_stop [kill]      SIGTERM (or SIGKILL) vamosd and wait for it
#   vm_counters                "requests batches doorbells interrupts" of vm1
#   vm_run WORK IMAGE ON_PHASE [RUN-GUEST-OPTION...] -- GUEST COMMAND...
#                              boot IMAGE (1 GiB, 2 vCPUs, intel-iommu, and
#                              ivshmem-doorbell on WORK/vm1.sock unless
#                              VM_NO_IVSHMEM=1); for each "VAMOS-PHASE NAME
#                              WORDS" line the guest prints, run
#                              "ON_PHASE NAME WORDS" and then let the guest go
#                              on (also when ON_PHASE fails: the run then
#                              returns 1). Other console lines go to stdout when
#                              VM_CONSOLE=1, else to WORK/console.log only.
#                              Returns the guest command's status.

vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_vectors=4
vamosd_pid=''

vm_build() {
	local dir=$1 image=$2 plugin
	ensure_packages "${VAMOS_BUILD_PKGS[@]}" "${VAMOS_DAEMON_PKGS[@]}" "${VAMOS_QEMU_PKGS[@]}"
	meson_dir "$dir" --buildtype=release -Dtests=false -Dbench=disabled
	plugin=$("$vamos_root/scripts/mariadb-plugin-build" "$dir") || die "building ha_vamos.so failed"
	ninja -C "$dir" host-server/vamosd host-server/vamosctl >&2 || die "building vamosd failed"
	vm_vamosd=$dir/host-server/vamosd
	vm_vamosctl=$dir/host-server/vamosctl
	bash "$vm_here/image.sh" "$image" "$plugin" || die "building the guest image failed"
}

vm_workdir() {
	work=$(mktemp -d "/tmp/vamos-$1-XXXXXX")
	# shellcheck disable=SC2064 # $work is fixed now
	trap "vm_vamosd_stop kill 2>/dev/null || true; [[ \${VAMOS_VM_KEEP:-0} == 1 ]] || rm -rf '$work'" EXIT
	trap 'exit 130' INT TERM
}

vm_vamosd_start() {
	local work=$1
	shift
	mkdir -p "$work/data"
	rm -f "$work/vm1.sock"
	"$vm_vamosd" --vm "vm1=$work/vm1.sock,channels=4,vectors=$vm_vectors,ring_bytes=${VM_RING_BYTES:-1M}" \
		--control "$work/ctl" --data-dir "$work/data" --log-level info "$@" \
		</dev/null >>"$work/vamosd.log" 2>&1 &
	vamosd_pid=$!
	local i
	for i in $(seq 200); do
		"$vm_vamosctl" --control "$work/ctl" ping >/dev/null 2>&1 && return 0
		kill -0 "$vamosd_pid" 2>/dev/null || break
		sleep 0.05
	done
	tail -n 20 "$work/vamosd.log" >&2
	die "vamosd did not start (log: $work/vamosd.log)"
}

vm_vamosd_stop() {
	[[ -n $vamosd_pid ]] || return 0
	kill "-${1:+KILL}${1:-TERM}" "$vamosd_pid" 2>/dev/null || true
	local rc=0
	wait "$vamosd_pid" 2>/dev/null || rc=$?
	vamosd_pid=''
	return "$rc"
}

vm_counters() {
	"$vm_vamosctl" --control "$vm_work/ctl" stats |
		awk '$1 == "vm1" && $2 == "all" { print $3, $4, $5, $6; found = 1 }
		     END { if (!found) print "0 0 0 0" }'
}

vm_run() {
	local work=$1 image=$2 on_phase=$3 opts=() line status='' phase_failed=0
	shift 3
	while (($#)) && [[ $1 != -- ]]; do opts+=("$1") && shift; done
	vm_work=$work
	local in=$work/console.in
	rm -f "$in"
	mkfifo "$in"
	# Read-write, so opening never blocks and QEMU never sees EOF.
	exec {vm_in_fd}<>"$in"
	((${VM_NO_IVSHMEM:-0})) ||
		opts+=(--iommu --ivshmem-socket "$work/vm1.sock" --vectors "$vm_vectors")
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$work/console.log"
		case $line in
		VAMOS-PHASE\ *)
			# shellcheck disable=SC2086 # the words are the arguments
			# A failed check still lets the guest finish (and power off).
			"$on_phase" ${line#VAMOS-PHASE } || phase_failed=1
			printf '\n' >&"$vm_in_fd"
			;;
		VAMOS-RUN-STATUS=*) status=${line#VAMOS-RUN-STATUS=} ;;
		*) ((${VM_CONSOLE:-0})) && printf '%s\n' "$line" ;;
		esac
	done < <(
		bash "$vamos_root/tests/qemu/run-guest.sh" --initrd "$image" --mem 1024 --smp 2 \
			--timeout "${VM_TIMEOUT:-900}" --console-in "$in" "${opts[@]}" "$@" 2>&1
		echo "VAMOS-RUN-STATUS=$?"
	)
	exec {vm_in_fd}>&-
	rm -f "$in"
	[[ -n $status ]] || status=125
	((status != 0 || phase_failed == 0)) || status=1
	return "$status"
}
