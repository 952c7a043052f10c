# shellcheck shell=bash
# Shared by scripts/* and bench/run: logging and installing missing Debian
# packages. Source it; it defines functions only.

vamos_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '%s: %s\n' "${VAMOS_LOG_TAG:-vamos}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Install whichever of the given Debian packages are missing (apt-get update
# once, first). Works as root, or through sudo.
_vamos_apt_updated=0
ensure_packages() {
	local pkg missing=()
	for pkg in "$@"; do
		# "hold ok installed" is installed too.
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' ok installed$' ||
			missing+=("$pkg")
	done
	((${#missing[@]} == 0)) && return 0

	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "missing packages ${missing[*]} and not root"
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	if ((_vamos_apt_updated == 0)); then
		"${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
		_vamos_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

# Packages to configure and build the project and its tests.
VAMOS_BUILD_PKGS=(meson ninja-build pkg-config gcc g++ libcriterion-dev)
# vamosd: liburcu (RCU registries, wait-free completion queues), jemalloc,
# LMDB (the MySQL handler layer's store).
VAMOS_DAEMON_PKGS=(liburcu-dev libjemalloc-dev librocksdb-dev)
# Peers the ring benchmark compares against.
VAMOS_BENCH_PKGS=(dpdk-dev libboost-dev liburcu-dev)
# The QEMU tests and the in-guest benchmark: QEMU itself, busybox for the
# initramfs, cpio to pack it, xz to unpack the kernel (which is fetched with
# apt-get download, never installed).
VAMOS_QEMU_PKGS=(qemu-system-x86 busybox-static cpio xz-utils binutils)
# libFuzzer: clang and its runtime.
VAMOS_FUZZ_PKGS=(clang libclang-rt-14-dev)
# The SQL benchmark (bench/run sql): sysbench drives MariaDB.
VAMOS_SQL_BENCH_PKGS=(sysbench)

# Configure @dir with the given meson options unless it already is.
meson_dir() {
	local dir=$1
	shift
	if [[ ! -f "$dir/build.ninja" ]]; then
		meson setup "$dir" "$vamos_root" "$@" >&2 || die "meson setup $dir failed"
	fi
}

# MariaDB for the ha_vamos plugin: the server must be exactly the version
# whose source the plugin is built against, and every mariadb package must
# be that version (mixing 10.11.18 and .19 breaks the server package). The
# archive serves the source of this version, not of the security update.
VAMOS_MARIADB_VERSION=1:10.11.18-0+deb12u1
VAMOS_MARIADB_PKGS=(mariadb-server mariadb-client mariadb-test mariadb-server-core
	mariadb-client-core mariadb-common libmariadb3 libmariadb-dev mariadb-test-data
	libmariadbd-dev libmariadbd19)

# Install the MariaDB packages at VAMOS_MARIADB_VERSION unless they are, and
# hold them there.
ensure_mariadb() {
	local pkg have missing=()
	for pkg in "${VAMOS_MARIADB_PKGS[@]}"; do
		have=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null || true)
		# Held after the first install: "hold ok installed".
		[[ $have =~ ^(install|hold)\ ok\ installed\ (.*)$ && ${BASH_REMATCH[2]} == "$VAMOS_MARIADB_VERSION" ]] ||
			missing+=("$pkg=$VAMOS_MARIADB_VERSION")
	done
	((${#missing[@]} == 0)) && return 0
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	log "installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends --allow-downgrades "${missing[@]}" >&2 ||
		die "installing MariaDB $VAMOS_MARIADB_VERSION failed"
	"${sudo[@]}" apt-mark hold "${VAMOS_MARIADB_PKGS[@]}" >/dev/null
}
