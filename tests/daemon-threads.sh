#!/bin/sh
# qpulsed --threads 3: the drain spread over three threads, six producers of
# two threads each (half flat out, half paced so that they are drained
# while they run; half nesting Work inside Outer).  Every sample is
# aggregated or counted as dropped, exactly: per process (count = what the
# producer recorded, dropped = what it dropped), in the snapshot's
# dropped_total and in the daemon's own total at exit.  With the flight
# recorder and the slowest samples on: each process's slowest Work is
# among its slowest samples, and its samples are in the recorder's trace.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-threads

# Paced producers record RATE samples a second per thread.  Under valgrind
# and TSan (scripts/ci-extra.sh) the daemon is many times slower: fewer.
N=200000 RATE=400000
{ [ -n "${QPULSE_VALGRIND:-}" ] || [ -n "${QPULSE_SANITIZED:-}" ]; } && N=30000 RATE=60000
qp_start_daemon --threads 3 --history-mb 2 --slowest 5 --retain 600 -v
grep -q "3 drain threads" "$T/qpulsed.log" || qp_fail "--threads 3 not in effect"

pids=""
for i in 1 2 3 4 5 6; do
  nest=""
  pace=""
  [ $((i % 2)) = 0 ] && nest=-N
  [ $i -gt 3 ] && pace="-r $RATE"
  qp_bg "$PROD" -t 2 -n $N -D uniform:1000:100000 -S $i $nest $pace > "$T/prod.$i.out"
  pids="$pids $!"
  eval "out_$!=\$T/prod.$i.out nest_$!=$nest"
done
for p in $pids; do
  wait $p || qp_fail "producer $p failed"
done

total=0
dropped_all=0
for p in $pids; do
  wait_exited $p
  eval "out=\$out_$p nest=\$nest_$p"
  rec=$(sed -n 's/^recorded=\([0-9]*\) dropped=.*/\1/p' "$out")
  drop=$(sed -n 's/^recorded=[0-9]* dropped=\([0-9]*\)/\1/p' "$out")
  [ -n "$rec" ] && [ -n "$drop" ] || qp_fail "producer $p did not report its counts"
  # Each thread records N Work (and with -N, N Outer) and one Other.
  written=$((2 * N + 2))
  [ -n "$nest" ] && written=$((4 * N + 2))
  work=$(field $p gen Work count)
  other=$(field $p gen Other count)
  outer=0
  [ -n "$nest" ] && outer=$(field $p gen Outer count)
  got=$((work + other + outer))
  dropped=$(field $p - - dropped)
  qp_log "pid $p: written $written, aggregated $got, dropped $dropped (producer: $rec, $drop)"
  expect "pid $p: aggregated + dropped" $((got + dropped)) $written
  expect "pid $p: aggregated = recorded" $got "$rec"
  expect "pid $p: dropped = producer's drops" "$dropped" "$drop"
  total=$((total + got))
  dropped_all=$((dropped_all + dropped))
  if [ "$work" -gt 0 ]; then
    max=$(field $p gen Work max_ns)
    "$QPD_TOOL" req "SNAPSHOT cumulative pid=$p op=Work" > "$T/work.json"
    grep -q "\"slowest\":\[[^]]*\"dur_ns\":$max," "$T/work.json" ||
      { head -c 3000 "$T/work.json" >&2; qp_fail "pid $p: its slowest Work ($max ns) is not among the slowest"; }
    "$QPD_TOOL" req "HISTORY $p 0" > "$T/trace.json"
    grep -q '"samples":[1-9]' "$T/trace.json" || qp_fail "pid $p: no samples in the recorder"
  fi
done
snap cumulative
expect "dropped_total" "$(sed -n 's/.*"dropped_total":\([0-9]*\).*/\1/p' "$T/snap.json")" $dropped_all

kill -TERM $QP_DAEMON_PID
wait $QP_DAEMON_PID
expect "exit status after SIGTERM" $? 0
expect "samples the daemon counted" \
  "$(sed -n 's/.*exited cleanly after \([0-9]*\) samples.*/\1/p' "$T/qpulsed.log")" $total
expect "shm objects left" "$(qp_shm_count)" 0
exit 0
