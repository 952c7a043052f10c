#!/usr/bin/env bash
# A 16 MiB LONGBLOB round trip on vamosd's default 256 KiB rings, far
# larger than one channel record: the INSERT's WRITE and the UPDATE's
# request go to vamosd in pieces, and every read of the row (a point
# select, a scan, the UPDATE's own read as the writer) comes back in
# pieces. Compared by LENGTH and MD5 with the same value computed by
# mariadbd alone. Also rows on either side of a record's size in one
# table, so that a scan batch holds small rows, then a huge one alone.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
SQLT_VM_OPTIONS=channels=4,vectors=4 sqlt_start # vamosd's default ring size
mdb_client "$M" -e "SET GLOBAL max_allowed_packet = 64 * 1024 * 1024"

# 16 MiB of varied bytes: a 64-byte hash repeated.
big="REPEAT(UNHEX(SHA2('first', 512)), 262144)"
big2="REPEAT(UNHEX(SHA2('second', 512)), 262144)"
sql "CREATE TABLE b (id INT PRIMARY KEY, v LONGBLOB, n INT) ENGINE=$E"
sql "INSERT INTO b VALUES (1, $big, 1)"
expected=$(sql "SELECT LENGTH(x), MD5(x) FROM (SELECT $big x) d")
check insert-select "SELECT LENGTH(v), MD5(v) FROM b WHERE id = 1" <<EOF
$expected
EOF

# The UPDATE reads the row as the writer, then writes it back in pieces.
sql "UPDATE b SET v = $big2, n = 2 WHERE id = 1"
expected2=$(sql "SELECT LENGTH(x), MD5(x) FROM (SELECT $big2 x) d")
check update "SELECT LENGTH(v), MD5(v), n FROM b WHERE id = 1" <<EOF
$expected2	2
EOF
sql "UPDATE b SET n = 3 WHERE id = 1" # the big row read and rewritten as it is
check update-other-column "SELECT LENGTH(v), MD5(v), n FROM b" <<EOF
$expected2	3
EOF

# Small rows around the big one, read by scans both ways; a row that only
# just exceeds a record.
sql "INSERT INTO b SELECT seq, REPEAT('s', 100), seq FROM seq_2_to_50"
sql "INSERT INTO b VALUES (0, REPEAT('m', 300000), 0)"
sql "INSERT INTO b VALUES (51, $big, 51)"
check scans "SELECT COUNT(*), SUM(LENGTH(v)), MD5(GROUP_CONCAT(MD5(v) ORDER BY id)) FROM b;
	SELECT id, LENGTH(v) FROM b ORDER BY id DESC LIMIT 3" <<EOF
$(sql "SELECT 52, 2 * 16777216 + 49 * 100 + 300000, MD5(GROUP_CONCAT(h ORDER BY i)) FROM (
	SELECT 0 i, MD5(REPEAT('m', 300000)) h UNION ALL SELECT 1, MD5($big2) UNION ALL
	SELECT seq, MD5(REPEAT('s', 100)) FROM seq_2_to_50 UNION ALL SELECT 51, MD5($big)) d")
51	16777216
50	100
49	100
EOF

# In a transaction that rolls back, and after it.
sql "BEGIN; UPDATE b SET v = $big WHERE id = 1; ROLLBACK"
check rolled-back "SELECT LENGTH(v), MD5(v) FROM b WHERE id = 1" <<EOF
$expected2
EOF
sql "DELETE FROM b WHERE id IN (1, 51)"
check deleted "SELECT COUNT(*), MAX(LENGTH(v)) FROM b" <<EOF
50	300000
EOF

sqlt_end
