#!/usr/bin/env bash
# 8 connections at once, each running 200 transactions: a transfer between
# two accounts (sum of balances constant) plus a history row, and every 10th
# transaction a read of the total. Every read must see the constant sum, and
# at the end every balance must be what the transfers add up to.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

workers=8 per_worker=200 accounts=50

sql "CREATE TABLE acct (id INT PRIMARY KEY, bal BIGINT NOT NULL) ENGINE=$E"
sql "CREATE TABLE hist (worker INT, n INT, src INT NOT NULL, dst INT NOT NULL,
	amt INT NOT NULL, PRIMARY KEY (worker, n), KEY ksrc (src), KEY kdst (dst)) ENGINE=$E"
sql "INSERT INTO acct SELECT seq, 1000 FROM seq_1_to_$accounts"

# One SQL file per worker; the accounts of a transfer are locked in id
# order, so transfers cannot deadlock.
for w in $(seq "$workers"); do
	awk -v w="$w" -v n="$per_worker" -v accts="$accounts" 'BEGIN {
		srand(w)
		for (i = 1; i <= n; i++) {
			a = 1 + int(rand() * accts)
			do b = 1 + int(rand() * accts); while (b == a)
			amt = 1 + int(rand() * 100)
			lo = a < b ? a : b; hi = a < b ? b : a
			print "BEGIN;"
			printf "UPDATE acct SET bal = bal %s %d WHERE id = %d;\n", lo == a ? "-" : "+", amt, lo
			printf "UPDATE acct SET bal = bal %s %d WHERE id = %d;\n", hi == a ? "-" : "+", amt, hi
			printf "INSERT INTO hist VALUES (%d, %d, %d, %d, %d);\n", w, i, a, b, amt
			print "COMMIT;"
			if (i % 10 == 0) print "SELECT SUM(bal), COUNT(*) FROM acct;"
		}
	}' >"$W/worker$w.sql"
done

pids=()
for w in $(seq "$workers"); do
	sql "$(cat "$W/worker$w.sql")" >"$W/worker$w.out" 2>&1 &
	pids+=($!)
done
for w in $(seq "$workers"); do
	rc=0
	wait "${pids[w - 1]}" || rc=$?
	check_text "worker$w-exit" "exit $rc" <<'EOF'
exit 0
EOF
	((rc == 0)) || head -n 5 "$W/worker$w.out" >&2
done

# Every read of the total, in every worker, saw the same sum.
check_text totals-seen "$(cat "$W"/worker*.out | sort | uniq -c | sed 's/^ *//')" <<EOF
$((workers * per_worker / 10)) $((accounts * 1000))	$accounts
EOF
check total "SELECT SUM(bal), COUNT(*) FROM acct" <<EOF
$((accounts * 1000))	$accounts
EOF
check history "SELECT COUNT(*), COUNT(DISTINCT worker) FROM hist" <<EOF
$((workers * per_worker))	$workers
EOF
# Each balance, from the transfers as generated (not as stored).
check balances "SELECT id, bal FROM acct ORDER BY id" <<EOF
$(cat "$W"/worker*.sql | awk -v accts="$accounts" '
	/^INSERT INTO hist/ { gsub(/[(),;]/, " "); bal[$7] -= $9; bal[$8] += $9 }
	END { for (i = 1; i <= accts; i++) printf "%d\t%d\n", i, 1000 + bal[i] }')
EOF
# The history's secondary indexes agree with its primary key.
check history-indexes "SELECT (SELECT COUNT(*) FROM hist FORCE INDEX (ksrc) WHERE src > 0),
	(SELECT COUNT(*) FROM hist FORCE INDEX (kdst) WHERE dst > 0),
	(SELECT SUM(amt) FROM hist FORCE INDEX (ksrc) WHERE src > 0) =
	(SELECT SUM(amt) FROM hist IGNORE INDEX (ksrc, kdst))" <<EOF
$((workers * per_worker))	$((workers * per_worker))	1
EOF

sqlt_end
