#!/usr/bin/env bash
# `meson install` lays the project out as a package would: the shared
# libraries with their sonames, the public headers, pkg-config files, vamosd
# and vamosctl, the systemd unit naming this build's paths, the man pages,
# the example configuration, and ha_vamos.so in the installed server's
# plugin directory. Installs into a scratch DESTDIR; nothing else is touched.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
build=${SQLT_BUILD_DIR:?scripts/test-sql sets SQLT_BUILD_DIR}
dest=$(mktemp -d /tmp/sqlh-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet >"$dest.log" 2>&1 ||
	{ cat "$dest.log" >&2; rm -f "$dest.log"; fail "meson install"; }
rm -f "$dest.log"
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
plugin_dir=$(mariadbd --verbose --help 2>/dev/null | awk '$1 == "plugin-dir" { print $2 }')

# Every installed file, relative to DESTDIR, with the prefix and the plugin
# directory named rather than spelled out.
files=$(cd "$dest" && find . -type f -o -type l | sed -e 's|^\./|/|' \
	-e "s|^${plugin_dir%/}/|PLUGIN_DIR/|" -e "s|^$prefix/|PREFIX/|" \
	-e 's|/lib/[a-z0-9_]*-linux-gnu/|/lib/|' | sort)
check_text "installed files" "$(grep -v -e '/include/vamos/' <<<"$files")" <<EXPECTED
PLUGIN_DIR/ha_vamos.so
PREFIX/bin/vamos-ring-demo
PREFIX/etc/vamos/vamosd.conf.example
PREFIX/lib/libvamos-client.so
PREFIX/lib/libvamos-client.so.0
PREFIX/lib/libvamos-client.so.0.1.0
PREFIX/lib/libvamos-ivshmem.so
PREFIX/lib/libvamos-ivshmem.so.0
PREFIX/lib/libvamos-ivshmem.so.0.1.0
PREFIX/lib/libvamos-ring.so
PREFIX/lib/libvamos-ring.so.0
PREFIX/lib/libvamos-ring.so.0.1.0
PREFIX/lib/libvamos-vsock.so
PREFIX/lib/libvamos-vsock.so.0
PREFIX/lib/libvamos-vsock.so.0.1.0
PREFIX/lib/pkgconfig/libvamos-client.pc
PREFIX/lib/pkgconfig/libvamos-ivshmem.pc
PREFIX/lib/pkgconfig/libvamos-ring.pc
PREFIX/lib/pkgconfig/libvamos-vsock.pc
PREFIX/lib/systemd/system/vamosd.service
PREFIX/sbin/vamosctl
PREFIX/sbin/vamosd
PREFIX/share/man/man5/vamosd.conf.5
PREFIX/share/man/man8/vamosctl.8
PREFIX/share/man/man8/vamosd.8
EXPECTED
check_text "public headers" "$(grep '/include/vamos/' <<<"$files" | sed 's|.*/||')" <<EXPECTED
channel.h
client.h
ivshmem.h
mysql_protocol.h
protocol.h
ring.h
vsock.h
EXPECTED
check_text "the unit names this build's paths" \
	"$(grep '^ExecStart=' "$dest$prefix/lib/systemd/system/vamosd.service")" <<EXPECTED
ExecStart=$prefix/sbin/vamosd --config $prefix/etc/vamos/vamosd.conf
EXPECTED
sqlt_end
