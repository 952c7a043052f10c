#!/usr/bin/env bash
# Build a tiny initramfs for booting test programs under QEMU, and make sure
# the guest kernel (Debian 12's 6.1, as an ELF vmlinux) is in the cache.
#
#   tests/qemu/guest-image.sh OUT_INITRD [PROGRAM...]
#
# The PROGRAMs (statically linked x86-64 ELF files) land in /guest/ of the
# image. /init runs the command named by `vamos.run=` on the kernel command
# line (see run-guest.sh and README.md), prints VAMOS-GUEST-EXIT=<status> and
# powers off. Environment:
#   VAMOS_CACHE            cache root (default $vamos_root/.cache); the kernel
#                          lives in $VAMOS_CACHE/qemu/kernel/
#   VAMOS_GUEST_KERNEL_PKG kernel package to fetch (default: newest
#                          linux-image-6.1.0-NN-amd64-unsigned apt knows)
#   VAMOS_GUEST_MODULES    modules to load at boot, in order (default: VFIO)
#   VAMOS_GUEST_COMPRESS   none (default, boots fastest under TCG) or gzip
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh's log
VAMOS_LOG_TAG=guest-image
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

usage() {
	echo "usage: $0 OUT_INITRD [PROGRAM...]" >&2
	exit 2
}
(($# >= 1)) || usage
[[ $1 != -* ]] || usage
out=$1
shift
programs=("$@")

read -ra modules <<<"${VAMOS_GUEST_MODULES-irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci}"
compress=${VAMOS_GUEST_COMPRESS:-none}
[[ $compress == none || $compress == gzip ]] || die "VAMOS_GUEST_COMPRESS must be none or gzip"

cache=${VAMOS_CACHE:-$vamos_root/.cache}/qemu
kdir=$cache/kernel # complete once it exists: it only ever appears by rename

# busybox-static provides /bin/busybox; binutils gives readelf for the static
# check; xz-utils unpacks vmlinuz.
ensure_packages "${VAMOS_QEMU_PKGS[@]}"

as_root() {
	if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

tmps=()
# shellcheck disable=SC2317 # called from the trap
cleanup() { ((${#tmps[@]} == 0)) || rm -rf "${tmps[@]}"; }
trap cleanup EXIT
# With these traps bash waits for the running child (dpkg -x, ...) before it
# exits and cleans up, instead of racing it.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The newest unsigned 6.1 kernel package apt knows (the signed one carries the
# same vmlinuz plus a signature; used only if no unsigned one is listed).
pick_kernel_pkg() {
	local names
	names=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null || true)
	grep -E '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' <<<"$names" | sort -V | tail -n1 | grep . ||
		grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' <<<"$names" | sort -V | tail -n1 | grep .
}

# Write the ELF image inside a bzImage (xz-compressed payload) to $2.
extract_vmlinux() {
	local vmlinuz=$1 dst=$2 off
	# The first xz magic is the payload; try the others if it is not.
	while read -r off; do
		# --single-stream: stop after the stream, ignore what follows it.
		tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream >"$dst" 2>/dev/null || true
		[[ $(head -c4 "$dst" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] && return 0
	done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1)
	return 1
}

fetch_kernel() {
	local pkg tmp deb vmlinuz kver
	pkg=${VAMOS_GUEST_KERNEL_PKG:-}
	if [[ -z $pkg ]]; then
		if ! pkg=$(pick_kernel_pkg); then
			log "apt knows no linux-image-6.1.0-*-amd64; running apt-get update"
			as_root apt-get update -qq >&2 || die "apt-get update failed"
			pkg=$(pick_kernel_pkg) || die "no linux-image-6.1.0-NN-amd64 package in apt's lists"
		fi
	fi

	mkdir -p "$cache"
	# Leftovers of runs that were killed outright.
	find "$cache" -maxdepth 1 -name 'kernel.tmp.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
	tmp=$(mktemp -d "$cache/kernel.tmp.XXXXXX")
	tmps+=("$tmp")
	chmod 0755 "$tmp" # mktemp makes it 0700; it becomes the cache dir
	mkdir "$tmp/dl"
	# Let apt's sandbox user write there, or apt warns and downloads as root.
	if ((EUID == 0)) && id _apt >/dev/null 2>&1; then chown _apt "$tmp/dl"; fi

	log "downloading $pkg (not installing it)"
	(cd "$tmp/dl" && apt-get download -qq "$pkg" >&2) || die "apt-get download $pkg failed"
	deb=$(echo "$tmp"/dl/*.deb)
	[[ -f $deb ]] || die "apt-get download $pkg left no .deb"
	dpkg -x "$deb" "$tmp/x" || die "dpkg -x $deb failed"
	rm -rf "$tmp/dl"

	vmlinuz=$(echo "$tmp"/x/boot/vmlinuz-*)
	[[ -f $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	[[ -d $tmp/x/lib/modules/$kver ]] || die "$pkg has no /lib/modules/$kver"

	# TCG decompresses slowly; booting the ELF directly (PVH) saves seconds.
	extract_vmlinux "$vmlinuz" "$tmp/vmlinux" || die "no ELF kernel found in $vmlinuz"
	mv "$tmp/x/lib/modules/$kver" "$tmp/modules"
	mv "$tmp/x/boot/config-$kver" "$tmp/config" 2>/dev/null || true
	echo "$kver" >"$tmp/version"
	echo "$pkg" >"$tmp/package"
	rm -rf "$tmp/x"

	# Publish atomically; if a concurrent run got there first, keep its copy.
	if ! mv -T "$tmp" "$kdir" 2>/dev/null; then
		[[ -f $kdir/vmlinux ]] || die "could not move the kernel into $kdir"
	fi
	log "cached $pkg ($kver) in $kdir"
}

[[ -f $kdir/vmlinux ]] || fetch_kernel
kver=$(<"$kdir/version")

# Refuse anything the bare guest cannot run: it has no dynamic loader.
check_static() {
	local f=$1 hdr
	[[ -f $f && -r $f ]] || die "$f: not a readable file"
	[[ $(head -c4 "$f" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] || die "$f: not an ELF file"
	hdr=$(readelf -hlW "$f" 2>/dev/null) || die "$f: readelf cannot read it"
	grep -q 'Machine:.*X86-64' <<<"$hdr" || die "$f: not an x86-64 program"
	grep -qE 'Type:[[:space:]]+(EXEC|DYN)' <<<"$hdr" || die "$f: not an executable"
	if grep -q 'INTERP' <<<"$hdr"; then
		die "$f: dynamically linked (needs $(grep -o 'interpreter: [^]]*' <<<"$hdr")); link it with -static"
	fi
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/vamos-guest.XXXXXX")
tmps+=("$stage")
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,guest,etc,lib/modules}

busybox=$(command -v busybox) || die "busybox not found"
check_static "$busybox"
cp "$busybox" "$stage/bin/busybox"
# Applet links made here cost nothing at boot.
while read -r applet; do
	[[ -e $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
done < <("$busybox" --list-full)

for p in "${programs[@]}"; do
	check_static "$p"
	name=${p##*/}
	[[ ! -e $stage/guest/$name ]] || die "two programs named $name"
	install -m 0755 "$p" "$stage/guest/$name"
done

# Modules: plain .ko in Debian's 6.1 (also handles compressed ones); no
# modules.dep ships, so check each depends= against what is loaded before it.
mroot=$kdir/modules
builtin=$(sed -n 's@.*/\([^/]*\)\.ko$@\1@p' "$mroot/modules.builtin" 2>/dev/null | tr - _ || true)
loaded=" "
: >"$stage/lib/modules/order"
for m in "${modules[@]}"; do
	norm=${m//-/_}
	if grep -qx "$norm" <<<"$builtin"; then
		log "module $m is built in"
		loaded+="$norm "
		continue
	fi
	file=
	while read -r f; do
		b=${f##*/}
		b=${b%%.ko*}
		[[ ${b//-/_} == "$norm" ]] && file=$f && break
	done < <(find "$mroot/kernel" -name '*.ko*')
	[[ -n $file ]] || die "module $m is neither built in nor in $mroot"
	dst=$stage/lib/modules/$norm.ko
	case $file in
	*.ko) cp "$file" "$dst" ;;
	*.ko.xz) xz -dc "$file" >"$dst" ;;
	*.ko.gz) gzip -dc "$file" >"$dst" ;;
	*.ko.zst) zstd -qdc "$file" >"$dst" ;;
	*) die "$file: unknown module format" ;;
	esac
	deps=$(tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p' | tr , ' ')
	for d in $deps; do
		[[ $loaded == *" ${d//-/_} "* ]] || die "module $m needs $d loaded before it"
	done
	loaded+="$norm "
	echo "$norm" >>"$stage/lib/modules/order"
done

# The kernel opens /dev/console before /init runs; without the node /init
# would start with no stdout. mknod needs root; /init copes without it.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null ||
	log "warning: cannot mknod dev/console (not root); /init reopens it after devtmpfs"

cat >"$stage/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the vamos test guest. Whatever happens it ends with exactly one
# line VAMOS-GUEST-EXIT=<status> and poweroff -f.
export PATH=/guest:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/ TERM=vt100
status=255
finished=0
finish() {
	[ "$finished" = 1 ] && return
	finished=1
	echo "VAMOS-GUEST-EXIT=$status"
	poweroff -f
	# Only if poweroff failed: PID 1 exits, the kernel panics, and with
	# panic=-1 and QEMU's -no-reboot that still ends the VM.
	exit "$status"
}
trap finish EXIT
say() { echo "vamos-init: $*"; }

mount -t devtmpfs devtmpfs /dev || say "mount /dev failed"
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
echo # SeaBIOS leaves the cursor after "Booting from ROM.."
mount -t proc proc /proc || say "mount /proc failed"
mount -t sysfs sysfs /sys || say "mount /sys failed"
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || say "mount /dev/shm failed"

while read -r m; do
	insmod "/lib/modules/$m.ko" || say "insmod $m failed (continuing)"
done </lib/modules/order

# vamos.run=ARG,ARG,...: arguments separated by commas, each percent-encoded
# (%20 space, %2C comma, %25 percent, ...).
set -f
run=
read -r cmdline </proc/cmdline || say "cannot read /proc/cmdline"
for w in $cmdline; do
	case $w in vamos.run=*) run=${w#vamos.run=} ;; esac
done
if [ -z "$run" ]; then
	say "no vamos.run= on the kernel command line"
	exit
fi
set --
oldifs=$IFS
IFS=,
for e in $run; do
	e=$(printf '%b' "${e//%/\\x}"; echo x) # the x keeps trailing newlines
	set -- "$@" "${e%x}"
done
IFS=$oldifs
set +f

"$@"
status=$?
exit
EOF
chmod 0755 "$stage/init"

mkdir -p "$(dirname "$out")"
tmpout=$(mktemp "$(dirname "$out")/.initrd.XXXXXX")
tmps+=("$tmpout")
(
	cd "$stage"
	find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0
) | if [[ $compress == gzip ]]; then gzip -1; else cat; fi >"$tmpout" ||
	die "cpio failed"
chmod 0644 "$tmpout"
mv -f "$tmpout" "$out"
log "wrote $out ($(du -h "$out" | cut -f1), kernel $kver, modules: $(tr '\n' ' ' <"$stage/lib/modules/order"))"
