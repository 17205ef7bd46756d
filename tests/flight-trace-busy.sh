#!/bin/sh
# A trace of a full flight recorder (1.5 million samples: seconds of JSON)
# is written while a producer records 100 000 samples a second into a ring
# of 0.65 s: the daemon hands the trace to a forked writer and goes on
# draining, so the producer drops nothing, and the trace is whole.  (Written
# in the daemon's loop, the trace stopped the drain for its 3-6 s and the
# producer dropped most of what it recorded meanwhile.)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup flight-trace-busy

qp_start_daemon
# Fill the recorder (64 MiB: about 1.5 million samples), 2 s.
"$PROD" -t 2 -n 800000 -r $((400000 / QP_SLOW)) > "$T/fill.out" &
F=$!
wait $F || qp_fail "filling producer failed"
filled() { snap cumulative && [ "$(field "$F" gen Work count)" -gt 1000000 ] 2>/dev/null; }
qp_wait_for 30 filled || qp_fail "the daemon did not take the filling producer's samples: $(cat "$T/fill.out")"

# The busy producer: 5 s at 100 000 samples/s, its trace asked for meanwhile.
N=500000
"$PROD" -t 1 -n $N -r $((100000 / QP_SLOW)) > "$T/busy.out" &
B=$!
qp_wait_for 20 listed $B || qp_fail "the daemon did not find the busy producer"
"$QPULSE" trace -o "$T/trace.json" 2> "$T/trace.err" || { cat "$T/trace.err" >&2; qp_fail "qpulse trace failed"; }
ev=$(sed -n 's/^qpulse trace: \([0-9]*\) samples written.*/\1/p' "$T/trace.err")
[ "${ev:-0}" -gt 1000000 ] || { cat "$T/trace.err" >&2; qp_fail "the trace holds ${ev:-no} samples, not a full recorder"; }
grep -q '"traceEvents"' "$T/trace.json" && tail -c 3 "$T/trace.json" | grep -q '}' ||
  qp_fail "the trace file is not whole"
qp_log "trace of $ev samples written while the producer ran"
qp_running $B || qp_log "(the busy producer ended before the trace did: a slow machine)"
wait $B || qp_fail "busy producer failed"
grep -q "^recorded=[0-9]* dropped=0\$" "$T/busy.out" ||
  qp_fail "the producer dropped samples while the trace was written: $(cat "$T/busy.out")"
all_in() { snap cumulative && [ "$(field "$B" gen Work count)" = $N ]; }
qp_wait_for 20 all_in || qp_fail "the daemon did not aggregate all $N samples"
# The writer is gone once the trace is sent: the daemon is our only child's only child.
writers() { awk -v d="$QP_DAEMON_PID" '{ sub(/.*\) /, ""); split($0, f, " "); if (f[2] == d) n++ } END { exit n > 0 }' /proc/[0-9]*/stat 2>/dev/null; }
qp_wait_for 10 writers || qp_fail "a trace writer is still running"
exit 0
