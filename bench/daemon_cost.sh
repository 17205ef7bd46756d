#!/usr/bin/env bash
# bench/daemon_cost.sh BUILDDIR [SECONDS] [PROCSxRATE ...] — what qpulsed
# costs against the work it is given (not run by make check).
#
# For each PROCSxRATE (default: 10x1 10x100 10x1000 100x1 100x10 100x100
# 1000x1 1000x10) starts a daemon of its own (default options: recorder,
# slowest samples, windows on; --state none), then PROCS producers of 50
# operations each (bench/mem_prod.c), each operation recording RATE samples
# per second; once the daemon lists them all and a window has filled
# (11 s), measures for SECONDS (default 10): the daemon's CPU (utime +
# stime of all its threads, as a share of one core), its heap (Anonymous in
# /proc/PID/smaps_rollup, less the empty daemon's) and that per operation,
# the samples per second it aggregated, and the drops.  The heap includes
# the flight recorder, which fills at 40 bytes a sample up to its bound
# (7/8 of --history-mb 64): "recorder" estimates it from the rate and the
# time since the producers started, and KiB/op is the heap without it.
# The same machine runs the producers: on a small one they compete with
# the daemon.
set -uo pipefail
build=${1:?usage: bench/daemon_cost.sh BUILDDIR [SECONDS] [PROCSxRATE ...]}
secs=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
configs=${*:-10x1 10x100 10x1000 100x1 100x10 100x100 1000x1 1000x10}
build=$(cd "$build" && pwd)
make -C "$build" -s daemon/qpulsed bench/mem_prod tests/qpd_tool >/dev/null || exit 1
command -v jq >/dev/null || { echo "daemon_cost: needs jq" >&2; exit 1; }
T=$(mktemp -d /tmp/qpulse-dcost.XXXXXX)
export QPULSE_RUNTIME_DIR="$T/run"
mkdir -m 0700 "$QPULSE_RUNTIME_DIR"
pids="" dpid="" nss=""
stop_all() {
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=""
  if [ -n "$dpid" ]; then kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; fi
  dpid=""
}
cleanup() {
  stop_all
  for n in $nss; do rm -f /dev/shm/qpulse."$n".*; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
anon_kib() { awk '/^Anonymous:/ { print $2 }' "/proc/$1/smaps_rollup"; }
now() { date +%s.%N; }
head_json() { "$build/tests/qpd_tool" req "VIEW window rows=1" 2>/dev/null; }

printf '%-7s %6s %9s | %12s %10s %9s %9s %9s %10s\n' procs ops "rate/op" "samples/s" \
  "daemon CPU" "heap MiB" "recorder" "KiB/op" "dropped"
for c in $configs; do
  procs=${c%x*} rate=${c#*x}
  export QPULSE_NS="dcost-$$-$c"
  nss="$nss $QPULSE_NS"
  "$build/daemon/qpulsed" --state none 2>"$T/log-$c" &
  dpid=$!
  for _ in $(seq 100); do [ -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] && break; sleep 0.1; done
  base=$(anon_kib "$dpid")
  ts=$(now)
  for _ in $(seq "$procs"); do "$build/bench/mem_prod" "$rate" & pids="$pids $!"; done
  for _ in $(seq 300); do
    [ "$(head_json | jq '.view.alive' 2>/dev/null)" = "$procs" ] && break
    sleep 0.2
  done
  sleep 11   # a full window
  t0=$(now); c0=$(ticks "$dpid")
  d0=$(head_json | jq '.dropped_total')
  sleep "$secs"
  t1=$(now); c1=$(ticks "$dpid")
  h=$(head_json)
  d1=$(echo "$h" | jq '.dropped_total')
  sps=$(echo "$h" | jq '.samples_per_s')
  heap=$(anon_kib "$dpid")
  awk -v p="$procs" -v r="$rate" -v sps="$sps" -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" \
      -v t1="$t1" -v ts="$ts" -v heap="$heap" -v base="$base" -v d="$((d1 - d0))" 'BEGIN {
    cpu = 100 * c / hz / (t1 - t0)
    rec = sps * (t1 - ts) * 40 / 1024; if (rec > 56 * 1024) rec = 56 * 1024   # KiB
    stats = heap - base - rec; if (stats < 0) stats = 0
    printf "%-7d %6d %9d | %12.0f %9.1f%% %9.1f %9.1f %9.1f %10d\n", p, 50, r, sps, cpu,
      (heap - base) / 1024, rec / 1024, stats / (p * 50), d }'
  stop_all
done
