#!/usr/bin/env bash
# Scans with a READ in flight ahead of them give what InnoDB gives: full
# scans of a table many batches long (small rings: a batch is at most half
# a channel record), ranges forward and backward on the primary and a
# secondary key, a LIMIT that ends a scan inside a batch followed by more
# statements on the same connection, scans a subquery abandons part way, a
# scan inside a transaction that wrote and then rolls back, and a
# REPEATABLE READ scan while another connection writes the table. The same
# script runs on an InnoDB table and on the engine's; their outputs must
# match; also with rows larger than a record among small ones (a READ
# ahead then brings one in pieces). On VAMOS, the status counters prove
# READs went ahead (and were thrown away where a scan ended early), and
# that locking reads and point reads send none.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
# 64 KiB rings: replies of at most 32 KiB, so a scan takes dozens of READs.
SQLT_VM_OPTIONS=channels=4,vectors=4,ring_bytes=64K sqlt_start

rows=20000
# A row's text, from its id: sizes vary, so batches end anywhere.
pad="REPEAT(CHAR(97 + seq % 26), 20 + seq % 61)"
for tb in ti te; do
	engine=$E
	[[ $tb == ti ]] && engine=InnoDB
	sql "CREATE TABLE $tb (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(100) NOT NULL,
		KEY kk (k)) ENGINE=$engine;
		INSERT INTO $tb SELECT seq, seq % 97, $pad FROM seq_1_to_$rows"
done
sql "CREATE TABLE marks (id INT PRIMARY KEY) ENGINE=InnoDB;
	INSERT INTO marks VALUES (3000), (7777), (12345), (19999)"

# Every row of a query, in its order, as one checksum line.
digest() {
	sql "$1" | md5sum | cut -d' ' -f1
}

# The statements, on table $1; each output line names its query.
scans() {
	local t=$1
	echo "full $(digest "SELECT id, k, pad FROM $t IGNORE INDEX (kk)")"
	echo "full-kk $(digest "SELECT id, k, pad FROM $t FORCE INDEX (kk) WHERE k >= 0 ORDER BY k, id")"
	echo "range $(digest "SELECT id, pad FROM $t WHERE id BETWEEN 1500 AND 17000 ORDER BY id")"
	echo "range-desc $(digest "SELECT id, pad FROM $t WHERE id BETWEEN 1500 AND 17000 ORDER BY id DESC")"
	echo "range-kk $(digest "SELECT id, k FROM $t FORCE INDEX (kk) WHERE k BETWEEN 10 AND 80 ORDER BY k, id")"
	echo "range-kk-desc $(digest "SELECT id, k FROM $t FORCE INDEX (kk) WHERE k BETWEEN 10 AND 80
		ORDER BY k DESC, id DESC")"
	echo "all-desc $(digest "SELECT id, pad FROM $t ORDER BY id DESC")"
	# LIMIT ends each scan inside a batch; the next statements run on the
	# same connection and must find nothing of it left.
	echo "limits $(digest "SELECT id FROM $t IGNORE INDEX (kk) LIMIT 4321;
		SELECT COUNT(*), SUM(k) FROM $t WHERE id < 100;
		SELECT * FROM $t WHERE id = 4322;
		SELECT id FROM $t ORDER BY id DESC LIMIT 3333;
		SELECT id, k FROM $t FORCE INDEX (kk) WHERE k = 5 ORDER BY id LIMIT 3;
		SELECT COUNT(*) FROM $t IGNORE INDEX (kk)")"
	# A subquery scans until its first match and leaves the rest.
	echo "abandoned $(digest "SELECT m.id, (SELECT x.id FROM $t x IGNORE INDEX (kk)
		WHERE x.id + 0 >= m.id LIMIT 1) FROM marks m ORDER BY m.id;
		SELECT m.id FROM marks m WHERE EXISTS (SELECT 1 FROM $t x IGNORE INDEX (kk)
		WHERE x.id + 0 = m.id) ORDER BY m.id;
		SELECT COUNT(*), SUM(id) FROM $t")"
}

