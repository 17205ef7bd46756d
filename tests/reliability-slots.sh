#!/bin/sh
# reliability-slots.sh — more threads than slots, and rings nobody drains.
#
# QPULSE_THREADS=2 with 8 threads recording at once (they wait for each
# other after their first sample), rings of 64 records: 2 threads get a
# slot and fill its ring, the rest have none.  The application runs to the
# end and exits 0, says so in one line on stderr, and every sample is
# either in a ring or counted as dropped: exactly, since nobody is killed.
. "$top_srcdir/tests/lib.sh"
qp_setup relslots
P="$top_builddir/tests/reliability-producer"
D="$top_builddir/tests/reliability-drain"

mkfifo "$T/go"
QPULSE_THREADS=2 QPULSE_RING_RECORDS=64 \
  "$P" -t 8 -n 1000 -b -w -p "$T/progress" <"$T/go" >"$T/out" 2>"$T/err" &
ppid=$!
exec 3>"$T/go"
"$D" -P $ppid -p "$T/progress" -t 8 -A "$T/attached" >"$T/drain" 2>&1 3>&- &
dpid=$!
qp_wait_for 30 test -f "$T/attached" || qp_fail "the consumer did not attach"
qp_wait_for 30 grep -q attempted "$T/out" || qp_fail "the producer did not finish"
exec 3>&-
wait $ppid || qp_fail "the producer exited with $?"
wait $dpid || { cat "$T/drain" >&2; qp_fail "consumer: unbalanced or torn"; }
cat "$T/out" "$T/drain" "$T/err" >&2

grep -q '^attempted=8000 ' "$T/out" || qp_fail "the producer did not attempt 8000 samples"
rec=$(sed -n 's/.*recorded=\([0-9]*\).*/\1/p' "$T/out")
drop=$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' "$T/out")
[ $((rec + drop)) -eq 8000 ] || qp_fail "recorded $rec + dropped $drop != 8000 (producer's view)"
# 6 threads never had a slot: at least their 6000 samples were dropped.
[ "$drop" -ge 6000 ] || qp_fail "only $drop dropped; 6 threads had no slot"
grep -q 'unaccounted=0$' "$T/drain" || qp_fail "consumer's view does not balance exactly"
grep -q "drained=$rec " "$T/drain" || qp_fail "consumer drained other than the $rec recorded"
[ "$(wc -l <"$T/err")" -eq 1 ] || qp_fail "expected exactly one line on stderr"
grep -q 'thread slots' "$T/err" || qp_fail "the stderr line does not name the cause"
