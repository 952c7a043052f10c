#!/usr/bin/env bash
# The servers' logs are kept: vamosd's in the test's directory, and a test
# that fails shows the end of it (and of mariadbd's) on its stderr.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

check_text vamosd-log-kept "$(grep -c 'vamosd: info: ready' "$V/vamosd.log")" <<'EOF2'
1
EOF2

# A test that fails, run in our scratch directory: its stderr must carry
# vamosd's last lines. It starts servers of its own and stops them.
cat >"$W/failing.sh" <<EOF2
. $(printf '%q' "$(realpath "$(dirname "${BASH_SOURCE[0]}")")/lib.bash")
sqlt_start
check wrong "SELECT 1" <<<2
sqlt_end
EOF2
rc=0
SQLT_WORK=$W bash "$W/failing.sh" >"$W/failing.out" 2>"$W/failing.err" || rc=$?
check_text failing-test-fails "$rc" <<'EOF2'
1
EOF2
check_text failing-test-shows-vamosd-log \
	"$(grep -c 'vamosd: info: ready' "$W/failing.err")" <<'EOF2'
1
EOF2
check_text failing-test-shows-mariadbd-log \
	"$(grep -c 'ready for connections' "$W/failing.err")" <<'EOF2'
1
EOF2

sqlt_end
