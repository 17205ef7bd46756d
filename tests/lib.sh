# tests/lib.sh — helpers for the shell tests; source it first.
#
#   . "$top_srcdir/tests/lib.sh"; qp_setup mytest
#
# qp_setup gives the test its own namespace ($QPULSE_NS), its own runtime
# directory ($QPULSE_RUNTIME_DIR, the daemon's socket lives there) and a
# scratch directory ($T).  Tests run in parallel.
#
# Cleanup is this file's job, not the tests': one trap, set by qp_setup,
# runs on every way out (success, qp_fail or any exit, SIGINT, SIGTERM,
# SIGHUP, and the time limit below) and
#   - stops every process the test started: those started with qp_bg, every
#     descendant of the test's shell (a plain `cmd &` included), and every
#     process whose environment carries the test's QPULSE_NS (a daemon that
#     detached, a producer started through setpriv or env, a tmux server);
#     SIGTERM first, SIGKILL after 2 s, until none is left;
#   - removes the namespace's /dev/shm objects (qpulse.$QPULSE_NS.*), any
#     runtime directory and tmux server of qp_tmux, and $T.
# A test that makes another namespace (scripts/demo.sh does) names it with
# qp_track_ns so that it is swept the same way.
#
# Time limit: $QP_TIMEOUT seconds (default 900, 2700 under valgrind or
# TSan); past it the test fails ("FAIL: timed out") and is cleaned up.
# The exit status is the test's own (1 when valgrind found errors).

set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

QPULSED="$top_builddir/daemon/qpulsed"
QPTOP="$top_builddir/viewer/qptop"
QPULSE="$top_builddir/tools/qpulse"
EXAMPLES="$top_builddir/examples"
QP_PIDS=""
QP_EXTRA_NS=""
QP_WATCHDOG=""

qp_log() { printf '# %s\n' "$*" >&2; }
qp_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
qp_skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }

# qp_track_ns NS: also sweep namespace NS (processes and /dev/shm) at exit.
qp_track_ns() { QP_EXTRA_NS="$QP_EXTRA_NS $1"; }

# qp_tmux ARGS...: tmux with a server of the test's own (socket in $T),
# killed at exit.
qp_tmux() { tmux -S "$T/tmux.sock" "$@"; }

# qp_leftover_pids: live (not zombie) processes of the test, other than
# this shell: what qp_bg started, the descendants of this shell (a plain
# `cmd &` included), and the processes whose environment holds one of the
# test's namespaces, with their descendants.  (/proc/PID/environ is what PID
# was started with: a forked subshell shows its parent's, hence the
# descendants too.)  The pipeline that looks is left out.
qp_leftover_pids() {
  local ns extra="$QP_PIDS"
  for ns in $QPULSE_NS $QP_EXTRA_NS; do
    extra="$extra $(grep -lzxF "QPULSE_NS=$ns" /proc/[0-9]*/environ 2>/dev/null |
      sed -n 's,^/proc/\([0-9]*\)/environ$,\1,p' | tr '\n' ' ')"
  done
  # /proc/PID/stat is "pid (comm) state ppid ...": comm may hold spaces
  # and parentheses, hence the split on the last ") ".
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root=$$ -v extra="$extra" '
    function parse(line) { n = split(line, a, ") "); split(a[n], f, " ")
                           split(line, h, " "); return h[1] + 0 }
    { pid = parse($0); state[pid] = f[1]; par[pid] = f[2] + 0 }
    END {
      # Ourselves: this awk and its ancestors below root, with whatever
      # the topmost of them runs (the command substitution of the caller).
      getline self < "/proc/self/stat"
      me = parse(self); par[me] = f[2] + 0; top = me
      while ((top in par) && par[top] != root && par[top] > 1) top = par[top]
      m = split(extra, e, " ")
      for (i = 1; i <= m; i++) keep[e[i] + 0] = 1
      keep[root] = 1; skip[top] = 1; skip[me] = 1
      found = 1
      while (found) { found = 0
        for (p in par) if (!(p in keep) && !(p in skip) && (par[p] in keep)) { keep[p] = 1; found = 1 }
        for (p in par) if (!(p in skip) && (par[p] in skip)) { skip[p] = 1; found = 1 } }
      for (p in keep) if (p != root && !(p in skip) && (p in state) && state[p] != "Z") print p
    }'
}

