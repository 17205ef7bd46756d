#!/bin/sh
# --state across restarts, with a real producer:
#  1. SIGTERM restart (an upgrade): the new daemon continues the process's
#     cumulative figures exactly (count, percentiles, max), lost = 0;
#  2. SIGKILL: the new daemon continues from the last save, and counts the
#     samples consumed after it as `lost`: count + dropped + lost equals
#     what the producer recorded, exactly;
#  3. a malformed state file, and one of another format version: refused
#     with a clear log line, the daemon runs, and what earlier daemons
#     consumed counts as lost (the identity still holds).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup sysstate
command -v jq >/dev/null || qp_skip "jq not installed"

ST="$T/qpulsed.state"
# pj PID JQ-EXPR: a value of the process in the last snapshot.
pj() { jq -r --argjson p "$1" ".processes[] | select(.pid == \$p) | $2" "$T/snap.json"; }
total() { pj "$1" '[.ops[].count] | add // 0'; }
# settled PID WANT: count + dropped + lost == WANT.
settled() {
  snap cumulative || return 1
  [ "$(pj "$1" '([.ops[].count] | add // 0) + .dropped + .lost')" = "$2" ]
}
recorded() {   # recorded + dropped, as the producer's library counted them
  line=$(grep recorded= "$1")
  r=${line#recorded=}; r=${r%% *}
  echo $((r + ${line##*dropped=}))
}

N=20000
qp_start_daemon --state "$ST"
A=$QP_DAEMON_PID
qp_bg "$PROD" -t 2 -n $N -D lognormal:20000:1 -p 4 -k > "$T/prod.out"
P=$!
qp_wait_for 30 grep -q "phase 1" "$T/prod.out" || qp_fail "phase 0"
qp_wait_for 30 settled $P $((2 * N + 2)) || qp_fail "phase 0 not all counted"

# 1. SIGTERM restart.
before=$(pj $P '[.ops[] | select(.op == "Work") | .count, .p50_ns, .p99_ns, .max_ns, .total_ns] | join(" ")')
kill -TERM $A
wait $A || qp_fail "the daemon did not exit cleanly"
[ -s "$ST" ] || qp_fail "no state file after SIGTERM"
grep -q "statistics saved to" "$T/qpulsed.log" || qp_fail "the save was not logged"
qp_start_daemon --state "$ST"
B=$QP_DAEMON_PID
qp_wait_for 10 listed $P || qp_fail "the new daemon did not adopt the producer"
after=$(pj $P '[.ops[] | select(.op == "Work") | .count, .p50_ns, .p99_ns, .max_ns, .total_ns] | join(" ")')
expect "Work count p50 p99 max total across SIGTERM" "$after" "$before"
expect "lost after a clean restart" "$(pj $P .lost)" 0

kill -USR1 $P
qp_wait_for 30 grep -q "phase 2" "$T/prod.out" || qp_fail "phase 1"
qp_wait_for 30 settled $P $((4 * N + 2)) || qp_fail "phase 1 not all counted"

# 2. SIGKILL: a periodic save covers phases 0-1; phase 2 is consumed, then
# the daemon dies before (most likely) its next save.  The new daemon
# restores phases 0-1, counts phase 3 (recorded with no daemon running)
# and phase 2 is lost, or counted if a save came in between.
touch "$T/mark"
qp_wait_for 15 sh -c "find '$ST' -newer '$T/mark' | grep -q ." || qp_fail "no periodic save within 15 s"
kill -USR1 $P
qp_wait_for 30 grep -q "phase 3" "$T/prod.out" || qp_fail "phase 2"
qp_wait_for 30 settled $P $((6 * N + 2)) || qp_fail "phase 2 not all counted"
kill -KILL $B
wait $B 2>/dev/null
kill -USR1 $P   # phase 3 runs with no daemon
qp_wait_for 30 grep -q done "$T/prod.out" || qp_fail "phase 3"
qp_start_daemon --state "$ST"
C=$QP_DAEMON_PID
want=$(recorded "$T/prod.out")
qp_wait_for 30 settled $P "$want" || {
  cat "$T/qpulsed.log" >&2
  qp_fail "count $(total $P) + dropped $(pj $P .dropped) + lost $(pj $P .lost) != recorded $want after SIGKILL"
}
[ "$(total $P)" -ge $((6 * N + 2)) ] || qp_fail "the saved statistics did not survive the SIGKILL: $(total $P)"
qp_log "after SIGKILL: count $(total $P) + dropped $(pj $P .dropped) + lost $(pj $P .lost) = $want"

# 3. A malformed state file, then one of another format version.
kill -TERM $C
wait $C || qp_fail "daemon C did not exit cleanly"
cp "$ST" "$T/good.state"
printf 'QPSTATE\n garbage' > "$ST"
qp_start_daemon --state "$ST"
D=$QP_DAEMON_PID
qp_wait_for 20 grep -q "state file $ST: .*ignoring it" "$T/qpulsed.log" ||
  qp_fail "the bad state file was not refused clearly"
qp_wait_for 30 settled $P "$want" || qp_fail "identity broken after a malformed state file"
expect "count after a malformed state file" "$(total $P)" 0
expect "lost after a malformed state file" "$(pj $P .lost)" "$((want - $(pj $P .dropped)))"
kill -TERM $D
wait $D || qp_fail "daemon D did not exit cleanly"
cp "$T/good.state" "$ST"
printf '\143' | dd of="$ST" bs=1 seek=8 conv=notrunc 2>/dev/null   # version 99
qp_start_daemon --state "$ST"
qp_wait_for 20 grep -q "format version 99, this qpulsed reads version 1" "$T/qpulsed.log" ||
  qp_fail "a state file of another version was not refused clearly"
qp_wait_for 30 settled $P "$want" || qp_fail "identity broken after a state of another version"
exit 0
