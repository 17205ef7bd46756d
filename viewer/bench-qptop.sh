#!/usr/bin/env bash
# bench-qptop.sh BUILDDIR [SECONDS] [NPROCS...] — qptop's CPU cost, and the
# daemon's cost of serving it, per host size.
#
# For each NPROCS (default: 100 1000) starts qpulsed in a namespace of its
# own and NPROCS producers with 50 operations each, each recording one
# sample of every op per second (tests/viewer_prod fleet: one program that
# forks them, so that a thousand start in a second), waits until qpulsed
# lists them all, then for SECONDS (30) each:
#   idle   no viewer: what qpulsed spends draining (the daemon's baseline)
#   view   the live screen under tmux at 1 Hz, rows from the daemon (VIEW)
#   whole  the same screen fetching and parsing the whole snapshot every
#          refresh (QPTOP_SNAPSHOT=1: how qptop worked before VIEW)
# and reads CPU time (utime + stime) from /proc: qptop's share of a core, and
# qpulsed's CPU per refresh above its idle baseline.  First screen: from
# starting qptop to its first row on the screen (tmux polled every 10 ms).
# Same run, baselines: the screen on an empty namespace, and "whole".
# Asserts nothing (not part of make check).
set -euo pipefail
build=$(cd "${1:?usage: viewer/bench-qptop.sh BUILDDIR [SECONDS] [NPROCS...]}" && pwd)
secs=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
sizes=${*:-100 1000}
nops=50
QPULSED=$build/daemon/qpulsed
QPTOP=$build/viewer/qptop
PROD=$build/tests/viewer_prod
for p in "$QPULSED" "$QPTOP" "$PROD"; do
  [ -x "$p" ] || { echo "bench-qptop: $p is not built (make check builds viewer_prod)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench-qptop: needs tmux" >&2; exit 1; }

