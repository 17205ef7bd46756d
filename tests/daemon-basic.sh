#!/bin/sh
# qpulsed end to end: exact cumulative counts and percentiles after the
# producers exit, segments removed, short-lived programs counted exactly,
# nesting (children) reported, a second daemon refused, SIGTERM exits 0
# and leaves nothing behind.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-basic

qp_start_daemon
"$QPD_TOOL" req PING | grep -q "\"ns\":\"$QPULSE_NS\"" || qp_fail "PING reply"

# 1. Exact counts and percentiles (within 1% of the exact values this test
# computes from what the producer recorded) on uniform, log-normal, bimodal
# with a 1% slow tail, and values of 1 ns and 1 hour.  50000 samples a
# thread fit a ring, so none can be dropped however slowly the daemon
# drains on a loaded machine.
for dist in uniform:1000:100000 lognormal:20000:1 bimodal:2000:5000000 extremes; do
  "$PROD" -t 4 -n 50000 -D $dist -S 7 -o "$T/vals" > "$T/prod.out" &
  P=$!
  wait $P || qp_fail "producer failed"
  wait_exited $P
  expect "$dist: dropped" "$(field $P - - dropped)" 0
  expect "$dist: Work count" "$(field $P gen Work count)" 200000
  expect "$dist: Other count" "$(field $P gen Other count)" 4
  "$QPD_TOOL" pct "$T/snap.json" $P gen Work "$T/vals" >&2 ||
    qp_fail "$dist: percentiles are off by more than 1%"
done
expect "segments left" "$(qp_shm_count)" 1   # only the daemon's record

# 2. Nesting: Work recorded inside Outer is Outer's child.
"$PROD" -t 1 -n 1000 -D const:5000 -N > /dev/null &
P=$!
wait $P
wait_exited $P
expect "Outer count" "$(field $P gen Outer count)" 1000
expect "Outer's child Work" "$("$QPD_TOOL" kid "$T/snap.json" $P gen Outer Work)" "1000 5000000"

# 2b. Garbage durations near 2^64 (a QPULSE_RECORD of a negative
# difference): the snapshot stays readable (integers above 2^63-1 are
# written as 2^63-1: JSON readers refuse bigger ones), the sum saturates
# instead of wrapping, and mean and stddev stay right.
"$PROD" -t 1 -n 4 -D const:1e19 > /dev/null &
P=$!
wait $P
wait_exited $P
expect "huge total_ns" "$(field $P gen Work total_ns)" 9223372036854775807
expect "huge max_ns" "$(field $P gen Work max_ns)" 9223372036854775807
expect "huge mean_ns" "$(field $P gen Work mean_ns)" 10000000000000000000.000
expect "huge stddev_ns" "$(field $P gen Work stddev_ns)" 0.000

# 3. Short-lived programs: each lives ~1 ms and exits before the daemon
# looks; it must leave its segment for the daemon, and the counts are exact.
pids=""
for i in 1 2 3 4 5 6 7 8; do
  "$PROD" -t 1 -n 100 -D const:1000 > /dev/null &
  pids="$pids $!"
done
wait $pids
for p in $pids; do
  wait_exited $p
  expect "short-lived $p count" "$(field $p gen Work count)" 100
done
qp_wait_for 10 qp_shm_is 1 || qp_fail "segments left behind: $(qp_shm_count)"

# 4. One daemon per namespace.
if "$QPULSED" --ns "$QPULSE_NS" 2> "$T/second.err"; then
  qp_fail "a second qpulsed started in the same namespace"
else
  rc=$?
fi
expect "second daemon's exit status" $rc 1
grep -q "already serves namespace" "$T/second.err" || qp_fail "no clear message: $(cat "$T/second.err")"

# 5. Bad requests get an error and the daemon stays up.
"$QPD_TOOL" req "FOO" | grep -q '"error":"unknown request' || qp_fail "unknown request"
"$QPD_TOOL" req "SNAPSHOT sideways" | grep -q '"error"' || qp_fail "bad snapshot mode"
"$QPD_TOOL" req PING > /dev/null || qp_fail "daemon gone after bad requests"

# 6. RESET clears the statistics.
"$QPD_TOOL" req RESET | grep -q '"ok":true' || qp_fail "RESET"
snap cumulative
grep -q '"processes":\[\]' "$T/snap.json" || qp_fail "exited processes still listed after RESET"

# 7. SIGTERM: drain, exit 0, remove socket and presence record.
kill -TERM $QP_DAEMON_PID
wait $QP_DAEMON_PID
expect "exit status after SIGTERM" $? 0
[ ! -e "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] || qp_fail "socket left behind"
expect "shm objects left" "$(qp_shm_count)" 0
exit 0
