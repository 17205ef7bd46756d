#!/usr/bin/env bash
# demo.sh BUILDDIR — the demo of `./quickstart demo` (README, "A short tour").
#
# Starts qpulsed in a namespace of its own (demo-PID, with its own runtime
# directory), runs both example programs (trading and ecommerce), and:
#   - when stdout is a terminal, opens qptop on them (q quits the demo);
#   - otherwise lets them run a few seconds ($QPULSE_DEMO_SECONDS, default 4),
#     prints one `qptop -b` text report, and exits 0.
# Either way it stops everything it started and leaves nothing in /dev/shm.
set -euo pipefail

build=${1:?usage: scripts/demo.sh BUILDDIR}
build=$(cd "$build" && pwd)
QPULSED=$build/daemon/qpulsed
QPTOP=$build/viewer/qptop
TRADING=$build/examples/trading
ECOMMERCE=$build/examples/ecommerce

say() { printf 'demo: %s\n' "$*" >&2; }

for p in "$QPULSED" "$QPTOP" "$TRADING" "$ECOMMERCE"; do
  [ -x "$p" ] || { say "$p is not built (run: make -C $build)"; exit 1; }
done

ns="demo-$$"
rundir=$(mktemp -d /tmp/qpulse-demo.XXXXXX)
chmod 0700 "$rundir"
export QPULSE_NS="$ns" QPULSE_RUNTIME_DIR="$rundir"
daemon_pid=""
example_pids=""

# Stops the examples first (so their last samples reach the daemon), then
# the daemon, each with TERM and then KILL; removes what is left behind.
stop_all() {
  local p i
  for p in $example_pids; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $example_pids; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -f /dev/shm/qpulse."$ns".* 2>/dev/null || true
  rm -rf "$rundir"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$QPULSED" --ns "$ns" 2>"$rundir/qpulsed.log" &
daemon_pid=$!
for i in $(seq 200); do
  [ -S "$rundir/$ns.sock" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.05
done
if [ ! -S "$rundir/$ns.sock" ]; then
  say "qpulsed did not start:"
  cat "$rundir/qpulsed.log" >&2
  exit 1
fi

if [ -t 1 ]; then
  run_s=86400          # until qptop quits; stop_all ends them
else
  report_after=${QPULSE_DEMO_SECONDS:-4}
  run_s=$((report_after + 30))
fi
"$TRADING" "$run_s" >"$rundir/trading.log" 2>&1 &
example_pids="$example_pids $!"
"$ECOMMERCE" "$run_s" >"$rundir/ecommerce.log" 2>&1 &
example_pids="$example_pids $!"

if [ -t 1 ]; then
  say "qpulsed runs in namespace $ns; opening qptop (h for help, q quits)"
  sleep 1
  "$QPTOP" --ns "$ns" || true
  exit 0
fi

say "running the examples for ${report_after}s in namespace $ns"
# on a busy machine the examples may take a moment to show up: wait for both
for _ in $(seq 150); do
  listed=$("$QPTOP" -b --ns "$ns" --format csv 2>/dev/null | cut -d, -f4 | sort -u) || true
  case "$listed" in *ecommerce*trading*) break ;; esac
  sleep 0.1
done
sleep "$report_after"
"$QPTOP" -b --ns "$ns" --format text
