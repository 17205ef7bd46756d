#!/bin/sh
# The daemon is SIGKILLed and restarted while a producer runs: the new
# daemon picks the producer up again where the old one stopped, and
# count + dropped + lost == everything recorded.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-restart

N=100000   # per thread and phase: more than a ring holds, so the phase
           # without a daemon drops samples, and they must be counted
qp_start_daemon
A=$QP_DAEMON_PID
qp_bg "$PROD" -t 2 -n $N -D uniform:100:20000 -p 3 -k > "$T/prod.out"
P=$!
qp_wait_for 30 grep -q "phase 1" "$T/prod.out" || qp_fail "phase 0"

# Old daemon: everything of phase 0 is aggregated or counted dropped.
a_done() {
  listed $P || return 1
  w=$(field $P gen Work count); d=$(field $P - - dropped); o=$(field $P gen Other count)
  [ $((w + d + o)) -eq $((2 * N + 2)) ]
}
qp_wait_for 30 a_done || qp_fail "old daemon did not finish phase 0"
a_count=$(( $(field $P gen Work count) + $(field $P gen Other count) ))
qp_log "old daemon aggregated $a_count, dropped $(field $P - - dropped)"
kill -KILL $A
wait $A 2>/dev/null

# Phase 1 with no daemon at all.
kill -USR1 $P
qp_wait_for 30 grep -q "phase 2" "$T/prod.out" || qp_fail "phase 1"

# New daemon: adopts the running producer ...
qp_start_daemon
qp_wait_for 10 listed $P || qp_fail "new daemon did not adopt the producer"
expect "alive in the new daemon" "$(field $P - - alive)" 1
# ... and phase 2 runs with it.
kill -USR1 $P
qp_wait_for 30 grep -q done "$T/prod.out" || qp_fail "phase 2"
line=$(grep recorded= "$T/prod.out")
rec=${line#recorded=}; rec=${rec%% *}
pdrop=${line##*dropped=}
expect "recorded + dropped by the producer" $((rec + pdrop)) $((6 * N + 2))
# The new daemon continues from the old one's last save (--state, in the
# runtime directory by default) and counts what the old one consumed after
# it as lost: count + dropped + lost is everything recorded.
b_done() {
  listed $P || return 1
  w=$(field $P gen Work count); d=$(field $P - - dropped); o=$(field $P gen Other count)
  l=$(field $P - - lost)
  [ $((w + o + d + l)) -eq $((6 * N + 2)) ]
}
qp_wait_for 30 b_done || {
  qp_log "new $(field $P gen Work count) + $(field $P gen Other count) + dropped $(field $P - - dropped) + lost $(field $P - - lost)"
  qp_fail "recorded != count + dropped + lost across the restart"
}
l=$(field $P - - lost)
[ "$l" -le "$a_count" ] || qp_fail "lost $l is more than the old daemon consumed ($a_count)"
d=$(field $P - - dropped)
expect "new daemon's dropped = producer's drops" "$d" "$pdrop"
qp_log "count $(( $(field $P gen Work count) + $(field $P gen Other count) )) + dropped $d + lost $l = $((6 * N + 2)) (old daemon aggregated $a_count)"
exit 0
