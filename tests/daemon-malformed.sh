#!/bin/sh
# Hostile segments: truncated, never initialised, wrong magic, unknown
# major version, absurd sizes, offsets out of range, unterminated names, bad
# table entries, a segment shrunk while the daemon has it mapped, and ring
# heads pushed past their tails.  Each is logged and skipped; the daemon
# stays up and still counts an honest producer exactly.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-malformed
BAD="$top_builddir/tests/qpd_badseg"

qp_start_daemon -v
# The fake segments name a live process of ours, so that they are not
# simply removed as stale.
qp_bg sleep 600
S=$!

seq=0
for kind in ok truncated magic major sizes offsets opdrops names ops strings empty; do
  seq=$((seq + 1))
  name=$("$BAD" make $kind "$QPULSE_NS" $S $seq) || qp_fail "cannot make $kind segment"
  eval "name_$kind=\$name"
done

# An unreadable segment of a process that is gone is removed, not skipped.
true &
gone=$!
wait $gone
stale=$("$BAD" make magic "$QPULSE_NS" $gone 1) || qp_fail "cannot make stale segment"
qp_wait_for 10 sh -c "! test -e /dev/shm$stale" || qp_fail "stale bad segment $stale not removed"
grep -q "removed stale segment $stale" "$T/qpulsed.log" || qp_fail "stale removal not logged"

# The valid base is accepted (its command-line length past the field
# bounded: the daemon shows what /proc says) ...
qp_wait_for 10 listed $S || qp_fail "the daemon refused the valid base segment"
args=$(jq -c --argjson p "$S" '.processes[] | select(.pid == $p) | .cmdline' "$T/snap.json")
expect "the base segment's command line" "$args" '["sleep","600"]' 
# ... and every broken variant is logged and skipped.
for kind in truncated magic major sizes offsets opdrops names ops strings; do
  eval "name=\$name_$kind"
  qp_wait_for 10 grep -q "skipping segment $name" "$T/qpulsed.log" ||
    { cat "$T/qpulsed.log" >&2; qp_fail "$kind: not logged as skipped"; }
  qp_log "$kind: skipped"
done
# Never initialised: given up on after 5 s.
qp_wait_for 20 grep -q "skipping segment $name_empty" "$T/qpulsed.log" ||
  qp_fail "empty: not skipped"
n=$(grep -c "skipping segment $name_magic" "$T/qpulsed.log")
expect "a bad segment is logged once" "$n" 1

# A real producer whose segment shrinks under the daemon, and one whose ring
# heads run far past their tails.
for how in shrink heads; do
  qp_bg "$PROD" -t 1 -n 100 -k > "$T/$how.out"
  p=$!
  qp_wait_for 20 grep -q done "$T/$how.out" || qp_fail "$how producer"
  qp_wait_for 10 listed $p || qp_fail "$how producer not found"
  seg=$(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.$p\.")
  "$BAD" $how "/$seg" || qp_fail "$how failed"
  eval "pid_$how=$p"
done
qp_wait_for 10 grep -q "became unreadable" "$T/qpulsed.log" ||
  qp_fail "shrunk segment not noticed"
# The 2^40 records the pushed heads claim are counted as not aggregated;
# what the reader does read is bounded by one ring (it cannot tell garbage
# in a ring from samples, but it never loops over the claimed range).
heads_counted() { snap cumulative && [ "$(field $pid_heads - - dropped)" -gt 1000000 ]; }
qp_wait_for 10 heads_counted || qp_fail "corrupt ring heads were not counted"
c=$(field $pid_heads gen Work count)
[ "$c" -ge 100 ] && [ "$c" -le $((100 + 65536)) ] || qp_fail "heads producer's count $c"
qp_log "heads producer: $c records read, $(field $pid_heads - - dropped) counted dropped"

"$QPD_TOOL" req PING > /dev/null || qp_fail "the daemon is gone"
"$PROD" -t 2 -n 20000 -D uniform:100:900 > /dev/null &
P=$!
wait $P
wait_exited $P
expect "honest producer's count" "$(field $P gen Work count)" 40000
kill -0 $QP_DAEMON_PID || qp_fail "the daemon died"
exit 0
