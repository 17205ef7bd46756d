#!/usr/bin/env bash
# scripts/ci-extra.sh BUILDDIR — the CI variants beyond `make check`, run by
# `./quickstart test` after the ordinary suite passed in BUILDDIR:
#
#   asan      the whole suite built with -fsanitize=address,undefined
#             (leaks reported, every finding fatal; the preload tests are
#             left out of sanitizer builds by tests/preload.mk)
#   tsan      -fsanitize=thread: the ring protocol (test_reliability_ring),
#             the daemon's drain (its end-to-end, kill and restart tests,
#             and the reliability tests).  Criterion
#             programs are left out: Criterion's runner cannot start under
#             TSan ("Could not initialize inheritable arena")
#   valgrind  the daemon's tests with qpulsed under valgrind (memcheck,
#             leaks): QPULSE_VALGRIND=1 makes tests/lib.sh wrap it
#   fuzz      every fuzz/ target, bounded (QPULSE_FUZZ_SECONDS, default 45)
#
# The variant builds live next to BUILDDIR (_build-asan, _build-tsan,
# _build-fuzz), or in $QPULSE_CI_DIR.  QPULSE_CI_STAGES picks stages
# (default: all, in the order above).  Each stage prints its time; the
# script stops at the first failure and exits 1, after printing what failed
# in each failing test (scripts/test-failures.sh) or fuzz target, and
# writing "STAGE FAILED_TESTS" to BUILDDIR/ci-extra.failed.
set -uo pipefail

build=${1:?usage: scripts/ci-extra.sh BUILDDIR}
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
parent=${QPULSE_CI_DIR:-$(dirname "$build")}
jobs=$(nproc 2>/dev/null || echo 2)
stages=${QPULSE_CI_STAGES:-asan tsan valgrind fuzz}
fuzz_secs=${QPULSE_FUZZ_SECONDS:-45}

say() { printf 'ci-extra: %s\n' "$*" >&2; }

# Tests that involve the daemon or the ring, for the tsan and valgrind stages.
daemon_tests() {
  (cd "$src" && ls tests/daemon-*.sh tests/reliability-*.sh tests/system-*.sh 2>/dev/null) |
    grep -v -e daemon-common.sh | tr '\n' ' '
  # the flight recorder: slowest trees, traces, dumps on a breach; servers
  # that drop privileges (skipped segments and their removal)
  echo tests/flight-slowest.sh tests/flight-dump.sh tests/privs-drop.sh
}

# configured_tree DIR FLAGS...: configure DIR once (again when FLAGS change).
configured_tree() {
  local dir=$1; shift
  mkdir -p "$dir"
  if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.ci-flags" 2>/dev/null)" != "$*" ]; then
    (cd "$dir" && "$src/configure" -q "$@") || return 1
    echo "$*" > "$dir/.ci-flags"
  fi
  make -C "$dir" -j"$jobs" >/dev/null || make -C "$dir" >/dev/null
}

# show_failures DIR STAGE: what failed in each failing test of DIR's last
# make check (scripts/test-failures.sh); their number is kept for the
# summary in $build/ci-extra.failed.
failed_tests=0
show_failures() {
  failed_tests=$("$src/scripts/test-failures.sh" "$1" "$2")
}

stage_asan() {
  local dir="$parent/_build-asan"
  configured_tree "$dir" --enable-werror --enable-tests=yes --enable-sanitizers=address,undefined || return 1
  # abort_on_error: a finding kills the test (a failure, never a warning);
  # detect_leaks: the daemon and the tools must free what they allocate.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  QPULSE_SANITIZED=address,undefined \
    make -C "$dir" -j"$jobs" check >/dev/null 2>&1 || { show_failures "$dir" "ci-extra asan"; return 1; }
}

stage_tsan() {
  local dir="$parent/_build-tsan"
  # -Werror as elsewhere: there is no atomic_thread_fence left for GCC's
  # -Wtsan to warn of (the exit handshake is two seq_cst pairs).
  configured_tree "$dir" --enable-werror --enable-tests=yes --enable-sanitizers=thread || return 1
  # The drain tests: the daemon end to end, killed, restarted, with
  # several drain threads, and every reliability test.  The other daemon tests poll with limits (10 s) that
  # a daemon slowed 5-15x by TSan can miss; they run under ASan and
  # valgrind.
  local tests="tests/test_reliability_ring tests/daemon-basic.sh tests/daemon-kill.sh"
  # Several drain threads (--threads 3) on many producers.
  tests="$tests tests/daemon-threads.sh"
  tests="$tests tests/daemon-restart.sh $(cd "$src" && ls tests/reliability-*.sh | tr '\n' ' ')"
  TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1 \
  QPULSE_SANITIZED=thread \
    make -C "$dir" -j"$jobs" check TESTS="$tests" >/dev/null 2>&1 ||
    { show_failures "$dir" "ci-extra tsan"; return 1; }
}

stage_valgrind() {
  command -v valgrind >/dev/null || { say "valgrind not installed: apt-get install valgrind"; return 1; }
  # The ordinary build; a separate log/trs set so make check's stays.
  QPULSE_VALGRIND=1 make -C "$build" -j"$jobs" check TESTS="$(daemon_tests)" \
    TEST_SUITE_LOG=test-suite-valgrind.log >/dev/null 2>&1 ||
    { show_failures "$build" "ci-extra valgrind"; return 1; }
}

stage_fuzz() {
  command -v clang >/dev/null || { say "clang not installed: apt-get install clang libclang-rt-14-dev"; return 1; }
  local dir="$parent/_build-fuzz"
  "$src/fuzz/build.sh" "$dir" "$build" >/dev/null || return 1
  # fuzz/run.sh names each target that fails, with its sanitizer report.
  local before after rc=0
  before=$(ls /dev/shm | grep '^qpulse\.fuzz-' | sort)
  "$src/fuzz/run.sh" "$dir" "$fuzz_secs" >&2 || rc=1
  # Nothing left in /dev/shm (fuzz_reader's segments are named qpulse.fuzz-PID.*).
  after=$(ls /dev/shm | grep '^qpulse\.fuzz-' | sort)
  left=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep . || true)
  if [ -n "$left" ]; then
    say "fuzz: left in /dev/shm: $(echo $left)"
    rc=1
  fi
  return $rc
}

total_start=$(date +%s)
rc=0
for s in $stages; do
  say "stage $s ..."
  t0=$(date +%s)
  if "stage_$s"; then
    say "stage $s: ok in $(( $(date +%s) - t0 )) s"
  else
    say "stage $s: FAILED after $(( $(date +%s) - t0 )) s"
    echo "$s $failed_tests" >"$build/ci-extra.failed"
    rc=1
    break
  fi
done
say "all stages: $(( $(date +%s) - total_start )) s"
exit $rc
