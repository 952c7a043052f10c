#!/usr/bin/env bash
# Two-phase commit: XA transactions on VAMOS tables behave as on InnoDB's
# (XA PREPARE, COMMIT, ROLLBACK, XA RECOVER, a prepared transaction
# committed from another connection after its own disconnected, one XA
# transaction over both engines, one that survives mariadbd's kill), and
# with the binary log on, mariadbd killed during a stream of commits: after
# its restart every transaction is in both the binlog and the tables, or in
# neither.
SQLT_MARIADB_ARGS="--log-bin=binlog --binlog-format=STATEMENT --sync-binlog=1 ${SQLT_MARIADB_ARGS:-}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

sql "CREATE TABLE v (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=$E"
sql "CREATE TABLE i (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=InnoDB"

check engine-says-xa "SELECT XA FROM information_schema.ENGINES WHERE ENGINE = '$E'" <<'END'
YES
END

# The same XA statements on each engine give the same answers.
for tb in v i; do
	check "commit-$tb" "XA START 'a$tb'; INSERT INTO $tb VALUES (1, 'one'); XA END 'a$tb';
		XA PREPARE 'a$tb'; XA COMMIT 'a$tb'; SELECT * FROM $tb" <<'END'
1	one
END
	check "rollback-$tb" "XA START 'b$tb'; INSERT INTO $tb VALUES (2, 'two');
		UPDATE $tb SET s = 'uno' WHERE id = 1; XA END 'b$tb'; XA PREPARE 'b$tb';
		XA ROLLBACK 'b$tb'; SELECT * FROM $tb" <<'END'
1	one
END
	check "one-phase-$tb" "XA START 'c$tb'; INSERT INTO $tb VALUES (3, 'three'); XA END 'c$tb';
		XA COMMIT 'c$tb' ONE PHASE; SELECT * FROM $tb" <<'END'
1	one
3	three
END
done

# The connection id of session $1.
conn_id() { session "$1" "SELECT CONNECTION_ID()"; }
# Wait until connection $1 is gone from the server (its XA transaction
# detached); a hang guard only, never a verdict.
wait_gone() {
	local n
	for n in $(seq 1 1200); do
		[[ $(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = $1") == 0 ]] &&
			return 0
		sleep 0.05
	done
	fail "connection $1 did not end"
}

# Prepared, then its connection goes away: XA RECOVER lists it, its rows
# stay invisible and locked, and another connection commits (or rolls back)
# it. Over both engines at once.
session_open s1
id1=$(conn_id s1)
check_session prepare-both s1 "XA START 'both'; INSERT INTO v VALUES (10, 'ten');
	INSERT INTO i VALUES (10, 'ten'); XA END 'both'; XA PREPARE 'both'" <<<""
session_close s1
wait_gone "$id1"
session_open s2
id2=$(conn_id s2)
check_session prepare-v s2 "XA START 'vonly'; DELETE FROM v WHERE id = 1; XA END 'vonly';
	XA PREPARE 'vonly'" <<<""
session_close s2
wait_gone "$id2"
check_text recover "$(sql "XA RECOVER" | sort)" <<'END'
1	4	0	both
1	5	0	vonly
END
check invisible "SELECT * FROM v; SELECT * FROM i" <<'END'
1	one
3	three
1	one
3	three
END
wait1="SET SESSION innodb_lock_wait_timeout = 1;"
[[ $E == VAMOS ]] && wait1+=" SET SESSION vamos_lock_wait_timeout = 1;"
check locked "$wait1
	INSERT INTO v VALUES (10, 'x')" <<'END'
ERROR 1205 (HY000) at line 2: Lock wait timeout exceeded; try restarting transaction
END
check commit-elsewhere "XA COMMIT 'both'; XA ROLLBACK 'vonly'; XA RECOVER;
	SELECT * FROM v; SELECT * FROM i" <<'END'
1	one
3	three
10	ten
1	one
3	three
10	ten
END

# A prepared transaction survives mariadbd's kill too (XA RECOVER after the
# restart lists it), and is committed then.
session_open s3
check_session prepare-kill s3 "XA START 'k'; INSERT INTO v VALUES (20, 'twenty');
	INSERT INTO i VALUES (20, 'twenty'); XA END 'k'; XA PREPARE 'k'" <<<""
mdb_stop "$M" kill
session_close s3
mdb_restart "$M"
check recover-after-kill "XA RECOVER; SELECT COUNT(*) FROM v WHERE id = 20" <<'END'
1	1	0	k
0
END
check commit-after-kill "XA COMMIT 'k'; SELECT * FROM v WHERE id = 20;
	SELECT * FROM i WHERE id = 20" <<'END'
20	twenty
20	twenty
END

# vamosd restarted between XA PREPARE and XA COMMIT: it kept the prepared
# transaction (from its WAL), and the connection commits it by its XID.
session_open s4
check_session prepare-restart s4 "XA START 'r'; INSERT INTO v VALUES (30, 'thirty');
	XA END 'r'; XA PREPARE 'r'" <<<""
vamosd_restart "$V"
check_session commit-after-vamosd-restart s4 "XA COMMIT 'r'; SELECT * FROM v WHERE id = 30" <<'END'
30	thirty
END
session_close s4

# The binlog's two-phase commit: a stream of transactions over both engines,
# mariadbd killed while it runs. Whatever the kill interrupted, after the
# restart the binlog's committed transactions are exactly the tables' rows.
sql "CREATE TABLE sv (id INT PRIMARY KEY) ENGINE=$E"
sql "CREATE TABLE si (id INT PRIMARY KEY) ENGINE=InnoDB"
for n in $(seq 1 20000); do
	echo "BEGIN; INSERT INTO sv VALUES ($n); INSERT INTO si VALUES ($n); COMMIT;"
done >"$W/stream.sql"
mdb_client "$M" t <"$W/stream.sql" >/dev/null 2>&1 &
stream=$!
for n in $(seq 1 6000); do
	(($(sql "SELECT COUNT(*) FROM si") >= 300)) && break
	sleep 0.05
done
mdb_stop "$M" kill
wait "$stream" || true
mdb_restart "$M"
# The binlog's transactions that reached their COMMIT (the Xid event).
binlogged=$(mariadb-binlog "$M"/data/binlog.[0-9]* 2>/dev/null | awk '
	/^INSERT INTO sv VALUES \(/ { match($0, /[0-9]+/); pending = substr($0, RSTART, RLENGTH) }
	/^COMMIT\/\*!\*\/;/ { if (pending != "") print pending; pending = "" }' | sort -n)
rows_v=$(sql "SELECT id FROM sv ORDER BY id")
rows_i=$(sql "SELECT id FROM si ORDER BY id")
check_text some-committed "$( (($(wc -l <<<"$binlogged") >= 300)) && echo yes)" <<<"yes"
check_same "binlog-vs-$E" "$binlogged" "$rows_v"
check_same binlog-vs-InnoDB "$binlogged" "$rows_i"
check nothing-prepared-left "XA RECOVER" <<<""

sqlt_end
