#!/bin/sh
# reliability-daemon.sh — the balance with the real qpulsed: producers
# SIGKILLed at random moments, a daemon stopped (SIGSTOP) while rings
# overflow, more threads than slots.
#
# Killed producers (see reliability-kill.sh for why the bound is N): with A
# the attempted samples (progress counters), N threads, and the daemon's
# cumulative count C and dropped D for the process once it is seen dead,
#     A - N <= C + D <= A.
# Producers that end normally balance exactly: C + D = A.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup reldaemon
P="$top_builddir/tests/reliability-producer"
rounds=${QP_REL_ROUNDS:-12}

rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 )); }
num() { case $1 in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
progress_sum() { # FILE THREADS
  od -An -t u8 -w8 -v "$1" 2>/dev/null | awk -v n="$2" 'NR % 8 == 1 && NR <= 8 * n { s += $1 } END { print s + 0 }'
}
# balance PID A N EXACT: check the daemon's books for PID
balance() {
  wait_exited "$1"
  c=$(num "$(field "$1" rel Sample count)")
  d=$(num "$(field "$1" - - dropped)")
  qp_log "pid $1: attempted $2, aggregated $c + dropped $d ($3 threads)"
  if [ "$4" = exact ]; then
    [ $((c + d)) -eq "$2" ] || qp_fail "pid $1: $c + $d != attempted $2"
  else
    [ $((c + d)) -le "$2" ] && [ $((c + d + $3)) -ge "$2" ] ||
      qp_fail "pid $1: $c + $d outside [$2 - $3, $2]"
  fi
}

qp_start_daemon

# 1. SIGKILL at random moments (50..250 ms: past segment creation; the
#    earlier deaths are reliability-kill.sh's).
r=1
while [ $r -le "$rounds" ]; do
  n=$(( r % 3 + 1 ))
  "$P" -t $n -n 0 -p "$T/prog.$r" -q &
  p=$!
  sleep "$(printf '0.%03d' $((50 + $(rand 200))))"
  kill -KILL $p
  wait $p 2>/dev/null
  a=$(progress_sum "$T/prog.$r" $n)
  if qp_wait_for 5 listed $p; then
    balance $p "$a" $n bound
  else
    # Killed before its segment was whole (a loaded machine): then no
    # thread got past its first sample.
    [ "$a" -le $n ] || qp_fail "pid $p attempted $a samples but the daemon never saw it"
    qp_log "pid $p: killed before its segment was published ($a attempted)"
  fi
  r=$((r + 1))
done

# 2. The daemon stopped for a while: small rings overflow, the producer
#    carries on (it never waits for the daemon) and counts what it drops.
QPULSE_RING_RECORDS=256 "$P" -t 2 -n 20000 -s 20 -p "$T/prog.stop" >"$T/stop.out" &
p=$!
qp_wait_for 20 listed $p || qp_fail "the daemon did not find the producer"
kill -STOP "$QP_DAEMON_PID"
a0=$(progress_sum "$T/prog.stop" 2)
sleep 1
a1=$(progress_sum "$T/prog.stop" 2)
kill -CONT "$QP_DAEMON_PID"
[ "$a1" -gt "$a0" ] || qp_fail "the producer stalled while the daemon was stopped"
wait $p || qp_fail "producer failed"
balance $p 40000 2 exact
[ "$d" -gt 0 ] || qp_fail "rings of 256 did not overflow during a 1 s stop"

# 3. All thread slots taken: 8 threads, 2 slots, all 8 alive at once after
#    their first sample (so at least 6 first samples find no slot); the
#    slots are reused as threads exit, so later samples may find one.
QPULSE_THREADS=2 "$P" -t 8 -n 1000 -b >"$T/slots.out" 2>"$T/slots.err" &
p=$!
wait $p || qp_fail "producer with too few slots failed"
balance $p 8000 8 exact
[ "$d" -ge 6 ] || qp_fail "6 threads without a slot, yet only $d dropped"
[ "$(wc -l <"$T/slots.err")" -eq 1 ] || qp_fail "expected one line on stderr"

# Every segment was removed by the daemon; only its own record is left.
qp_wait_for 10 qp_shm_is 1 || qp_fail "$(qp_shm_count) shm objects left"
