#!/usr/bin/env bash
# Crash test: concurrent writers (single-row autocommit inserts, and
# three-row transactions) on vamosd's default rings while vamosd's worker
# is SIGKILLed again and again. Then, after the kills, after a clean
# restart of both servers, and after a kill -9 of everything: every
# acknowledged commit is there exactly once, nothing that failed is there,
# a transaction is there whole or not at all, and the table reads the same
# through its primary key and its secondary index. Prints its figures.
#
#   SQLT_CRASH_SECONDS   how long the worker keeps being killed (default 40)
#   SQLT_CRASH_WRITERS   writers, every other one transactional (default 16)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
SQLT_VM_OPTIONS=channels=4,vectors=4 sqlt_start # vamosd's default ring size
if [[ $E != VAMOS ]]; then
	check_text only-for-vamos "skipped" <<<"skipped"
	sqlt_end
fi
seconds=${SQLT_CRASH_SECONDS:-40}
writers=${SQLT_CRASH_WRITERS:-16}

sql "CREATE TABLE c (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, writer INT NOT NULL,
	seq INT NOT NULL, part INT NOT NULL, pad VARCHAR(100) NOT NULL,
	KEY ws (writer, seq, part)) ENGINE=$E"

# One attempt's SQL: writer N's number SEQ, as one autocommit row (odd N)
# or a transaction of three rows, each statement on a line of its own.
attempt_sql() {
	local n=$1 seq=$2 part
	if ((n % 2)); then
		printf "INSERT INTO c (writer, seq, part, pad) VALUES (%d, %d, 0, REPEAT('%d', 80));\n" \
			"$n" "$seq" "$((seq % 10))"
		return
	fi
	printf 'BEGIN;\n'
	for part in 1 2 3; do
		printf "INSERT INTO c (writer, seq, part, pad) VALUES (%d, %d, %d, REPEAT('%d', 80));\n" \
			"$n" "$seq" "$part" "$((seq % 10))"
	done
	printf 'COMMIT;\n'
}

# Each writer logs a line an attempt, "SEQ acked|failed|unknown": failed
# only where nothing can have landed (a transaction that failed before its
# COMMIT, line 5); a failed autocommit insert or COMMIT may have landed.
writer() {
	local n=$1 seq=0 out status
	while [[ ! -e $W/stop ]]; do
		seq=$((seq + 1))
		if out=$(attempt_sql "$n" "$seq" | mdb_client "$M" --batch t 2>&1); then
			status=acked
		elif ((n % 2)) || [[ $out == *"at line 5:"* ]]; then
			status=unknown
		else
			status=failed
		fi
		echo "$seq $status"
		[[ -z $out ]] || printf '%s: %s\n' "$seq" "$out" >>"$W/writer$n.err"
	done >"$W/writer$n.log"
}

acked_total() { cat "$W"/writer*.log | grep -c ' acked$' || true; }

# Wait until the writers have MORE acknowledged attempts than B (a hang
# guard ends the test if they never do: vamosd did not come back for them).
wait_acked() {
	local more=$1 b=$2 deadline=$((SECONDS + ${VAMOS_WAIT_SECONDS:-180}))
	until (($(acked_total) >= b + more)); do
		if ((SECONDS > deadline)); then
			touch "$W/stop"
			tail -n 3 "$W"/writer*.err >&2 || true
			fail "the writers got nothing through after vamosd's worker died"
		fi
		sleep 0.05
	done
}

pids=()
for ((n = 1; n <= writers; n++)); do
	writer "$n" &
	pids+=($!)
done

# The keeper gives up on a worker that dies 5 times in a row within 10 s
# of starting: kill it up to 3 times in a row, each time once the writers
# got something through, then let it live past 10 s (its next death then
# starts a new count).
kills=0
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
	for _ in 1 2 3; do
		wait_acked 1 "$(acked_total)"
		vamosd_kill_worker "$V"
		kills=$((kills + 1))
	done
	((SECONDS + 11 < end)) || break
	sleep 11
done
# And after the last death, they get through again.
wait_acked "$((writers * 2))" "$(acked_total)"
touch "$W/stop"
wait "${pids[@]}"

# The table as the writers' logs say it must be. Prints the figures, then
# one line per problem.
verify() {
	local stage=$1
	sql "SELECT writer, seq, part FROM c IGNORE INDEX (ws)" | sort >"$W/rows.$stage"
	sql "SELECT writer, seq, part FROM c FORCE INDEX (ws) WHERE writer >= 0" | sort \
		>"$W/rows-ws.$stage"
	cmp -s "$W/rows.$stage" "$W/rows-ws.$stage" ||
		echo "$stage: the secondary index does not match the rows"
	for ((n = 1; n <= writers; n++)); do
		sed "s/^/$n /" "$W/writer$n.log"
	done >"$W/attempts"
	awk -v stage="$stage" -v kills="$kills" -v figures="$W/figures.$stage" '
		FILENAME == ARGV[1] { status[$1 " " $2] = $3; next }
		{
			k = $1 " " $2
			rows[$0]++
			parts[k]++
			if (!(k in status)) stray++
		}
		END {
			acked = lost = dup = unknown = landed = failed = 0
			for (r in rows) if (rows[r] > 1) dup += rows[r] - 1
			for (k in status) {
				split(k, f, " ")
				want = f[1] % 2 ? 1 : 3
				have = k in parts ? parts[k] : 0
				if (status[k] == "acked") {
					acked++
					if (have < want) lost++
				} else if (status[k] == "failed") {
					failed++
					if (have) failed_present++
				} else {
					unknown++
					if (have) landed++
				}
				if (have && have < want) half++
			}
			printf("%s: %d kills, %d acknowledged commits, %d lost, %d duplicated, " \
			       "%d unknown outcome (%d landed), %d failed\n", stage, kills, acked,
			       lost, dup, unknown, landed, failed) >figures
			if (lost) print stage ": " lost " acknowledged commits lost"
			if (dup) print stage ": " dup " rows duplicated"
			if (failed_present) print stage ": " failed_present " failed transactions present"
			if (half) print stage ": " half " transactions half there"
			if (stray) print stage ": " stray " rows nobody wrote"
		}' "$W/attempts" "$W/rows.$stage" || echo "$stage: the check itself failed"
	[[ -s $W/figures.$stage ]] || echo "$stage: no figures"
}

check_text after-kills "$(verify after-kills)" <<<""
# A clean restart of both servers.
mdb_stop "$M"
vamosd_restart "$V" TERM
mdb_restart "$M"
check_text after-clean-restart "$(verify after-clean-restart)" <<<""
check_text clean-restart-same-rows "$(diff "$W/rows.after-kills" "$W/rows.after-clean-restart")" <<<""
# A kill -9 of everything: mariadbd, vamosd's keeper and its worker (which
# the keeper's death kills too).
worker=$(vamosd_worker "$V")
mdb_stop "$M" kill
vamosd_stop "$V" KILL
if [[ -n $worker ]]; then
	kill -KILL "$worker" 2>/dev/null || true
	until _pid_gone "$worker"; do sleep 0.05; done
fi
vamosd_restart "$V" TERM
mdb_restart "$M"
check_text after-kill-9 "$(verify after-kill-9)" <<<""
check_text kill-9-same-rows "$(diff "$W/rows.after-kills" "$W/rows.after-kill-9")" <<<""
cat "$W"/figures.after-kills "$W"/figures.after-clean-restart "$W"/figures.after-kill-9 2>/dev/null |
	sed 's/^/crash: /'

sqlt_end
