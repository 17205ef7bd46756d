#!/bin/sh
# reliability-restart.sh — qpulsed SIGKILLed and restarted under load.
#
# The producers never wait for the daemon: their progress counters keep
# growing while none runs.  The new daemon adopts the segments and starts
# where the killed one stopped (the ring tails live in the segment), so
# nothing is counted twice and nothing published is lost.  What the killed
# daemon had aggregated since its last --state save dies with it, counted
# as lost; the tails tell how much it consumed (S).  Checked:
# A - N <= C2 + D + L <= A  with C2, D, L the new daemon's count, dropped
# and lost, L <= S, and S >= what the killed daemon last reported.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup relrestart
P="$top_builddir/tests/reliability-producer"
D="$top_builddir/tests/reliability-drain"

progress_sum() {
  od -An -t u8 -w8 -v "$1" 2>/dev/null | awk -v n="$2" 'NR % 8 == 1 && NR <= 8 * n { s += $1 } END { print s + 0 }'
}
num() { case $1 in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
pinged() { "$QPD_TOOL" req PING 2>/dev/null | grep -q "\"pid\":$1"; }

qp_start_daemon
d1=$QP_DAEMON_PID
QPULSE_RING_RECORDS=4096 "$P" -t 2 -n 0 -s 20 -p "$T/prog" -q &
p=$!
qp_wait_for 20 listed $p || qp_fail "the first daemon did not find the producer"
sleep 0.3
snap cumulative
c1=$(num "$(field $p rel Sample count)")

kill -KILL "$d1"
wait "$d1" 2>/dev/null
a0=$(progress_sum "$T/prog" 2)
sleep 1
a1=$(progress_sum "$T/prog" 2)
[ "$a1" -gt "$a0" ] || qp_fail "the producer stopped while no daemon ran ($a0 -> $a1)"
s=$("$D" -P $p -T | sed -n 's/^tails=//p')
[ -n "$s" ] || qp_fail "cannot read the segment's tails"
[ "$s" -ge "$c1" ] || qp_fail "tails $s below the $c1 the first daemon reported"
qp_log "first daemon: reported $c1, consumed $s; producer went on: $a0 -> $a1"

qp_start_daemon
d2=$QP_DAEMON_PID
qp_wait_for 20 pinged $d2 || qp_fail "the second daemon does not answer"
qp_wait_for 20 listed $p || qp_fail "the second daemon did not adopt the segment"
sleep 0.5
kill -KILL $p
wait $p 2>/dev/null
wait_exited $p
a=$(progress_sum "$T/prog" 2)
c2=$(num "$(field $p rel Sample count)")
d=$(num "$(field $p - - dropped)")
l=$(num "$(field $p - - lost)")
# The second daemon continues from the first one's last state save: its
# count includes what that save held, and lost is the rest of S.
qp_log "attempted $a = count $c2 + dropped $d + lost $l (first consumed $s; + up to 2 in flight)"
[ "$l" -le "$s" ] || qp_fail "lost $l is more than the first daemon consumed ($s)"
[ $((l + c2 + d)) -le "$a" ] && [ $((l + c2 + d + 2)) -ge "$a" ] ||
  qp_fail "unbalanced: $c2 + $d + $l vs $a"
[ "$d" -gt 0 ] || qp_fail "rings of 4096 did not overflow during the 1 s without a daemon"
qp_wait_for 10 qp_shm_is 1 || qp_fail "$(qp_shm_count) shm objects left"
