#!/usr/bin/env bash
# bench/mem_real.sh BUILDDIR [PROCS] [RATE] [SECONDS] — qpulsed's own memory
# with real producers (not run by make check).
#
# PROCS processes (default 20) of 50 operations each (bench/mem_prod.c):
# first idle (segments attached, no samples), then each operation recording
# RATE samples per second (default 100) for SECONDS (default 15, more than
# the 10 s window).  Prints the daemon's anonymous (heap) memory from
# /proc/PID/smaps_rollup in each phase, and the busy phase's extra memory
# per operation, against the bench/bench_window_mem figure as a ratio.
set -uo pipefail
build=${1:?usage: bench/mem_real.sh BUILDDIR [PROCS] [RATE] [SECONDS]}
procs=${2:-20}
rate=${3:-100}
secs=${4:-15}
. "$(dirname "$0")/bench-lib.sh"
bench_setup memreal "$build" daemon/qpulsed bench/mem_prod bench/bench_window_mem tests/qpd_tool
anon_kib() { awk '/^Anonymous:/ { print $2 }' "/proc/$dpid/smaps_rollup"; }
listed() {
  "$build/tests/qpd_tool" req "SNAPSHOT cumulative" 2>/dev/null |
    jq '[.processes[] | select(.alive)] | length' 2>/dev/null
}
"$build/daemon/qpulsed" --state none --retain 0 2>"$T/log" &
dpid=$!
for _ in $(seq 100); do [ -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] && break; sleep 0.1; done
base=$(anon_kib)
start() {
  for _ in $(seq "$procs"); do "$build/bench/mem_prod" "$1" & pids="$pids $!"; done
  for _ in $(seq 100); do [ "$(listed)" = "$procs" ] && break; sleep 0.1; done
}
start 0
sleep 2
idle=$(anon_kib)
for p in $pids; do kill -KILL "$p"; wait "$p" 2>/dev/null; done
pids=""
sleep 2
start "$rate"
sleep "$secs"
busy=$(anon_kib)
ops=$((procs * 50))
per_proc=$(( (idle - base) * 1024 / procs ))
per_op=$(awk -v b="$busy" -v i="$idle" -v n=$ops 'BEGIN { printf "%.1f", (b - i) / n }')
model=$("$build/bench/bench_window_mem" "$rate" | awk '/samples\/s per op:/ { print $5 }')
echo "qpulsed memory with real producers: $procs processes x 50 ops, $rate samples/s per op, ${secs}s"
echo "  daemon heap: empty ${base} KiB, $procs idle processes ${idle} KiB ($per_proc bytes each),"
echo "  busy ${busy} KiB: ${per_op} KiB per operation (bench_window_mem: ${model} KiB/op, ratio $(awk -v a="$per_op" -v b="$model" 'BEGIN { printf "%.2f", a / b }'))"
