# shellcheck shell=bash
# Private MariaDB servers and vamosd, for the SQL tests and benchmarks.
# Source it; it sources lib.sh and defines functions only. Every process
# started here is stopped by its PID in mdb_cleanup, which the first start
# installs as the EXIT trap unless there is one (INT and TERM exit, so they
# run it too). A caller with its own EXIT trap calls mdb_cleanup from it.
#
#   mdb_install_db DATADIR           a fresh datadir; root@localhost, no password
#   mdb_start DIR [--port P] [--plugin SO] [--env K=V]... [--wrapper CMD]
#             [-- MARIADBD-OPTIONS...]
#         DIR/data must exist (mdb_install_db, or a copy of one). The server
#         gets DIR/mysqld.sock, DIR/error.log, its own plugin dir DIR/plugin
#         (the server's plugins as symlinks, plus a copy of SO, loaded), the
#         given environment, and no networking unless --port (127.0.0.1:P).
#         --wrapper: the server runs as CMD mariadbd ... (e.g. a script that
#         execs valgrind); it must exec, so that the PID is the server's.
#         Returns once the server answers a ping.
#   mdb_stop DIR [kill]              SIGTERM (or SIGKILL) and wait until it is gone
#   mdb_restart DIR [kill]           stop, then start with the same options
#   mdb_client DIR [ARGS...]         the mariadb client on DIR's socket, as root
#   vamosd_start DIR VAMOSD [FLAGS...]
#         vamosd with data DIR/data, control socket DIR/ctl and one VM "vm1"
#         on DIR/vm1.sock with $VAMOSD_VM_OPTIONS (default channels=4,vectors=4;
#         a local peer learns the vectors unless VAMOS_LOCAL_VECTORS says them,
#         and then they must match); returns once
#         it answers a ping.
#   vamosd_stop DIR [SIGNAL]         default TERM; waits until it is gone
#   vamosd_restart DIR [SIGNAL]      stop with SIGNAL, start with the same flags (and
#                                    VM options, unless VAMOSD_VM_OPTIONS is set)
#   vamosd_worker DIR                the PID of vamosd's worker (its keeper's child)
#   vamosd_kill_worker DIR           SIGKILL the worker; returns once the keeper's
#         new worker answers a ping. The keeper gives up after 5 deaths in a
#         row within 10 s of starting: 4 kills in a row are as many as it allows.
#   mdb_server_plugin_dir            where the installed server keeps plugins
#
# VAMOS_WAIT_SECONDS (default 180) bounds every wait for readiness or exit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_mdb_dirs=()      # instance directories whose process we may have to stop
_mdb_trap_set=0

_mdb_deadline() { echo $((SECONDS + ${VAMOS_WAIT_SECONDS:-180})); }

# True once PID has exited (gone, or a zombie waiting to be reaped).
_pid_gone() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	[[ ${stat:0:1} == Z ]]
}

# Send SIGNAL to the process whose PID is in FILE and wait until it exits;
# after the deadline, SIGKILL it. Removes FILE.
_stop_pidfile() {
	local file=$1 sig=$2 pid deadline
	[[ -f $file ]] || return 0
	pid=$(<"$file")
	if ! _pid_gone "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null || true
		deadline=$(_mdb_deadline)
		while ! _pid_gone "$pid"; do
			if ((SECONDS > deadline)); then
				log "pid $pid did not exit on SIG$sig; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
			sleep 0.05
		done
	fi
	rm -f "$file"
}

# In a subshell about to exec a daemon: close every descriptor but 0-2, so
# that the daemon holds no pipe of its parent's open. The list is taken
# first and no redirection wraps the loop: bash would keep its saved copy
# of the redirected descriptor among those listed, and closing that copy
# would leave the daemon's stderr on the redirection's target.
_close_fds() {
	local fd fds=(/proc/$BASHPID/fd/*)
	for fd in "${fds[@]##*/}"; do
		((fd > 2)) && exec {fd}>&-
	done
	return 0
}

