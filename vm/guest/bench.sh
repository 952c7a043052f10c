#!/bin/sh
# Guest half of `bench/run vm` (bench/vm/switches.sh boots the guest with a
# virtio-blk disk on /dev/vda and runs this):
#
#   /vamos/bench.sh ROWS POINTS SCANS INSERTS BUFFER_POOL
#
# One mariadbd whose data directory is on the ext4 disk /dev/vda holds two
# copies of the same sysbench-style table: sbtest_vamos (ENGINE=VAMOS, rows
# kept by vamosd on the host) and sbtest_innodb (ENGINE=InnoDB, pages on the
# virtio-blk disk, buffer pool BUFFER_POOL, O_DIRECT). Both are loaded, then
# mariadbd is restarted and the guest's page cache dropped so that InnoDB
# starts cold; then each engine runs POINTS point selects (random ids), SCANS
# full scans of all ROWS rows and INSERTS single-row autocommit inserts.
#
# After every phase the guest calls `phase NAME QUERIES BLK...` (lib.sh):
# the host reads vamosd's counters and QEMU's virtio trace, and BLK are the
# guest's own virtio-blk counts for cross-checking: interrupts taken (the
# vda device's *-req lines of /proc/interrupts) and /sys/block/vda/stat's
# reads, writes and flushes completed.
# shellcheck source=lib.sh
. /vamos/lib.sh
rows=${1:-100000} points=${2:-1000} scans=${3:-3} inserts=${4:-1000} pool=${5:-8M}
for n in "$rows" "$points" "$scans" "$inserts"; do
	case $n in '' | *[!0-9]*) fail "ROWS POINTS SCANS INSERTS must be numbers" ;; esac
done
[ "$rows" -ge 1000 ] || fail "ROWS must be at least 1000"

disk=/mnt/disk
datadir=$disk/mysql

# Which virtio device is vda (virtioN): its interrupt lines are virtioN-req.Q.
[ -b /dev/vda ] || fail "no /dev/vda (the host attaches the disk with virtio-blk-pci)"
vdev=$(basename "$(readlink /sys/block/vda/device)")
case $vdev in virtio[0-9]*) ;; *) fail "/sys/block/vda/device is '$vdev', not a virtio device" ;; esac

# "IRQS READS WRITES FLUSHES" of vda, as the guest counts them.
blk_counts() {
	irqs=$(awk -v d="$vdev-req" 'index($NF, d) == 1 {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)
	# stat (Documentation/block/stat.rst): 1 reads completed, 5 writes
	# completed, 16 flushes completed.
	# shellcheck disable=SC2046 # the fields are the arguments
	set -- $(cat /sys/block/vda/stat)
	echo "$irqs $1 $5 ${16:-0}"
}

# bphase NAME QUERIES: phase, with the guest's virtio-blk counts.
bphase() {
	# shellcheck disable=SC2046 # the counts are separate words
	phase "$1" "$2" $(blk_counts)
}

mkdir -p "$disk"
mount -t ext4 /dev/vda "$disk" || fail "mount /dev/vda failed"
rm -rf "$datadir"
cp -a /var/lib/mysql "$datadir" || fail "copying the data directory to $disk failed"

# The buffer pool is smaller than the data, as on a host where many guests
# share memory; O_DIRECT (also 10.11's default) keeps the guest's page cache
# out of InnoDB's reads; no buffer pool dump/load, so the restart below really
# starts cold. Everything else is MariaDB's default (doublewrite on,
# innodb_flush_log_at_trx_commit=1).
up() {
	mdb_up --datadir="$datadir" --innodb-buffer-pool-size="$pool" \
		--innodb-flush-method=O_DIRECT --innodb-buffer-pool-load-at-startup=OFF \
		--innodb-buffer-pool-dump-at-shutdown=OFF
}
up
echo "vamos-guest: mariadbd $(sql 'SELECT VERSION()'), datadir $(sql 'SELECT @@datadir') on $(
	awk -v m="$disk" '$2 == m { print $1, $3 }' /proc/mounts), innodb_buffer_pool_size=$(
	sql 'SELECT @@innodb_buffer_pool_size'), innodb_flush_method=$(sql 'SELECT @@innodb_flush_method')"

