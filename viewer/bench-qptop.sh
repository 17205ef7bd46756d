#!/usr/bin/env bash
# bench-qptop.sh BUILDDIR [SECONDS] [NPROCS] [NOPS] — qptop's CPU cost.
#
# Starts qpulsed in a namespace of its own and NPROCS (100) producers with
# NOPS (50) operations each (tests/viewer_prod many), waits until qpulsed
# lists them all, then runs the live screen under tmux at 1 Hz for SECONDS
# (30) and reads its CPU time (utime + stime) from /proc.  Same run,
# baseline: the same screen on an empty namespace (what ncurses and the
# loop cost with no data), and one `qptop -b --format json` (fetch + parse).
# Prints the CPU % of one core and the ratio to the 5 % budget; asserts
# nothing (not part of make check).
set -euo pipefail
build=$(cd "${1:?usage: viewer/bench-qptop.sh BUILDDIR [SECONDS] [NPROCS] [NOPS]}" && pwd)
secs=${2:-30}
nprocs=${3:-100}
nops=${4:-50}
QPULSED=$build/daemon/qpulsed
QPTOP=$build/viewer/qptop
PROD=$build/tests/viewer_prod
for p in "$QPULSED" "$QPTOP" "$PROD"; do
  [ -x "$p" ] || { echo "bench-qptop: $p is not built (make check builds viewer_prod)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench-qptop: needs tmux" >&2; exit 1; }

ns="bench-qptop-$$"
empty_ns="bench-qptop-empty-$$"
run=$(mktemp -d /tmp/qpulse-bench-qptop.XXXXXX)
chmod 0700 "$run"
export QPULSE_RUNTIME_DIR="$run" QPULSE_RING_RECORDS=1024 QPULSE_THREADS=4
S="bench-qptop-$$"
pids=""
cleanup() {
  tmux -L "$S" kill-server 2>/dev/null || true
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f /dev/shm/qpulse."$ns".* /dev/shm/qpulse."$empty_ns".* 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # so that cleanup runs on a signal too

start_daemon() {
  "$QPULSED" --ns "$1" 2>>"$run/qpulsed.log" &
  pids="$pids $!"
  for _ in $(seq 200); do [ -S "$run/$1.sock" ] && return 0; sleep 0.05; done
  echo "bench-qptop: qpulsed did not start" >&2
  exit 1
}
start_daemon "$ns"
start_daemon "$empty_ns"
for _ in $(seq "$nprocs"); do
  QPULSE_NS="$ns" "$PROD" many "$nops" 0 &
  pids="$pids $!"
done

# wait until every producer shows with all its ops
want=$((nprocs * nops))
for _ in $(seq 120); do
  rows=$("$QPTOP" -b --ns "$ns" --format csv | tail -n +2 | wc -l)
  [ "$rows" -ge "$want" ] && break
  sleep 1
done
bytes=$("$QPTOP" -b --ns "$ns" --format json | wc -c)
echo "snapshot: $rows process x op rows, $bytes bytes of JSON"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# measure NS LABEL: the live screen on namespace NS for $secs seconds
measure() {
  tmux -L "$S" new-session -d -s "m$1" -x 160 -y 50 "exec env TERM=xterm-256color '$QPTOP' --ns '$1' -d 1"
  local pid
  pid=$(tmux -L "$S" list-panes -t "m$1" -F '#{pane_pid}')
  sleep 3                                   # warm-up: first fetches, curses set-up
  local t0 c0 t1 c1
  t0=$(date +%s.%N)
  c0=$(ticks "$pid")
  sleep "$secs"
  t1=$(date +%s.%N)
  c1=$(ticks "$pid")
  tmux -L "$S" send-keys -t "m$1" q
  awk -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.3f\n", 100 * c / hz / (t1 - t0) }'
}

busy=$(measure "$ns")
idle=$(measure "$empty_ns")

# one batch report: fetch + parse, wall time of the process
t0=$(date +%s%N)
for _ in 1 2 3 4 5; do "$QPTOP" -b --ns "$ns" --format text >/dev/null; done
t1=$(date +%s%N)
per_report_ms=$(( (t1 - t0) / 5000000 ))

echo "qptop live screen, 1 Hz, $nprocs processes x $nops ops, ${secs}s: ${busy}% of a core"
echo "baseline, same run: the screen on an empty namespace: ${idle}% of a core"
echo "one qptop -b text report (start, fetch, parse, print): ${per_report_ms} ms wall"
awk -v b="$busy" -v i="$idle" 'BEGIN {
  printf "ratio to the 5%% budget: %.2f (under 1 = within budget)\n", b / 5;
  if (i > 0) printf "ratio to the empty-namespace baseline: %.1fx\n", b / i;
}'
