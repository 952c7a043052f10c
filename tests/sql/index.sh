#!/usr/bin/env bash
# Reads by full scan, primary key, secondary index (two-part too) and ranges
# in both directions; EXPLAIN must show the index, and ORDER BY on an index
# must not sort.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

# 2000 rows; a = id % 10, b = id % 7, c = 'c' || id zero-padded.
sql "CREATE TABLE r (id INT PRIMARY KEY, a INT NOT NULL, b INT, c CHAR(8),
	KEY ka (a), KEY kab (a, b), KEY kc (c)) ENGINE=$E"
sql "INSERT INTO r SELECT seq, seq % 10, seq % 7, CONCAT('c', LPAD(seq, 5, '0'))
	FROM seq_1_to_2000"
sql "ANALYZE TABLE r" >/dev/null

check scan "SELECT COUNT(*), SUM(id), SUM(a), SUM(b) FROM r IGNORE INDEX (ka, kab, kc)" <<'EOF'
2000	2001000	9000	6000
EOF
check pk-point "SELECT * FROM r WHERE id = 1234" <<'EOF'
1234	4	2	c01234
EOF
check pk-missing "SELECT * FROM r WHERE id = 2001" <<'EOF'
EOF
check_plan pk-point-plan "SELECT * FROM r WHERE id = 1234" <<'EOF'
key=PRIMARY filesort=no
EOF
check pk-range "SELECT id FROM r WHERE id BETWEEN 998 AND 1003" <<'EOF'
998
999
1000
1001
1002
1003
EOF
check pk-range-open "SELECT id FROM r WHERE id > 1996" <<'EOF'
1997
1998
1999
2000
EOF
check pk-range-below "SELECT id FROM r WHERE id < 4" <<'EOF'
1
2
3
EOF
check_plan pk-range-plan "SELECT id, c FROM r WHERE id BETWEEN 998 AND 1003" <<'EOF'
key=PRIMARY filesort=no
EOF
check pk-desc "SELECT id FROM r WHERE id <= 1003 ORDER BY id DESC LIMIT 3" <<'EOF'
1003
1002
1001
EOF
check_plan pk-desc-plan "SELECT id, c FROM r WHERE id <= 1003 ORDER BY id DESC LIMIT 3" <<'EOF'
key=PRIMARY filesort=no
EOF
check pk-min-max "SELECT MIN(id), MAX(id) FROM r" <<'EOF'
1	2000
EOF

check secondary-eq "SELECT COUNT(*), MIN(id), MAX(id) FROM r WHERE a = 3" <<'EOF'
200	3	1993
EOF
check_plan secondary-eq-plan "SELECT * FROM r WHERE a = 3" <<'EOF'
key=ka filesort=no
EOF
check secondary-two-part "SELECT id FROM r WHERE a = 3 AND b = 5 ORDER BY id LIMIT 4" <<'EOF'
33
103
173
243
EOF
check_plan secondary-two-part-plan "SELECT * FROM r WHERE a = 3 AND b = 5" <<'EOF'
key=kab filesort=no
EOF
check secondary-prefix-range "SELECT a, b, COUNT(*) FROM r WHERE a = 3 AND b BETWEEN 2 AND 4 GROUP BY a, b" <<'EOF'
3	2	29
3	3	29
3	4	28
EOF
check secondary-string "SELECT id, c FROM r WHERE c >= 'c01998'" <<'EOF'
1998	c01998
1999	c01999
2000	c02000
EOF
check_plan secondary-string-plan "SELECT id, c FROM r WHERE c >= 'c01998'" <<'EOF'
key=kc filesort=no
EOF
check secondary-like "SELECT id FROM r WHERE c LIKE 'c0150%'" <<'EOF'
1500
1501
1502
1503
1504
1505
1506
1507
1508
1509
EOF
check secondary-in "SELECT id FROM r WHERE c IN ('c00007', 'c00500', 'nope') ORDER BY c" <<'EOF'
7
500
EOF

# ORDER BY served by the index, both directions, with and without a range.
check order-asc "SELECT c FROM r ORDER BY c LIMIT 3" <<'EOF'
c00001
c00002
c00003
EOF
check_plan order-asc-plan "SELECT c FROM r FORCE INDEX (kc) ORDER BY c LIMIT 3" <<'EOF'
key=kc filesort=no
EOF
check order-desc "SELECT id, c FROM r ORDER BY c DESC LIMIT 3" <<'EOF'
2000	c02000
1999	c01999
1998	c01998
EOF
check_plan order-desc-plan "SELECT id, c FROM r FORCE INDEX (kc) ORDER BY c DESC LIMIT 3" <<'EOF'
key=kc filesort=no
EOF
check order-two-part "SELECT a, b, id FROM r WHERE a = 7 ORDER BY b DESC, id DESC LIMIT 4" <<'EOF'
7	6	1987
7	6	1917
7	6	1847
7	6	1777
EOF
check_plan order-two-part-plan "SELECT a, b, id FROM r WHERE a = 7 ORDER BY b DESC LIMIT 4" <<'EOF'
key=kab filesort=no
EOF
check order-range "SELECT id FROM r WHERE id > 1500 ORDER BY id DESC LIMIT 2" <<'EOF'
2000
1999
EOF
# The last row of a group and the one before a value (key-or-prev / before-key reads).
check max-in-group "SELECT MAX(b) FROM r WHERE a = 4" <<'EOF'
6
EOF
check prev-key "SELECT MAX(c) FROM r WHERE c < 'c01000'" <<'EOF'
c00999
EOF

# A point read on the whole primary key, then on from there (HANDLER's
# reads are the handler's own: an exact read, then next and previous).
check handler-point-then-next "HANDLER r OPEN; HANDLER r READ \`PRIMARY\` = (1234);
	HANDLER r READ \`PRIMARY\` NEXT; HANDLER r READ \`PRIMARY\` NEXT; HANDLER r CLOSE" <<'EOF'
1234	4	2	c01234
1235	5	3	c01235
1236	6	4	c01236
EOF
check handler-point-then-prev "HANDLER r OPEN; HANDLER r READ \`PRIMARY\` = (1234);
	HANDLER r READ \`PRIMARY\` PREV; HANDLER r CLOSE" <<'EOF'
1234	4	2	c01234
1233	3	1	c01233
EOF
check handler-missing-then-next "HANDLER r OPEN; HANDLER r READ \`PRIMARY\` = (2001);
	HANDLER r READ \`PRIMARY\` = (2000); HANDLER r READ \`PRIMARY\` NEXT; HANDLER r CLOSE" <<'EOF'
2000	0	5	c02000
EOF

# A join through the secondary index.
sql "CREATE TABLE names (a INT PRIMARY KEY, name VARCHAR(10)) ENGINE=$E"
sql "INSERT INTO names VALUES (0,'zero'),(1,'one'),(2,'two'),(3,'three')"
check join "SELECT n.name, COUNT(*) FROM names n JOIN r ON r.a = n.a GROUP BY n.name ORDER BY n.name" <<'EOF'
one	200
three	200
two	200
zero	200
EOF

sqlt_end
