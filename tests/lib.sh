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
  qp_valgrind_finish
  for p in $QP_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $QP_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
  rm -f /dev/shm/qpulse."$QPULSE_NS".* 2>/dev/null || true
  [ -n "${T:-}" ] && [ -z "${QP_KEEP:-}" ] && rm -rf "$T"
  [ -z "${QP_VG_BAD:-}" ] || exit 1
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
# With QPULSE_VALGRIND=1 (scripts/ci-extra.sh), qpulsed runs under valgrind
# (same pid); see qp_valgrind_finish.
qp_start_daemon() {
  local wait=10
  if [ -n "${QPULSE_VALGRIND:-}" ]; then
    wait=60
    qp_bg valgrind -q --error-exitcode=99 --leak-check=full \
      --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --log-file="$T/valgrind.%p.log" "$QPULSED" --ns "$QPULSE_NS" "$@" 2>>"$T/qpulsed.log"
    QP_VG_PIDS="${QP_VG_PIDS:-} $!"
  else
    qp_bg "$QPULSED" --ns "$QPULSE_NS" "$@" 2>>"$T/qpulsed.log"
  fi
  QP_DAEMON_PID=$!
  qp_wait_for $wait test -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ||
    { cat "$T/qpulsed.log" >&2; qp_fail "qpulsed did not start"; }
}

# At exit under QPULSE_VALGRIND: stop each daemon still running with
# SIGTERM and give valgrind time for its leak check (qp_cleanup's SIGKILL
# would cut it short); any error valgrind logged fails the test.
qp_valgrind_finish() {
  [ -n "${QPULSE_VALGRIND:-}" ] && [ -n "${QP_VG_PIDS:-}" ] || return 0
  local p n f
  for p in $QP_VG_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $QP_VG_PIDS; do
    n=0
    # Until it is gone or a zombie (our child, not reaped yet).
    while [ "$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null || echo Z)" != Z ] &&
      [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
  done
  for f in "$T"/valgrind.*.log; do
    [ -s "$f" ] || continue
    printf 'FAIL: valgrind found errors in qpulsed (%s):\n' "$f" >&2
    cat "$f" >&2
    QP_VG_BAD=1
  done
  QP_VG_PIDS=""
}