# qp_stop_all: SIGTERM every leftover process, SIGKILL what remains after
# 2 s, until none is left (a dying process may have started another).
qp_stop_all() {
  local round left p n
  for round in 1 2 3 4 5; do
    left=$(qp_leftover_pids)
    [ -n "$left" ] || return 0
    [ $round -eq 1 ] && [ -n "${QP_VERBOSE_CLEANUP:-}" ] && qp_log "stopping: $left"
    for p in $left; do kill -TERM "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
    n=0
    while [ $n -lt 40 ] && [ -n "$(qp_leftover_pids)" ]; do sleep 0.05; n=$((n + 1)); done
    for p in $(qp_leftover_pids); do kill -KILL "$p" 2>/dev/null; done
    n=0
    while [ $n -lt 40 ] && [ -n "$(qp_leftover_pids)" ]; do sleep 0.05; n=$((n + 1)); done
  done
  left=$(qp_leftover_pids)
  [ -z "$left" ] || printf 'FAIL: processes that would not die: %s\n' "$left" >&2
}

qp_cleanup() {
  local status=$? ns
  trap '' INT TERM HUP
  trap - EXIT
  [ -n "$QP_WATCHDOG" ] && kill -TERM "$QP_WATCHDOG" 2>/dev/null
  qp_valgrind_finish
  [ -S "${T:-/nonexistent}/tmux.sock" ] && tmux -S "$T/tmux.sock" kill-server 2>/dev/null
  qp_stop_all
  for ns in $QPULSE_NS $QP_EXTRA_NS; do
    rm -f /dev/shm/qpulse."$ns".* 2>/dev/null
  done
  [ -n "${T:-}" ] && [ -z "${QP_KEEP:-}" ] && rm -rf "$T"
  [ -z "${QP_VG_BAD:-}" ] || status=1
  exit $status
}