mdb_cleanup() {
	local dir
	for dir in "${_mdb_dirs[@]}"; do
		_stop_pidfile "$dir/mariadbd.run-pid" TERM
		_stop_pidfile "$dir/vamosd.run-pid" TERM
	done
}

_mdb_track() {
	local dir
	for dir in "${_mdb_dirs[@]}"; do [[ $dir == "$1" ]] && return 0; done
	_mdb_dirs+=("$1")
	if ((_mdb_trap_set == 0)); then
		[[ -n $(trap -p EXIT) ]] || trap mdb_cleanup EXIT
		[[ -n $(trap -p INT) ]] || trap 'exit 130' INT
		[[ -n $(trap -p TERM) ]] || trap 'exit 143' TERM
		_mdb_trap_set=1
	fi
}

mdb_server_plugin_dir() {
	local d
	d=$(mariadbd --no-defaults --help --verbose 2>/dev/null | awk '$1 == "plugin-dir" { print $2 }')
	[[ -d $d ]] || die "cannot find the server's plugin dir (mariadbd --help --verbose)"
	echo "${d%/}"
}

mdb_install_db() {
	local datadir=$1
	mkdir -p "$datadir"
	mariadb-install-db --no-defaults --user=root --datadir="$datadir" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$datadir.install.log" 2>&1 ||
		{ cat "$datadir.install.log" >&2; die "mariadb-install-db $datadir failed"; }
}

# DIR/plugin: every plugin of the server as a symlink, plus copies of the
# given .so files, each installed under a temporary name and renamed (a
# running server may have the old one mapped).
_mdb_plugin_dir() {
	local dir=$1 so f
	shift
	mkdir -p "$dir"
	for f in "$(mdb_server_plugin_dir)"/*; do
		[[ -e $dir/${f##*/} ]] || ln -s "$f" "$dir/${f##*/}"
	done
	for so in "$@"; do
		cp "$so" "$dir/.${so##*/}.tmp"
		mv -f "$dir/.${so##*/}.tmp" "$dir/${so##*/}"
	done
}

