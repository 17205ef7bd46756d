#!/bin/sh
# reliability-kill.sh — producers SIGKILLed at random moments, many times.
#
# Guarantee checked (reliability-drain.c does the arithmetic): with A the
# samples the producer's threads had attempted when the kill landed (their
# progress counters, stored before each sample in a file that survives
# SIGKILL), and N the threads,
#     A - N  <=  drained + counted as dropped  <=  A
# i.e. every sample is either consumed or counted, except the one each
# thread may have had in flight at the kill (attempted, not yet published:
# it is lost and can't be known); and no record the consumer reads is torn
# or repeated, although the producer is killed mid-write in many rounds
# (its loop does little but write records).
. "$top_srcdir/tests/lib.sh"
qp_setup relkill
P="$top_builddir/tests/reliability-producer"
D="$top_builddir/tests/reliability-drain"
rounds=${QP_REL_ROUNDS:-40}

rand() { # rand N: 0..N-1
  echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

inflight=0
r=1
while [ $r -le $rounds ]; do
  threads=$(( r % 4 + 1 ))
  prog="$T/progress.$r"
  "$P" -t $threads -n 0 -p "$prog" -q &
  ppid=$!
  "$D" -P $ppid -p "$prog" -t $threads >"$T/drain.$r" 2>&1 &
  dpid=$!
  # 0..80 ms: the first rounds die before or while creating the segment.
  ms=$(( r <= 4 ? r - 1 : $(rand 80) ))
  sleep "$(printf '0.%03d' $ms)"
  kill -KILL $ppid
  wait $ppid 2>/dev/null
  if ! wait $dpid; then
    cat "$T/drain.$r" >&2
    qp_fail "round $r ($threads threads, killed after ${ms} ms): unbalanced or torn"
  fi
  grep -q 'unaccounted=0' "$T/drain.$r" || inflight=$((inflight + 1))
  qp_log "round $r: $threads threads, ${ms} ms: $(tail -n 1 "$T/drain.$r")"
  r=$((r + 1))
done
[ "$(qp_shm_count)" -eq 0 ] || { ls /dev/shm >&2; qp_fail "segments left in /dev/shm"; }
qp_log "$rounds rounds; $inflight had a sample in flight at the kill (lost, within the bound)"
