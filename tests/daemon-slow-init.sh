#!/bin/sh
# A producer stopped for longer than the daemon's 5 s wait in the middle of
# its first sample (its segment created, still empty): the daemon says it
# skips it for now, looks at it again, and attaches it once it is whole —
# every sample it records afterwards is counted.  (The daemon used to give
# such a segment up for good: its samples were never read, and the segment
# was removed unread when the process exited.)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-slow-init
GATE_SO="$top_builddir/tests/.libs/init_gate.so"
[ -f "$GATE_SO" ] || qp_fail "not built: $GATE_SO"

qp_start_daemon
LD_PRELOAD="$GATE_SO" QP_INIT_GATE="$T/gate" "$PROD" -t 1 -n 1000 > "$T/prod.out" &
P=$!
QP_PIDS="$QP_PIDS $P"
qp_wait_for 20 grep -q "skipping segment .*\.$P\..*: not initialised after 5 s" "$T/qpulsed.log" ||
  { cat "$T/qpulsed.log" >&2; qp_fail "the daemon did not report the empty segment"; }
"$QPD_TOOL" req "SNAPSHOT cumulative" > "$T/skipped.json"
grep -q '"not initialised after 5 s"' "$T/skipped.json" ||
  qp_fail "the snapshot does not list the segment as skipped"
touch "$T/gate"
wait $P || qp_fail "the producer failed"
grep -q '^recorded=[0-9]* dropped=0$' "$T/prod.out" || qp_fail "the producer dropped: $(cat "$T/prod.out")"
all_in() { snap cumulative && [ "$(field "$P" gen Work count)" = 1000 ]; }
qp_wait_for 20 all_in ||
  { cat "$T/qpulsed.log" >&2; qp_fail "the daemon did not count the 1000 samples recorded after the stall"; }
qp_wait_for 10 qp_shm_is 1 || qp_fail "$(qp_shm_count) shm objects left"
exit 0
