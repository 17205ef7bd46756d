# bench/bench-lib.sh — the set-up the shell benchmarks share; source it:
#
#   . "$(dirname "$0")/bench-lib.sh"
#   bench_setup NAME BUILDDIR TARGET...
#
# bench_setup makes the TARGETs in BUILDDIR ($build, made absolute), gives
# the run its own namespace ($QPULSE_NS = NAME-PID), runtime directory and
# scratch directory ($T), and sets the trap that, at exit or on a signal,
# kills the processes in $pids, stops the daemon $dpid and removes the
# namespace's /dev/shm objects and $T.

bench_setup() {
  local name=$1
  build=$(cd "$2" && pwd) || exit 1
  shift 2
  make -C "$build" -s "$@" >/dev/null || exit 1
  export QPULSE_NS="$name-$$"
  T=$(mktemp -d "/tmp/qpulse-$name.XXXXXX")
  export QPULSE_RUNTIME_DIR="$T/run"
  mkdir -m 0700 "$QPULSE_RUNTIME_DIR"
  pids=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM HUP
}

bench_cleanup() {
  for p in $pids; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
  [ -n "${dpid:-}" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  rm -f /dev/shm/qpulse."$QPULSE_NS".*
  rm -rf "$T"
}
