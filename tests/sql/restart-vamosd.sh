#!/usr/bin/env bash
# vamosd stopped (SIGTERM) or killed (SIGKILL) and started again under a
# running mariadbd: committed rows are all there, and the same connection
# and new ones read and write again. With ENGINE=VAMOS, a transaction open
# when vamosd is killed cannot commit and leaves nothing behind.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE d (id INT PRIMARY KEY, k INT, s VARCHAR(30), KEY kk (k), KEY ks (s)) ENGINE=$E"
sql "INSERT INTO d SELECT seq, seq % 13, CONCAT('s', seq) FROM seq_1_to_3000"
sql "UPDATE d SET id = id + 10000 WHERE id <= 100"
sql "DELETE FROM d WHERE k = 5"
summary="SELECT COUNT(*), SUM(id), SUM(k), SUM(CRC32(s)) FROM d IGNORE INDEX (kk, ks);
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (kk) WHERE k >= 0;
	SELECT COUNT(*), SUM(id) FROM d FORCE INDEX (ks) WHERE s >= ''"
before=$(sql "$summary")

session_open s1
check_session s1-before s1 "SELECT COUNT(*) FROM d" <<'EOF'
2769
EOF

vamosd_restart "$V" TERM
check after-sigterm "$summary" <<<"$before"
check_session s1-after-sigterm s1 "SELECT COUNT(*) FROM d" <<'EOF'
2769
EOF
sql "INSERT INTO d VALUES (20000, 1, 'after-term')"

if [[ $E == VAMOS ]]; then
	check_session open-txn s1 "BEGIN; INSERT INTO d VALUES (99999, 1, 'uncommitted');
		SELECT COUNT(*) FROM d WHERE id = 99999" <<'EOF'
1
EOF
fi
vamosd_restart "$V" KILL
if [[ $E == VAMOS ]]; then
	check_text commit-fails "$(session s1 "COMMIT" | cut -c1-5)" <<'EOF'
ERROR
EOF
fi
# One more row: (20000, 1, 'after-term').
check after-sigkill "$summary; SELECT s FROM d WHERE id >= 20000" <<EOF
$(echo "$before" | awk -F'\t' -v OFS='\t' -v crc="$(sql "SELECT CRC32('after-term')")" '
	{ $1++; $2 += 20000 } NR == 1 { $3++; $4 += crc } { print }')
after-term
EOF
check_session s1-after-sigkill s1 "SELECT COUNT(*) FROM d" <<'EOF'
2770
EOF
session_close s1

# mariadbd shutting down while vamosd is gone: its VAMOS tables' handles
# went with vamosd, so closing them sends nothing and tries no re-attach.
# It did re-attach, table after table, each waiting out its connect
# deadline (minutes for a server with many tables open). A listener on
# vamosd's socket counts every connection mariadbd tries meanwhile.
if [[ $E == VAMOS ]]; then
	for n in 1 2 3 4; do sql "CREATE TABLE s$n (id INT PRIMARY KEY) ENGINE=$E; INSERT INTO s$n VALUES ($n)"; done
	check_text tables-open "$(sql "SELECT (SELECT id FROM s1) + (SELECT id FROM s2) + (SELECT id FROM s3) + (SELECT id FROM s4)")" <<'EOF'
10
EOF
	shutdowns=$(grep -c 'mariadbd: Shutdown complete$' "$M/error.log" || true)
	vamosd_stop "$V" KILL
	# The statement that finds vamosd gone (its error is expected).
	sql "SELECT COUNT(*) FROM s1" >/dev/null 2>&1 || true
	sock=$V/vm1.sock
	[[ ${SQLT_TRANSPORT:-local} == unix ]] && sock=$V/vm1.stream
	rm -f "$sock"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(64); s.settimeout(1.0)
print("listening", flush=True)
n = 0
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    n += 1
    open(sys.argv[2], "w").write(str(n))
    c.close()
' "$sock" "$W/connects" >"$W/listener.out" 2>&1 &
	listener=$!
	until grep -q listening "$W/listener.out" 2>/dev/null; do sleep 0.05; done
	mdb_stop "$M"
	kill "$listener" 2>/dev/null || true
	wait "$listener" 2>/dev/null || true
	rm -f "$sock"
	check_text shutdown-tries-no-attach "connects $(cat "$W/connects" 2>/dev/null || echo 0), shutdowns $(($(grep -c 'mariadbd: Shutdown complete$' "$M/error.log") - shutdowns))" <<'EOF'
connects 0, shutdowns 1
EOF
fi

sqlt_end
