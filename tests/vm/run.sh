#!/usr/bin/env bash
# The in-VM SQL tests: MariaDB in a QEMU guest (vm/image.sh) with ha_vamos,
# against vamosd on the host. Run by scripts/test (its SQL step):
#
#   tests/vm/run.sh [BUILD_DIR]     (default build-sql/)
#
# Builds ha_vamos.so, vamosd and the guest image in BUILD_DIR; vamosd is
# taken from build-asan/ when scripts/test built it there (sanitizers on the
# side that reads guest memory). Two tests, each one boot under TCG:
#   vm-sql-ivshmem    CREATE/INSERT/SELECT/UPDATE/DELETE/ROLLBACK on an
#                     ENGINE=VAMOS table through ivshmem-doorbell + VFIO;
#                     the host checks that vamosd served them and holds the
#                     table; mariadbd restarts in the guest and finds it;
#                     vamosd restarts in place (SIGUSR2), then its worker is
#                     SIGKILLed and its keeper starts a new one: each time the
#                     guest, on the same QEMU device, reads and writes on;
#                     then the worker is SIGSTOPped: the guest's statement
#                     fails within seconds saying vamosd has not answered,
#                     and after SIGCONT the next one is served
#   vm-sql-no-device  no ivshmem device: the statement fails naming the
#                     missing device and vsock; InnoDB still works
# Ends with "N passed, N failed".
set -euo pipefail
VAMOS_LOG_TAG=test-vm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"
. "$vamos_root/vm/lib.sh"

build=${1:-$vamos_root/build-sql}
[[ $build == /* ]] || build=$PWD/$build
image=$build/vm/guest.img
vm_build "$build" "$image"
if [[ -x $vamos_root/build-asan/host-server/vamosd ]]; then
	vm_vamosd=$vamos_root/build-asan/host-server/vamosd
	vm_vamosctl=$vamos_root/build-asan/host-server/vamosctl
fi
log "vamosd: $vm_vamosd"

vm_workdir vm-test

passed=0 failed=0
result() { # NAME STATUS
	if (($2 == 0)); then
		echo "PASS: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1"
		failed=$((failed + 1))
	fi
}
check() { # WHAT CONDITION...
	local what=$1
	shift
	if "$@"; then echo "host: ok $what"; else echo "host: FAIL $what"; return 1; fi
}

vm_boot_id() {
	"$vm_vamosctl" --control "$vm_work/ctl" stats 2>/dev/null | awk 'NR == 1 { sub(/,/, "", $3); print $3 }'
}

# Wait (up to 20 s) until vamosd shows a boot id other than $1.
wait_new_boot() {
	for _ in $(seq 400); do
		[[ $(vm_boot_id) != "$1" && -n $(vm_boot_id) ]] && return 0
		sleep 0.05
	done
}

# The keeper's worker (host-server/keeper.h).
vm_worker() {
	cat "/proc/$vamosd_pid/task/$vamosd_pid/children"
}

# Host-side checks at the guest's phases.
on_phase() {
	local counters
	# A frozen worker answers no stats: thaw it first.
	if [[ $1 == thaw_vamosd ]]; then
		kill -CONT "$frozen"
		check "vamosd's worker (pid $frozen) moves again" test -n "$frozen"
		return
	fi
	read -ra counters < <(vm_counters)
	case $1 in
	checked)
		check "vamosd served the guest's requests (${counters[0]})" test "${counters[0]}" -gt 1000 &&
			check "the VM's tables are on the host" test -f "$work/data/vm1/mysql/CURRENT" &&
			check "vamosd committed the guest's transactions" \
				grep -Eq 'mysql: .* [1-9][0-9]* commits' < <("$vm_vamosctl" --control "$work/ctl" stats)
		;;
	mariadbd_restarted) check "vamosd kept serving" test "${counters[0]}" -gt 1000 ;;
	restart_vamosd)
		boot_before=$(vm_boot_id)
		kill -USR2 "$vamosd_pid"
		wait_new_boot "$boot_before"
		check "vamosd restarted in place (boot $boot_before -> $(vm_boot_id), same pid)" \
			test "$(vm_boot_id)" != "$boot_before" -a -n "$(vm_boot_id)" &&
			check "it took the VM over from its predecessor" \
				grep -q "taken over from the previous vamosd" "$vm_work/vamosd.log"
		;;
	after_restart | after_crash)
		# Counters start again with the new process: these are its own.
		check "the new vamosd served the guest (${counters[0]} requests)" \
			test "${counters[0]}" -gt 10 &&
			check "and interrupted it (${counters[3]} interrupts): QEMU kept its eventfds" \
				test "${counters[3]}" -gt 0
		;;
	freeze_vamosd)
		# Alive to the kernel, answering nobody: the guest must learn it
		# from the heartbeat, not from its timeout.
		frozen=$(vm_worker)
		echo "$frozen" >"$vm_work/frozen.pid"
		check "vamosd's worker (pid $frozen) is frozen" kill -STOP "$frozen"
		;;
	crash_vamosd)
		# vamosd is a keeper and a worker (host-server/keeper.h): kill
		# the worker, as a crash would.
		local worker
		worker=$(vm_worker)
		boot_before=$(vm_boot_id)
		check "vamosd runs its worker (pid $worker) under a keeper" test -n "$worker" || return 1
		kill -KILL "$worker"
		wait_new_boot "$boot_before"
		check "its keeper started it again (boot $(vm_boot_id))" \
			test "$(vm_boot_id)" != "$boot_before" -a -n "$(vm_boot_id)" &&
			check "with the VM's device, a new host generation" \
				grep -q "host generation 1 (the previous vamosd died)" "$vm_work/vamosd.log"
		;;
	*) echo "host: unknown phase $1"; return 1 ;;
	esac
}

run_test() { # NAME GUEST-MODE
	local name=$1 mode=$2 rc=0 t0=$SECONDS
	mkdir -p "$work/$name"
	if [[ $mode == ivshmem ]]; then
		vm_vamosd_start "$work/$name"
		VM_CONSOLE=1 vm_run "$work/$name" "$image" on_phase --timeout 600 -- \
			/bin/sh /vamos/test.sh "$mode" | grep -E '^(vamos-guest|host):' || rc=$?
		# A guest that failed before the thaw leaves the worker frozen.
		[[ ! -f $work/$name/frozen.pid ]] || kill -CONT "$(cat "$work/$name/frozen.pid")" 2>/dev/null || true
		vm_vamosd_stop || { echo "host: FAIL vamosd did not stop cleanly on SIGTERM"; rc=1; }
	else
		VM_NO_IVSHMEM=1 VM_CONSOLE=1 vm_run "$work/$name" "$image" on_phase --timeout 600 -- \
			/bin/sh /vamos/test.sh "$mode" | grep -E '^(vamos-guest|host):' || rc=$?
	fi
	if ((rc != 0)); then
		tail -n 30 "$work/$name/console.log" >&2
		[[ ! -f $work/$name/vamosd.log ]] || tail -n 20 "$work/$name/vamosd.log" >&2
	fi
	log "$name: $((SECONDS - t0)) s"
	result "$name" "$rc"
}

run_test vm-sql-ivshmem ivshmem
run_test vm-sql-no-device no-device
echo "$passed passed, $failed failed"
((failed == 0))