# A transaction that wrote, scanned (one scan left part way) and rolled
# back; then REPEATABLE READ scans while another connection writes.
txns() {
	local t=$1
	session s1 "BEGIN; UPDATE $t SET pad = 'changed' WHERE id IN (5, 9000, 19000);
		INSERT INTO $t VALUES ($((rows + 1)), 1, 'new')" >/dev/null
	echo "in-txn $(session s1 "SELECT id, k, pad FROM $t IGNORE INDEX (kk)" | md5sum | cut -d' ' -f1)"
	echo "in-txn-limit $(session s1 "SELECT id FROM $t LIMIT 6000" | md5sum | cut -d' ' -f1)"
	session s1 "ROLLBACK" >/dev/null
	echo "rolled-back $(session s1 "SELECT id, k, pad FROM $t IGNORE INDEX (kk)" | md5sum | cut -d' ' -f1)"
	session s1 "SET SESSION tx_isolation = 'REPEATABLE-READ'; BEGIN; SELECT COUNT(*) FROM $t" >/dev/null
	# s1's scan runs while s2 writes: whatever the interleaving, s1 sees
	# its snapshot.
	session_send s1 "SELECT id, k, pad FROM $t IGNORE INDEX (kk)"
	session s2 "UPDATE $t SET pad = 'moved' WHERE id % 7 = 0;
		DELETE FROM $t WHERE id % 11 = 0; INSERT INTO $t VALUES ($((rows + 2)), 2, 'late')" >/dev/null
	echo "snapshot $(session_recv s1 | md5sum | cut -d' ' -f1)"
	echo "snapshot-desc $(session s1 "SELECT id, pad FROM $t ORDER BY id DESC" | md5sum | cut -d' ' -f1)"
	session s1 "COMMIT" >/dev/null
	echo "after $(session s1 "SELECT id, k, pad FROM $t IGNORE INDEX (kk)" | md5sum | cut -d' ' -f1)"
}

status() {
	sql "SHOW GLOBAL STATUS LIKE '$1'" | cut -f2
}

# Rows larger than a channel record among small ones: a READ ahead may
# bring one alone, in pieces.
for tb in bi be; do
	engine=$E
	[[ $tb == bi ]] && engine=InnoDB
	sql "CREATE TABLE $tb (id INT PRIMARY KEY, b LONGBLOB NOT NULL) ENGINE=$engine;
		INSERT INTO $tb SELECT seq, IF(seq % 700 = 0, REPEAT(CHAR(65 + seq % 26), 300000),
			REPEAT(CHAR(97 + seq % 26), 30 + seq % 50)) FROM seq_1_to_5000"
done
check_same "large rows among small ones" \
	"$(digest "SELECT id, MD5(b) FROM bi; SELECT id, LENGTH(b) FROM bi ORDER BY id DESC")" \
	"$(digest "SELECT id, MD5(b) FROM be; SELECT id, LENGTH(b) FROM be ORDER BY id DESC")"

if [[ $E == VAMOS ]]; then
	ahead0=$(status Vamos_reads_ahead)
	dropped0=$(status Vamos_reads_ahead_discarded)
fi
innodb=$(scans ti)
engine=$(scans te)
check_same "scans, InnoDB's outputs" "$innodb" "$engine"
if [[ $E == VAMOS ]]; then
	ahead1=$(status Vamos_reads_ahead)
	dropped1=$(status Vamos_reads_ahead_discarded)
	sent=$((ahead1 - ahead0)) dropped=$((dropped1 - dropped0))
	# Dozens of READs went ahead; the LIMITs and the abandoned subqueries
	# threw a few away, and most were used.
	check_text reads-went-ahead "$((sent >= 40)) $((dropped >= 4)) $((dropped < sent))" <<EOF
1 1 1
EOF
	# Each of these ends inside its first two batches (a scan that has
	# not asked for a further batch is not likely to go on) or locks
	# rows: none goes ahead.
	before=$(status Vamos_reads_ahead)
	sql "SELECT * FROM te WHERE id = 77; SELECT * FROM te WHERE id BETWEEN 10 AND 12;
		SELECT * FROM te WHERE k = 3 LIMIT 2; SELECT COUNT(*) FROM te WHERE id < 70;
		BEGIN; SELECT COUNT(*) FROM te IGNORE INDEX (kk) FOR UPDATE; COMMIT;
		BEGIN; SELECT COUNT(*) FROM te IGNORE INDEX (kk) LOCK IN SHARE MODE; COMMIT;
		UPDATE te SET k = k WHERE id > 0" >/dev/null
	check_text no-read-ahead "$(($(status Vamos_reads_ahead) - before))" <<EOF
0
EOF
fi

session_open s1
session_open s2
innodb=$(txns ti)
engine=$(txns te)
check_same "transactions, InnoDB's outputs" "$innodb" "$engine"
# The snapshot scans saw the table as it was before s2 wrote, and the
# rolled-back one as it was at the start.
check_text snapshot-is-the-start "$(awk '$1 == "rolled-back" || $1 == "snapshot" { print $2 }' \
	<<<"$engine" | sort -u | wc -l)" <<EOF
1
EOF
session_close s1
session_close s2

sqlt_end
