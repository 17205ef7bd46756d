#!/bin/sh
# A producer killed with SIGKILL: the daemon notices the death, keeps its
# statistics (not alive, exact count) and removes its segment; a segment
# left by a process that died before the daemon started is adopted,
# counted and removed at start-up.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-kill

# Before any daemon runs: a producer dies and leaves its segment.  The
# daemon adopts it at start-up, counts its samples and removes it.
qp_bg "$PROD" -t 1 -n 3000 -k > "$T/early.out"
E=$!
qp_wait_for 20 grep -q done "$T/early.out" || qp_fail "early producer"
kill -KILL $E
wait $E 2>/dev/null
expect "segments of the dead producer" "$(qp_shm_count)" 1

qp_start_daemon --retain 600 -v
wait_exited $E
expect "adopted stale segment's count" "$(field $E gen Work count)" 3000
qp_wait_for 10 qp_shm_is 1 || qp_fail "stale segment not removed"

qp_bg "$PROD" -t 2 -n 5000 -D uniform:1000:3000 -k > "$T/prod.out"
P=$!
qp_wait_for 20 grep -q done "$T/prod.out" || qp_fail "producer did not finish recording"
work_is() { snap cumulative && [ "$(field $P gen Work count)" = "$1" ]; }
qp_wait_for 20 work_is 10000 || qp_fail "daemon did not aggregate the 10000 samples"
expect "alive before the kill" "$(field $P - - alive)" 1
expect "segments while it runs" "$(qp_shm_count)" 2

kill -KILL $P
wait_exited $P
expect "count after SIGKILL" "$(field $P gen Work count)" 10000
expect "dropped" "$(field $P - - dropped)" 0
qp_wait_for 10 qp_shm_is 1 || qp_fail "the dead process's segment is still there"
grep -q "died" "$T/qpulsed.log" || qp_fail "the death was not logged"
exit 0
