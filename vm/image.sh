#!/usr/bin/env bash
# Build the MariaDB guest: an initramfs that boots Debian 12's kernel under
# QEMU and holds the pinned mariadbd with ha_vamos.so.
#
#   vm/image.sh OUT_INITRD HA_VAMOS_SO
#
# The image is two newc cpio archives back to back (the kernel unpacks both):
#   1. tests/qemu/guest-image.sh's busybox guest (its /init runs the command
#      given by vamos.run=), loading the VFIO modules for the ivshmem device's
#      interrupts and the virtio-blk + ext4 modules for an optional disk;
#   2. the MariaDB layer: mariadbd and the mariadb client, the shared
#      libraries they and ha_vamos.so need, errmsg.sys and charsets, all taken
#      from Debian .debs (apt-get download + dpkg -x, never installed), a data
#      directory made by mariadb-install-db on the host (the same pinned
#      version; about 0.6 s here against 4-8 s inside the TCG guest),
#      ha_vamos.so in /usr/lib/mysql/plugin, and vm/guest/* in /vamos/.
# The .debs are fetched once into ${VAMOS_CACHE:-.cache}/vm/. Which library
# packages are needed is read off the host's own mariadbd (ldd + dpkg -S),
# which scripts/lib.sh's ensure_mariadb pins to the same version.
set -euo pipefail
VAMOS_LOG_TAG=vm-image
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../scripts/lib.sh
. "$here/../scripts/lib.sh"

