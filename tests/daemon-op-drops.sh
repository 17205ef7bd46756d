#!/bin/sh
# Drops are counted per operation: a flood into a tiny ring (64 records a
# thread) drops most samples; for each operation count + dropped is what
# the producer recorded of it, and the ops' drops add up to the process's.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-op-drops

qp_start_daemon --retain 600
N=200000
QPULSE_RING_RECORDS=64 "$PROD" -t 2 -n $N -N > "$T/prod.out" & P=$!
wait $P || qp_fail "prod_gen failed"
pd=$(sed -n 's/^recorded=[0-9]* dropped=\([0-9]*\)$/\1/p' "$T/prod.out")
[ -n "$pd" ] || qp_fail "unexpected producer output: $(cat "$T/prod.out")"
[ "$pd" -gt 0 ] || qp_fail "the flood dropped nothing: the test proves nothing"
wait_exited $P
d=$(field $P - - dropped)
wc=$(field $P gen Work count); wd=$(field $P gen Work dropped)
oc=$(field $P gen Outer count); od=$(field $P gen Outer dropped)
xc=$(field $P gen Other count); xd=$(field $P gen Other dropped)
qp_log "process dropped $d; Work $wc + $wd, Outer $oc + $od, Other $xc + ${xd:-?}"
expect "Work: count + dropped" $((wc + wd)) $((2 * N))
expect "Outer: count + dropped" $((oc + od)) $((2 * N))
expect "Other: count + dropped" $((xc + ${xd:-0})) 2
expect "the ops' drops add up to the process's" $((wd + od + ${xd:-0})) "$d"
expect "the process's drops are the producer's" "$d" "$pd"
[ "$wd" -gt 0 ] && [ "$od" -gt 0 ] || qp_fail "expected drops of both Work and Outer"
exit 0