run=$(mktemp -d /tmp/qpulse-bench-qptop.XXXXXX)
chmod 0700 "$run"
export QPULSE_RUNTIME_DIR="$run" QPULSE_RING_RECORDS=1024 QPULSE_THREADS=4
S="bench-qptop-$$"
pids=""
nss=""
cleanup() {
  tmux -L "$S" kill-server 2>/dev/null || true
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in $nss; do rm -f /dev/shm/qpulse."$n".* 2>/dev/null || true; done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # so that cleanup runs on a signal too

dpid=""
start_daemon() {
  nss="$nss $1"
  "$QPULSED" --ns "$1" 2>>"$run/qpulsed.log" &
  dpid=$!
  pids="$pids $dpid"
  for _ in $(seq 200); do [ -S "$run/$1.sock" ] && return 0; sleep 0.05; done
  echo "bench-qptop: qpulsed did not start" >&2
  exit 1
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
pct() { awk -v c="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", 100 * c / hz / s }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# measure NS DAEMONPID MODE: qptop's % of a core and qpulsed's ms per
# refresh above its idle baseline ($idle_ticks over $idle_s); MODE view or
# whole.  Sets m_qptop, m_daemon_ms, m_first_ms.
measure() {
  local env="" sess="m$RANDOM"
  [ "$3" = whole ] && env="QPTOP_SNAPSHOT=1"
  local t0 pid
  t0=$(now)
  tmux -L "$S" new-session -d -s "$sess" -x 160 -y 50 \
    "exec env TERM=xterm-256color $env '$QPTOP' --ns '$1' -d 1"
  pid=$(tmux -L "$S" list-panes -t "$sess" -F '#{pane_pid}')
  m_first_ms="-"
  for _ in $(seq 1000); do
    if tmux -L "$S" capture-pane -p -t "$sess" | grep -q "viewer_prod\|no instrumented"; then
      m_first_ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", 1000 * (b - a) }')
      break
    fi
    sleep 0.01
  done
  sleep 3                                   # warm-up
  local a0 c0 d0 a1 c1 d1
  a0=$(now); c0=$(ticks "$pid"); d0=$(ticks "$2")
  sleep "$secs"
  a1=$(now); c1=$(ticks "$pid"); d1=$(ticks "$2")
  tmux -L "$S" send-keys -t "$sess" q
  local s
  s=$(elapsed "$a0" "$a1")
  m_qptop=$(pct $((c1 - c0)) "$s")
  # refreshes at 1 Hz: one per second
  m_daemon_ms=$(awk -v d="$((d1 - d0))" -v i="$idle_ticks" -v is="$idle_s" -v s="$s" -v hz="$hz" \
    'BEGIN { x = (d - i * s / is) * 1000 / hz / s; printf "%.1f", x < 0 ? 0 : x }')
}

empty_ns="bench-qptop-empty-$$"
start_daemon "$empty_ns"
empty_pid=$dpid
idle_ticks=0 idle_s=1
measure "$empty_ns" "$empty_pid" view
empty_view=$m_qptop empty_first=$m_first_ms
measure "$empty_ns" "$empty_pid" whole
empty_whole=$m_qptop
echo "baseline, same run: the screen on an empty namespace: ${empty_view}% (VIEW), ${empty_whole}% (whole snapshots) of a core; first screen ${empty_first} ms (tmux, qptop's start, the polling)"

for nprocs in $sizes; do
  ns="bench-qptop-$nprocs-$$"
  start_daemon "$ns"
  d=$dpid
  QPULSE_NS="$ns" "$PROD" fleet "$nprocs" "$nops" >"$run/fleet-$nprocs.out" &
  pids="$pids $!"
  want=$((nprocs * nops))
  rows=0
  for _ in $(seq 120); do
    rows=$("$QPTOP" -b --ns "$ns" --format csv 2>/dev/null | tail -n +2 | wc -l || true)
    [ "$rows" -ge "$want" ] && break
    sleep 1
  done
  bytes=$("$QPTOP" -b --ns "$ns" --format json 2>/dev/null | wc -c || true)
  echo
  echo "== $nprocs processes x $nops ops: $rows process x op rows, $bytes bytes of snapshot JSON"

  a0=$(now); i0=$(ticks "$d")
  sleep "$secs"
  a1=$(now); i1=$(ticks "$d")
  idle_ticks=$((i1 - i0)) idle_s=$(elapsed "$a0" "$a1")
  echo "qpulsed draining them, no viewer: $(pct "$idle_ticks" "$idle_s")% of a core"

  measure "$ns" "$d" view
  v_q=$m_qptop v_d=$m_daemon_ms v_f=$m_first_ms
  measure "$ns" "$d" whole
  w_q=$m_qptop w_d=$m_daemon_ms w_f=$m_first_ms

  t0=$(date +%s%N)
  fails=0
  for _ in 1 2 3; do "$QPTOP" -b --ns "$ns" --format text >/dev/null 2>&1 || fails=$((fails + 1)); done
  t1=$(date +%s%N)
  per_report_ms=$(( (t1 - t0) / 3000000 ))
  [ "$fails" = 0 ] || per_report_ms="$per_report_ms ($fails of 3 timed out)"

  printf '%-34s %12s %12s\n' "live screen, 1 Hz, ${secs}s" "VIEW" "whole (old)"
  printf '%-34s %11s%% %11s%%\n' "qptop CPU (one core)" "$v_q" "$w_q"
  printf '%-34s %9s ms %9s ms\n' "qpulsed CPU per second of screen" "$v_d" "$w_d"
  printf '%-34s %9s ms %9s ms\n' "first screen" "$v_f" "$w_f"
  printf '%-34s %9s ms %9s ms\n' "  less the empty namespace's" "$((v_f - empty_first))" "$((w_f - empty_first))"
  echo "one qptop -b text report (start, fetch, parse, print): ${per_report_ms} ms wall"
  awk -v v="$v_q" -v w="$w_q" 'BEGIN {
    printf "ratio to the 5%% budget: %.2f (VIEW), %.2f (whole) (under 1 = within budget)\n", v / 5, w / 5;
    if (v > 0) printf "qptop CPU, whole / VIEW: %.1fx\n", w / v;
  }'
done