# The time limit: a process of its own (sleep, then SIGTERM the test's
# shell and what it runs in the foreground, so the trap runs at once).
qp_start_watchdog() {
  local limit=${QP_TIMEOUT:-}
  if [ -z "$limit" ]; then
    limit=900
    { [ -n "${QPULSE_VALGRIND:-}" ] || [ "${QPULSE_SANITIZED:-}" = thread ]; } && limit=2700
  fi
  [ "$limit" -gt 0 ] 2>/dev/null || return 0
  sh -c '
    sleep "$1" & wait $!
    printf "FAIL: timed out after %s s (QP_TIMEOUT)\n" "$1" >&2
    kill -TERM "$2" 2>/dev/null
    for c in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$2" -v me=$$ \
        "{ n = split(\$0, a, \") \"); split(a[n], f, \" \"); if (f[2] == p && \$1 != me) print \$1 }"); do
      kill -TERM "$c" 2>/dev/null
    done' qp-watchdog "$limit" $$ </dev/null &
  QP_WATCHDOG=$!
}

qp_setup() {
  local name=$1
  export QPULSE_NS="t-${name}-$$"
  T=$(mktemp -d "/tmp/qpulse-test-${name}.XXXXXX")
  export QPULSE_RUNTIME_DIR="$T/run"
  mkdir -m 0700 "$QPULSE_RUNTIME_DIR"
  export T
  trap qp_cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  qp_start_watchdog
}

# qp_bg CMD...: start in the background, remember the pid in $!.  (Every
# process the test starts is stopped at exit anyway; qp_bg also keeps its
# pid in $QP_PIDS.)
qp_bg() {
  "$@" &
  QP_PIDS="$QP_PIDS $!"
}

# QP_SLOW: how many times slower than the plain build the daemon and the
# producers run here: valgrind 6, ThreadSanitizer 4, AddressSanitizer 2.
# Waits stretch by it; tests that pace producers for the daemon's sake
# divide their rates by it.
if [ -z "${QP_SLOW:-}" ]; then
  if [ -n "${QPULSE_VALGRIND:-}" ]; then QP_SLOW=6
  elif [ "${QPULSE_SANITIZED:-}" = thread ]; then QP_SLOW=4
  elif [ -n "${QPULSE_SANITIZED:-}" ]; then QP_SLOW=2
  else QP_SLOW=1
  fi
fi

# qp_wait_for SECONDS CMD [ARGS...]: poll every 50 ms until the condition
# holds; 1 when SECONDS pass first.  The condition is evaluated afresh each
# time: with one argument it is a shell snippet (eval'd, so write
#   qp_wait_for 10 '[ "$(qp_shm_count)" -eq 1 ]'
# in single quotes), with more it is a command and its arguments.  Never
# pass "$(...)" in double quotes: that is evaluated once, before the wait
# (tests/wait-lint.awk, run by tests/lib-cleanup.sh, finds any such wait).
# SECONDS is for the plain build on a loaded 2-core machine; under valgrind
# or a sanitizer it is multiplied by QP_SLOW (below), as the daemon there
# runs several times slower.
qp_wait_for() {
  local limit=$1; shift
  local end=$(( $(date +%s%N) + limit * QP_SLOW * 1000000000 ))
  while :; do
    if [ $# -eq 1 ]; then
      eval "$1" >/dev/null 2>&1 && return 0
    else
      "$@" >/dev/null 2>&1 && return 0
    fi
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.05
  done
}

# qp_run_rc WANT_RC CMD [ARGS...]: run CMD, its output in $T/out and
# $T/err; the test fails (showing both) unless it exits WANT_RC.
qp_run_rc() {
  local want=$1 rc; shift
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  [ "$rc" = "$want" ] && return 0
  cat "$T/out" "$T/err" >&2
  qp_fail "$*: exit $rc, expected $want"
}

# qp_shm_is N: exactly N shared-memory objects in this test's namespace
# (for qp_wait_for).
qp_shm_is() { [ "$(qp_shm_count)" -eq "$1" ]; }

# qp_shm_count: shared-memory objects of this test's namespace.
qp_shm_count() {
  ls /dev/shm 2>/dev/null | grep -c "^qpulse\.${QPULSE_NS}\." || true
}

# qp_running PID: PID is there and not a zombie.
qp_running() {
  [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# qp_daemon_answers: the namespace's qpulsed answers PING.  (Its socket
# file appears at bind(2), a moment before it listens: until then a client
# is refused.)
qp_daemon_answers() {
  [ -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] || return 1
  [ -x "$top_builddir/tests/qpd_tool" ] || return 0
  "$top_builddir/tests/qpd_tool" req PING >/dev/null 2>&1
}

# qp_try_start_daemon [ARGS...]: start qpulsed in this namespace and wait
# until it answers on its socket; 1 (its log on stderr) if it exited first
# or did not answer in time.
# With QPULSE_VALGRIND=1 (scripts/ci-extra.sh), qpulsed runs under valgrind
# (same pid); see qp_valgrind_finish.
qp_try_start_daemon() {
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
  qp_wait_for $wait 'qp_daemon_answers || ! qp_running $QP_DAEMON_PID'
  qp_daemon_answers && return 0
  cat "$T/qpulsed.log" >&2
  return 1
}

# qp_start_daemon [ARGS...]: the same, and the test fails if it did not start.
qp_start_daemon() {
  qp_try_start_daemon "$@" || qp_fail "qpulsed did not start"
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
