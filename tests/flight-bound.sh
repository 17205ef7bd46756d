#!/bin/sh
# The flight recorder's memory bound holds under a flood: with
# --history-mb 1 after a flood of samples its ring holds exactly the 22 937
# newest (seven eighths of 1 MiB in 40-byte records; the rest is for the
# threads' tails), while the statistics count every sample; and a quiet
# process's samples, recorded before the flood, are still in its trace.  And
# hostile samples (absurd times, durations, self times, self-nesting, a
# garbage thread id) neither crash the daemon nor break its snapshot,
# window or trace.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup flight-bound
SC="$top_builddir/tests/slow_check"
BAD="$top_builddir/tests/qpd_badseg"

qp_start_daemon --history-mb 1
rss0=$(awk '/VmRSS/ { print $2 }' /proc/$QP_DAEMON_PID/status)
# the quiet one: 5 requests of 4 nested samples, then it idles
qp_bg "$top_builddir/tests/slow_prod" -n 5 -o 0 -k > "$T/quiet.out"
Q=$!
quiet_in() { snap cumulative && [ "$(field $Q sp Request count)" = 5 ]; }
qp_wait_for 20 quiet_in || qp_fail "the quiet producer's samples were not counted"
qp_bg "$top_builddir/tests/slow_prod" -t 2 -n 100000 -o 0 -k > "$T/prod.out"
P=$!
qp_wait_for 60 grep -q done "$T/prod.out" || qp_fail "the producer did not finish"
recorded=$(sed -n 's/^recorded=\([0-9]*\).*/\1/p' "$T/prod.out")
# (an op not in the snapshot yet must not end the shell in an arithmetic error)
all_in() {
  snap cumulative || return 1
  t=0
  for op in Request Parse Risk Db; do
    c=$(field $P sp $op count) || return 1
    t=$((t + c))
  done
  [ "$t" = "$recorded" ]
}
qp_wait_for 20 all_in || { cat "$T/prod.out" "$T/snap.json" >&2; qp_fail "not every sample counted"; }
[ "$recorded" -gt 60000 ] || qp_fail "only $recorded samples recorded"
"$QPULSE" trace --pid $P -o "$T/trace.json" 2>/dev/null || qp_fail "qpulse trace"
n=$(grep -o '"ph":"X"' "$T/trace.json" | wc -l)
ring=$(( (1048576 - 1048576 / 8) / 40 ))
# (plus, at most, its two threads' last 32 samples if one of them finished
# long before the other)
[ "$n" -ge $ring ] && [ "$n" -le $((ring + 64)) ] ||
  qp_fail "$n samples held in 1 MiB; expected the ring's $ring (+ up to 64 from the tails)"
qp_log "samples held in 1 MiB = $n (ring $ring)"
"$QPULSE" trace --pid $Q -o "$T/quiet.json" 2>/dev/null || qp_fail "qpulse trace of the quiet process"
expect "the quiet process's samples after the flood" \
  "$(grep -o '"ph":"X"' "$T/quiet.json" | wc -l)" 20
"$SC" trace "$T/quiet.json" $Q 20 || qp_fail "the quiet process's trace does not nest"
"$SC" trace "$T/trace.json" $P "$n" || qp_fail "the trace of a full ring"
rss1=$(awk '/VmRSS/ { print $2 }' /proc/$QP_DAEMON_PID/status)
qp_log "daemon RSS ${rss0} kB before, ${rss1} kB after $recorded samples"
# 1 MiB of history plus the statistics of four ops: far below 16 MiB more
# (not under a sanitizer, whose allocator keeps freed memory)
[ -n "${QPULSE_SANITIZED:-}" ] || [ $((rss1 - rss0)) -lt 16384 ] ||
  qp_fail "the daemon grew by $((rss1 - rss0)) kB"

# hostile samples
qp_bg sleep 600
S=$!
seg=$("$BAD" make ok "$QPULSE_NS" $S 1) || qp_fail "cannot make a segment"
qp_wait_for 10 listed $S || qp_fail "the segment was not attached"
"$BAD" times "$seg" || qp_fail "cannot write hostile samples"
hostile_in() { snap cumulative && [ "$(field $S bad Op count)" = 64 ]; }
qp_wait_for 10 hostile_in || qp_fail "the hostile samples were not counted"
snap window || qp_fail "window snapshot after hostile samples"
"$QPULSE" trace --pid $S -o "$T/bad.json" 2>/dev/null || qp_fail "trace of hostile samples"
"$SC" trace "$T/bad.json" $S "$(grep -o '"ph":"X"' "$T/bad.json" | wc -l)" >/dev/null ||
  qp_log "hostile samples do not nest (expected: they overlap on purpose)"
"$QPD_TOOL" req PING > /dev/null || qp_fail "the daemon is gone"
kill -0 $QP_DAEMON_PID || qp_fail "the daemon died"
exit 0
