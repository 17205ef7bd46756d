#!/bin/sh
# A short-lived process is attached within milliseconds of its first
# sample, whenever it starts: 20 processes, each recording a burst at once
# and exiting as soon as it has seen the daemon attach (each starts when the
# daemon has finished the one before, so at a different moment of the
# daemon's cycle).  Every sample of each is counted: count + dropped + lost
# equals what it recorded, and nothing is dropped.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-attach

ATTACH="$top_builddir/tests/attach_prod"
N=5000
RUNS=20
# The bound: "a few milliseconds" with room for a loaded machine; a daemon
# slowed 10x and more by valgrind or TSan gets more.
LIMIT_US=100000
{ [ -n "${QPULSE_VALGRIND:-}" ] || [ "${QPULSE_SANITIZED:-}" = thread ]; } && LIMIT_US=2000000

qp_start_daemon --retain 600
worst=0
i=0
while [ $i -lt $RUNS ]; do
  "$ATTACH" -n $N > "$T/run.out" & P=$!
  wait $P || qp_fail "attach_prod failed"
  out=$(cat "$T/run.out")
  us=$(sed -n 's/^attach_us=\(-\{0,1\}[0-9]*\) .*/\1/p' "$T/run.out")
  rec=$(sed -n 's/.* recorded=\([0-9]*\) .*/\1/p' "$T/run.out")
  pd=$(sed -n 's/.* dropped=\([0-9]*\)$/\1/p' "$T/run.out")
  [ -n "$us" ] && [ -n "$rec" ] && [ -n "$pd" ] || qp_fail "run $i: unexpected output '$out'"
  [ "$us" -ge 0 ] || qp_fail "run $i (pid $P): not attached within 5 s"
  [ "$us" -le $LIMIT_US ] || qp_fail "run $i (pid $P): attached $us us after its first sample (limit $LIMIT_US)"
  [ "$us" -gt $worst ] && worst=$us
  expect "run $i: recorded by the producer" "$rec" $N
  expect "run $i: dropped by the producer" "$pd" 0
  wait_exited $P
  c=$(field $P attach Burst count); d=$(field $P - - dropped); l=$(field $P - - lost)
  [ $((c + d + l)) -eq "$rec" ] || qp_fail "run $i: count $c + dropped $d + lost $l != recorded $rec"
  expect "run $i: dropped" "$d" 0
  i=$((i + 1))
done
qp_log "$RUNS short-lived processes, slowest attach $worst us after the first sample"
qp_wait_for 10 qp_shm_is 1 || qp_fail "segments left behind: $(ls /dev/shm | grep "$QPULSE_NS")"
exit 0
