#!/bin/sh
# A producer killed with SIGKILL: the daemon notices the death, keeps its
# statistics (not alive, exact count) and removes its segment.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-kill

qp_start_daemon --retain 600 -v
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
qp_wait_for 10 test "$(qp_shm_count)" -eq 1 || qp_fail "the dead process's segment is still there"
grep -q "died" "$T/qpulsed.log" || qp_fail "the death was not logged"
exit 0
