#!/usr/bin/env bash
# Scans of a table many times larger than vamosd's rings finish, with the
# default ring size and with the smallest one vamosd accepts, and writes
# go through on the smallest: a READ's reply, sized to fit a ring, finds
# room once the client has read past what came before it (padding at the
# ring's end included), and so does a request. Rows of varied sizes, so
# that records differ in size and land anywhere in the ring.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
SQLT_VM_OPTIONS=channels=4,vectors=4 sqlt_start # vamosd's default ring size

rows=30000 # about 3.5 MB: over 12 times the default 256 KiB ring
sql "CREATE TABLE s (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(200) NOT NULL,
	KEY kk (k)) ENGINE=$E"
sql "INSERT INTO s SELECT seq, seq % 101, REPEAT(CHAR(97 + seq % 26), 40 + seq % 97)
	FROM seq_1_to_$rows"
# The expected figures, computed from the generator rather than the table.
expected=$(sql "SELECT COUNT(*), SUM(seq), SUM(CRC32(REPEAT(CHAR(97 + seq % 26), 40 + seq % 97)))
	FROM seq_1_to_$rows")
scans="SELECT COUNT(*), SUM(id), SUM(CRC32(pad)) FROM s IGNORE INDEX (kk);
	SELECT COUNT(*), SUM(id), SUM(CRC32(pad)) FROM s FORCE INDEX (kk) WHERE k >= 0;
	SELECT COUNT(*), SUM(id), SUM(CRC32(pad)) FROM
		(SELECT id, pad FROM s IGNORE INDEX (kk) ORDER BY id DESC LIMIT $rows) d"

check default-ring "$scans" <<EOF
$expected
$expected
$expected
EOF

# The smallest ring vamosd accepts.
VAMOSD_VM_OPTIONS=channels=4,vectors=4,ring_bytes=4096 vamosd_restart "$V" TERM
check smallest-ring "$scans" <<EOF
$expected
$expected
$expected
EOF
# Writes on it too: batches of rows as large as its requests allow.
sql "INSERT INTO s SELECT seq, seq % 101, REPEAT('w', 40 + seq % 97)
	FROM seq_$((rows + 1))_to_$((rows + 3000))"
sql "UPDATE s SET pad = REPEAT('u', 40 + id % 97) WHERE id > $rows"
check smallest-ring-writes "SELECT COUNT(*), SUM(id), SUM(CRC32(pad)) FROM s IGNORE INDEX (kk)
	WHERE id > $rows" <<EOF
$(sql "SELECT COUNT(*), SUM(seq), SUM(CRC32(REPEAT('u', 40 + seq % 97)))
	FROM seq_$((rows + 1))_to_$((rows + 3000))")
EOF

sqlt_end