(($# == 2)) || { echo "usage: $0 OUT_INITRD HA_VAMOS_SO" >&2; exit 2; }
out=$1 plugin=$2
[[ -f $plugin ]] || die "$plugin: no such file (scripts/mariadb-plugin-build makes it)"

ensure_packages "${VAMOS_QEMU_PKGS[@]}" dpkg-dev
ensure_mariadb

cache=${VAMOS_CACHE:-$vamos_root/.cache}/vm
mariadb_pkgs=(mariadb-server-core mariadb-client-core)
binaries=(/usr/sbin/mariadbd /usr/bin/mariadb)

tmps=()
# shellcheck disable=SC2317 # called from the trap
cleanup() { ((${#tmps[@]} == 0)) || rm -rf "${tmps[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every shared library the binaries and the plugin load (the loader too).
mapfile -t libraries < <(ldd "${binaries[@]}" "$plugin" |
	awk '$3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ { print $1 }' | sort -u)
((${#libraries[@]} > 0)) || die "ldd found no libraries for mariadbd"

# The library packages: whatever owns each of them.
library_packages() {
	local f real
	for f in "${libraries[@]}"; do
		real=$(readlink -f "$f")
		dpkg -S "$real" 2>/dev/null || dpkg -S "$f" 2>/dev/null ||
			die "no package owns $f (needed by mariadbd or ha_vamos.so)"
	done | cut -d: -f1 | sort -u
}

# Every package unpacked into $cache/root-<key>/, made once under a
# temporary name and renamed when complete.
unpack_packages() {
	local libs key tmp pkg
	mapfile -t libs < <(library_packages)
	((${#libs[@]} > 0)) || die "no package owns the libraries of mariadbd"
	key=$(printf '%s\n' "$VAMOS_MARIADB_VERSION" "${libs[@]}" | md5sum | cut -c1-12)
	root=$cache/root-$key
	[[ -f $root/.complete ]] && return 0
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/root.tmp.XXXXXX")
	tmps+=("$tmp")
	chmod 0755 "$tmp"
	mkdir "$tmp/dl"
	# Let apt's sandbox user write there, or apt warns and downloads as root.
	if ((EUID == 0)) && id _apt >/dev/null 2>&1; then chown _apt "$tmp/dl"; fi
	local want=()
	for pkg in "${mariadb_pkgs[@]}"; do want+=("$pkg=$VAMOS_MARIADB_VERSION"); done
	want+=("${libs[@]}")
	log "downloading ${#want[@]} packages for the guest (not installing them)"
	(cd "$tmp/dl" && apt-get download -qq "${want[@]}" >&2) ||
		die "apt-get download ${want[*]} failed"
	for pkg in "$tmp"/dl/*.deb; do
		dpkg -x "$pkg" "$tmp/x" || die "dpkg -x $pkg failed"
	done
	rm -rf "$tmp/dl"
	touch "$tmp/x/.complete"
	mv -T "$tmp/x" "$root" 2>/dev/null || [[ -f $root/.complete ]] ||
		die "could not move the unpacked packages to $root"
}
unpack_packages

# Copy @path (as the host names it) from the unpacked packages into @stage,
# under its own name; symlinks are followed, inside the unpacked tree.
take() {
	local path=$1 dst=$2 base cand
	base=${path##*/}
	for cand in "$root$path" "$root/usr$path" "$root/lib/x86_64-linux-gnu/$base" \
		"$root/usr/lib/x86_64-linux-gnu/$base"; do
		[[ -e $cand || -L $cand ]] || continue
		# Absolute symlinks in the packages point into the package tree.
		while [[ -L $cand ]]; do
			local t
			t=$(readlink "$cand")
			[[ $t == /* ]] && cand=$root$t || cand=$(dirname "$cand")/$t
		done
		[[ -f $cand ]] || continue
		mkdir -p "$(dirname "$dst")"
		cp "$cand" "$dst"
		return 0
	done
	die "$path is not in the unpacked packages ($root)"
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/vamos-vm-image.XXXXXX")
tmps+=("$stage")
L=$stage/layer
mkdir -p "$L"/{etc,run/mysqld,var/lib,usr/lib/mysql/plugin,usr/share/mysql/english,lib64,vamos}
mkdir -p "$L/usr/lib/x86_64-linux-gnu"
for b in "${binaries[@]}"; do take "$b" "$L$b"; done
chmod 0755 "$L/usr/sbin/mariadbd" "$L/usr/bin/mariadb"
take /usr/share/mysql/english/errmsg.sys "$L/usr/share/mysql/english/errmsg.sys"
cp -r "$root/usr/share/mysql/charsets" "$L/usr/share/mysql/" ||
	die "no charsets in mariadb-server-core"
# The libraries go to /usr/lib/x86_64-linux-gnu (the base image's /lib is a
# real directory holding its modules, so /lib cannot become a symlink).
for lib in "${libraries[@]}"; do
	case $lib in
	*/ld-linux-x86-64.so.2) take "$lib" "$L/lib64/ld-linux-x86-64.so.2" ;;
	*) take "$lib" "$L/usr/lib/x86_64-linux-gnu/${lib##*/}" ;;
	esac
done
install -m 0755 "$plugin" "$L/usr/lib/mysql/plugin/ha_vamos.so"

# Name lookups: mariadbd resolves localhost, runs as root.
printf '127.0.0.1 localhost\n' >"$L/etc/hosts"
printf 'root:x:0:0:root:/:/bin/sh\n' >"$L/etc/passwd"
printf 'root:x:0:\n' >"$L/etc/group"
for f in "$here"/guest/*; do install -m 0755 "$f" "$L/vamos/${f##*/}"; done

# A fresh data directory. The redo log size must match the guest's option
# (vm/guest/lib.sh); mysql.* tables are Aria, which needs no log to move.
mariadb-install-db --no-defaults --user=root --datadir="$L/var/lib/mysql" \
	--auth-root-authentication-method=normal --skip-test-db \
	--innodb-log-file-size=8M >"$stage/install-db.log" 2>&1 ||
	{ cat "$stage/install-db.log" >&2; die "mariadb-install-db failed"; }

# Base image with the VFIO modules (ivshmem interrupts), then virtio-blk and
# ext4 (the benchmark's InnoDB disk); order matters, each after its deps.
VAMOS_GUEST_MODULES="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci \
virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk \
crc16 mbcache jbd2 crc32c_generic ext4" \
	bash "$vamos_root/tests/qemu/guest-image.sh" "$stage/base.img"

mkdir -p "$(dirname "$out")"
tmpout=$(mktemp "$(dirname "$out")/.vm-initrd.XXXXXX")
tmps+=("$tmpout")
{
	cat "$stage/base.img"
	(cd "$L" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0)
} >"$tmpout" || die "cpio failed"
chmod 0644 "$tmpout"
mv -f "$tmpout" "$out"
log "wrote $out ($(du -h "$out" | cut -f1): MariaDB $VAMOS_MARIADB_VERSION, ha_vamos.so, $(ls "$here/guest" | tr '\n' ' '))"