# Save the arguments, quoted for eval, so that a restart can reuse them.
_mdb_save_args() {
	local file=$1
	shift
	: >"$file"
	(($# == 0)) || printf '%q ' "$@" >"$file"
}

mdb_start() {
	local dir=$1 port='' plugins=() envs=() opts=() wrapper=() deadline pid
	shift
	_mdb_save_args "$dir/start-args" "$@"
	while (($#)); do
		case $1 in
		--port) port=$2 && shift ;;
		--plugin) plugins+=("$2") && shift ;;
		--env) envs+=("$2") && shift ;;
		--wrapper) wrapper=("$2") && shift ;;
		--) shift && opts=("$@") && break ;;
		*) die "mdb_start: unknown option $1" ;;
		esac
		shift
	done
	[[ -d $dir/data/mysql ]] || die "mdb_start: $dir/data is not a datadir"
	_mdb_plugin_dir "$dir/plugin" "${plugins[@]}"
	local so
	for so in "${plugins[@]}"; do opts+=("--plugin-load-add=${so##*/}"); done
	# ha_vamos is a beta plugin: the server refuses it at its default maturity.
	((${#plugins[@]} == 0)) || opts+=(--plugin-maturity=beta)
	if [[ -n $port ]]; then
		opts+=(--port="$port" --bind-address=127.0.0.1)
	else
		opts+=(--skip-networking)
	fi
	_mdb_track "$dir"
	(
		_close_fds
		exec env "${envs[@]}" "${wrapper[@]}" mariadbd --no-defaults --user=root --datadir="$dir/data" \
			--socket="$dir/mysqld.sock" --pid-file="$dir/mariadbd.pid" \
			--plugin-dir="$dir/plugin" --log-error="$dir/error.log" "${opts[@]}"
	) </dev/null >>"$dir/error.log" 2>&1 &
	pid=$!
	disown "$pid"
	echo "$pid" >"$dir/mariadbd.run-pid"
	deadline=$(_mdb_deadline)
	until mariadb-admin --no-defaults -uroot --socket="$dir/mysqld.sock" \
		--connect-timeout=5 ping >/dev/null 2>&1; do
		if _pid_gone "$pid" || ((SECONDS > deadline)); then
			tail -n 30 "$dir/error.log" >&2
			die "mariadbd in $dir did not come up"
		fi
		sleep 0.05
	done
}

mdb_stop() {
	local sig=TERM
	[[ ${2:-} == kill ]] && sig=KILL
	_stop_pidfile "$1/mariadbd.run-pid" "$sig"
}

mdb_restart() {
	local dir=$1 args
	args=$(<"$dir/start-args")
	mdb_stop "$dir" "${2:-}"
	eval "mdb_start \"\$dir\" $args"
}

mdb_client() {
	local dir=$1
	shift
	mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" \
		--default-character-set=utf8mb4 "$@"
}

vamosd_start() {
	local dir=$1 vamosd=$2 deadline pid
	shift 2
	_mdb_save_args "$dir/vamosd-args" "$vamosd" "$@"
	echo "${VAMOSD_VM_OPTIONS:-channels=4,vectors=4}" >"$dir/vamosd-vm-options"
	mkdir -p "$dir/data"
	_mdb_track "$dir"
	(
		_close_fds
		exec "$vamosd" --data-dir "$dir/data" --control "$dir/ctl" \
			--vm "vm1=$dir/vm1.sock,$(<"$dir/vamosd-vm-options")" "$@"
	) </dev/null >>"$dir/vamosd.log" 2>&1 &
	pid=$!
	disown "$pid"
	echo "$pid" >"$dir/vamosd.run-pid"
	deadline=$(_mdb_deadline)
	until "$(dirname "$vamosd")/vamosctl" --control "$dir/ctl" ping >/dev/null 2>&1; do
		if _pid_gone "$pid" || ((SECONDS > deadline)); then
			tail -n 30 "$dir/vamosd.log" >&2
			die "vamosd in $dir did not come up"
		fi
		sleep 0.05
	done
}

vamosd_stop() {
	_stop_pidfile "$1/vamosd.run-pid" "${2:-TERM}"
}

vamosd_restart() {
	local dir=$1 args
	args=$(<"$dir/vamosd-args")
	vamosd_stop "$dir" "${2:-TERM}"
	VAMOSD_VM_OPTIONS=${VAMOSD_VM_OPTIONS:-$(<"$dir/vamosd-vm-options")} \
		eval "vamosd_start \"\$dir\" $args"
}

vamosd_worker() {
	local keeper pid=''
	keeper=$(<"$1/vamosd.run-pid")
	{ read -r pid _ <"/proc/$keeper/task/$keeper/children"; } 2>/dev/null || true
	echo "$pid"
}

vamosd_kill_worker() {
	local dir=$1 old new deadline vamosd
	vamosd=$(eval "set -- $(<"$dir/vamosd-args")" && echo "$1")
	old=$(vamosd_worker "$dir")
	[[ -n $old ]] || die "vamosd in $dir has no worker"
	kill -KILL "$old"
	deadline=$(_mdb_deadline)
	# The keeper starts the next worker only once the old one is reaped;
	# it answers once it is serving.
	until new=$(vamosd_worker "$dir") && [[ -n $new && $new != "$old" ]] &&
		"$(dirname "$vamosd")/vamosctl" --control "$dir/ctl" ping >/dev/null 2>&1; do
		if ((SECONDS > deadline)); then
			tail -n 30 "$dir/vamosd.log" >&2
			die "vamosd in $dir did not replace its killed worker"
		fi
		sleep 0.05
	done
}