for e in vamos innodb; do
	sql "DROP TABLE IF EXISTS sbtest_$e;
CREATE TABLE sbtest_$e (id INT UNSIGNED NOT NULL PRIMARY KEY, k INT UNSIGNED NOT NULL,
  c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k (k)) ENGINE=$e" ||
		fail "CREATE TABLE ... ENGINE=$e failed"
	# One statement; sysbench's row shape (c 120 chars, pad 60).
	sql "INSERT INTO sbtest_$e SELECT seq, (seq * 7919) % $rows + 1,
  LEFT(CONCAT(LPAD(seq, 11, '0'), '-', SHA2(seq, 512)), 119), LEFT(SHA2(seq + 1, 256), 59)
  FROM seq_1_to_$rows" || fail "loading $rows rows into sbtest_$e failed"
done
echo "vamos-guest: loaded $rows rows into each table; sbtest_innodb.ibd is $(
	wc -c <"$datadir/vamos/sbtest_innodb.ibd") bytes"
# Cold start: InnoDB's pages leave the buffer pool, ext4's metadata and the
# .frm files leave the page cache.
mdb_down
sync
echo 3 >/proc/sys/vm/drop_caches
up
bphase load 0

for e in vamos innodb; do
	t=sbtest_$e
	awk -v n="$points" -v r="$rows" -v t="$t" 'BEGIN { srand(42)
		for (i = 0; i < n; i++) printf "SELECT c FROM %s WHERE id = %d;\n", t, int(rand() * r) + 1 }' |
		sql_file >/tmp/point.out || fail "$e: point selects failed"
	[ "$(wc -l </tmp/point.out)" -eq "$points" ] ||
		fail "$e: point selects returned $(wc -l </tmp/point.out) rows, not $points"
	bphase "${e}_point_select" "$points"

	# SUM(LENGTH(c)) needs every row, so InnoDB reads the clustered index
	# rather than counting the smaller secondary one.
	i=0
	while [ "$i" -lt "$scans" ]; do
		echo "SELECT COUNT(*), SUM(LENGTH(c)) FROM $t;"
		i=$((i + 1))
	done | sql_file >/tmp/scan.out || fail "$e: full scans failed"
	[ "$(cut -f1 /tmp/scan.out | sort -u)" = "$rows" ] ||
		fail "$e: full scans counted $(cut -f1 /tmp/scan.out | sort -u | tr '\n' ' ')rows, not $rows"
	bphase "${e}_full_scan" "$scans"

	awk -v n="$inserts" -v r="$rows" -v t="$t" 'BEGIN { srand(7)
		for (i = 1; i <= n; i++)
			printf "INSERT INTO %s VALUES (%d, %d, SHA2(%d, 384), SHA2(%d, 224));\n",
				t, r + i, int(rand() * r) + 1, i, i }' |
		sql_file || fail "$e: inserts failed"
	if [ "$e" = innodb ]; then
		# The inserts' dirty pages are written back later in the
		# background; count that I/O here, where it was caused: have the
		# page cleaner flush everything now and wait until it has.
		sql "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0; SET GLOBAL innodb_max_dirty_pages_pct = 0"
		i=0
		while :; do
			d=$(sql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
				WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'")
			[ "$d" = 0 ] && break
			i=$((i + 1))
			[ "$i" -lt 600 ] || fail "innodb: $d pages still dirty after 60 s"
			sleep 0.1
		done
		echo "vamos-guest: innodb: dirty pages written back after the inserts (${i} polls)"
	fi
	bphase "${e}_insert" "$inserts"
	# Checked after the phase, so that it is not counted.
	got=$(sql "SELECT COUNT(*) FROM $t WHERE id > $rows")
	[ "$got" = "$inserts" ] || fail "$e: $got rows inserted, not $inserts"
done

echo "vamos-guest: $(sql 'SHOW STATUS LIKE "Vamos%"' | tr '\t\n' '= ')"
echo "vamos-guest: $(sql "SHOW STATUS WHERE Variable_name IN ('Innodb_data_reads',
  'Innodb_data_writes', 'Innodb_data_fsyncs', 'Innodb_buffer_pool_reads')" | tr '\t\n' '= ')"
mdb_down
umount "$disk"
