#!/usr/bin/env bash
# AUTO_INCREMENT between connections, and where the column may stand.
# Concurrent: a connection inserts into an AUTO_INCREMENT table and keeps
# its transaction open; another inserts into the same table and commits,
# with a 1 s lock wait that must not run out (values are reserved under a
# short lock, never one held until the first transaction ends, as InnoDB's
# innodb_autoinc_lock_mode=1); the values never repeat and a rollback
# leaves a gap. (vamosd's own lock wait is an hour: a wait that ignored the
# session would hang instead, a different failure.)
# Key shapes, against InnoDB as the oracle: the column may be a later part
# of a key as long as it leads some key (numbered table-wide, not per
# group as MyISAM does); leading no key is refused with InnoDB's error.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
SQLT_VAMOSD_ARGS="--mysql-lock-wait-ms 3600000" sqlt_start

sql "CREATE TABLE c (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v CHAR(4)) ENGINE=$E"
session_open s1
session_open s2
wait_var=innodb_lock_wait_timeout
[[ $E != VAMOS ]] || wait_var=vamos_lock_wait_timeout
for s in s1 s2; do session "$s" "SET SESSION $wait_var = 1" >/dev/null; done

check_session open-insert s1 "BEGIN; INSERT INTO c (v) VALUES ('a1'); SELECT LAST_INSERT_ID()" <<'EOF2'
1
EOF2
check_session other-inserts-without-waiting s2 "INSERT INTO c (v) VALUES ('b1'), ('b2'); SELECT LAST_INSERT_ID()" <<'EOF2'
2
EOF2
check_session other-in-a-transaction-too s2 "BEGIN; INSERT INTO c (v) VALUES ('b3'); COMMIT; SELECT id, v FROM c ORDER BY id" <<'EOF2'
2	b1
3	b2
4	b3
EOF2
check_session first-goes-on s1 "INSERT INTO c (v) VALUES ('a2'); COMMIT; SELECT id, v FROM c ORDER BY id" <<'EOF2'
1	a1
2	b1
3	b2
4	b3
5	a2
EOF2
check_session rollback-leaves-a-gap s1 "BEGIN; INSERT INTO c (v) VALUES ('x'); ROLLBACK; INSERT INTO c (v) VALUES ('a3'); SELECT id, v FROM c WHERE id > 5" <<'EOF2'
7	a3
EOF2
session_close s1
session_close s2

# $1 engine: the shapes, each statement's output or error.
shapes() {
	local engine=$1
	cat <<SQL
CREATE TABLE k1 (grp INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, v INT, PRIMARY KEY (grp, id), KEY (id)) ENGINE=$engine;
INSERT INTO k1 (grp, v) VALUES (1, 1), (2, 2), (1, 3);
INSERT INTO k1 VALUES (2, NULL, 4), (1, 10, 5), (3, NULL, 6);
INSERT INTO k1 (grp, v) VALUES (1, 7);
INSERT INTO k1 (grp, v) SELECT grp + 10, v + 10 FROM k1 WHERE grp < 3 ORDER BY grp, id;
SELECT ROW_COUNT(), LAST_INSERT_ID();
REPLACE INTO k1 VALUES (1, 1, 100), (4, NULL, 101);
SELECT ROW_COUNT(), LAST_INSERT_ID();
SELECT * FROM k1 ORDER BY grp, id;
SELECT * FROM k1 WHERE id = 11;
SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'k1';
CREATE TABLE k2 (a INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, KEY (a, id)) ENGINE=$engine;
CREATE TABLE k3 (a INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (a, id)) ENGINE=$engine;
CREATE TABLE k4 (a INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, b INT, PRIMARY KEY (a, id), UNIQUE KEY (id)) ENGINE=$engine;
INSERT INTO k4 (a, b) VALUES (5, 1), (5, 2), (4, 3);
INSERT INTO k4 (a, id, b) VALUES (6, 2, 4);
SELECT * FROM k4 ORDER BY id;
CREATE TABLE k5 (id INT NOT NULL AUTO_INCREMENT, a INT, KEY (a, id), KEY (id)) ENGINE=$engine;
INSERT INTO k5 (a) VALUES (1), (1), (2);
SELECT * FROM k5 ORDER BY id;
SELECT id FROM k5 WHERE a = 1 ORDER BY id DESC;
SQL
}
sql "CREATE DATABASE o; CREATE DATABASE e"
for side in o e; do
	engine=$E
	[[ $side == o ]] && engine=InnoDB
	shapes "$engine" | mdb_client "$M" --batch --skip-column-names --force --unbuffered \
		--skip-print-query-on-error "$side" >"$W/shapes.$side" 2>&1 || true
done
check_same key-shapes "$(sed 's/ at line [0-9]*//' "$W/shapes.o")" "$(sed 's/ at line [0-9]*//' "$W/shapes.e")"
# Not vacuous: InnoDB numbered the rows and refused the shapes it refuses.
check_text oracle-ran "$(grep -c -e '^ERROR 1075' "$W/shapes.o"; grep -c '^1	12	7$' "$W/shapes.o")" <<'EOF2'
2
1
EOF2

sqlt_end
