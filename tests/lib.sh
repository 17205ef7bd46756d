# tests/lib.sh — helpers for the shell tests; source it first.
#
#   . "$top_srcdir/tests/lib.sh"; qp_setup mytest
#
# qp_setup gives the test its own namespace ($QPULSE_NS), its own runtime
# directory ($QPULSE_RUNTIME_DIR, the daemon's socket lives there) and a
# scratch directory ($T), and on exit kills what the test started (qp_bg)
# and removes the namespace's shared memory.  Tests run in parallel.

set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

QPULSED="$top_builddir/daemon/qpulsed"
QPTOP="$top_builddir/viewer/qptop"
QPULSE="$top_builddir/tools/qpulse"
EXAMPLES="$top_builddir/examples"
QP_PIDS=""

qp_log() { printf '# %s\n' "$*" >&2; }
qp_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
qp_skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }

qp_cleanup() {
  local p
  for p in $QP_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $QP_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
  rm -f /dev/shm/qpulse."$QPULSE_NS".* 2>/dev/null || true
  [ -n "${T:-}" ] && [ -z "${QP_KEEP:-}" ] && rm -rf "$T"
}

qp_setup() {
  local name=$1
  export QPULSE_NS="t-${name}-$$"
  T=$(mktemp -d "/tmp/qpulse-test-${name}.XXXXXX")
  export QPULSE_RUNTIME_DIR="$T/run"
  mkdir -m 0700 "$QPULSE_RUNTIME_DIR"
  export T
  trap qp_cleanup EXIT
}

# qp_bg CMD...: start in the background, remember the pid in $!; killed at exit.
qp_bg() {
  "$@" &
  QP_PIDS="$QP_PIDS $!"
}

# qp_wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
qp_wait_for() {
  local limit=$1; shift
  local end=$(( $(date +%s%N) + limit * 1000000000 ))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.05
  done
}

# qp_shm_count: shared-memory objects of this test's namespace.
qp_shm_count() {
  ls /dev/shm 2>/dev/null | grep -c "^qpulse\.${QPULSE_NS}\." || true
}

# qp_start_daemon [ARGS...]: start qpulsed in this namespace and wait until
# it answers on its socket.
qp_start_daemon() {
  qp_bg "$QPULSED" --ns "$QPULSE_NS" "$@" 2>>"$T/qpulsed.log"
  QP_DAEMON_PID=$!
  qp_wait_for 10 test -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ||
    { cat "$T/qpulsed.log" >&2; qp_fail "qpulsed did not start"; }
}
