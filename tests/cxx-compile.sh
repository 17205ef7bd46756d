#!/bin/sh
# cxx-compile.sh — qpulse.h under every compiler and standard it promises:
# C++11/14/17/20 with g++ and clang++ (warning-free under -Wall -Wextra,
# each build run: tests/cxx_api.cpp checks what it recorded), -DQPULSE_DISABLE
# in C++, and in C: a scope that a switch or goto would jump into (past its
# beginning) is a compile error under gcc as under clang.
. "$top_srcdir/tests/lib.sh"
qp_setup cxx
inc="-I$top_srcdir/include -I$top_srcdir/lib -I$top_builddir"
libs="$top_builddir/lib/.libs/libqpulse-internal.a -L$top_builddir/lib/.libs -lqpulse -lpthread -lm"
[ -z "${QPULSE_SANITIZED:-}" ] || libs="$libs -fsanitize=$QPULSE_SANITIZED"
export LD_LIBRARY_PATH="$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cxxs=""
for c in g++ clang++; do command -v $c >/dev/null 2>&1 && cxxs="$cxxs $c"; done
[ -n "$cxxs" ] || qp_skip "no C++ compiler"
command -v g++ >/dev/null 2>&1 || qp_fail "g++ is required (apt-get install g++)"
n=0
for cxx in $cxxs; do
  for std in c++11 c++14 c++17 c++20; do
    out="$T/cxx-$cxx-$std"
    if [ -n "${QPULSE_SANITIZED:-}" ] && [ "$cxx" = clang++ ]; then
      # A sanitized libqpulse carries GCC's sanitizer runtime, which a
      # clang++ program cannot share: compile only.
      $cxx -std=$std -O2 -Wall -Wextra -Werror $inc -c -o "$out.o" "$top_srcdir/tests/cxx_api.cpp" \
        2>"$out.err" || { cat "$out.err" >&2; qp_fail "$cxx -std=$std: qpulse.h does not compile warning-free"; }
      continue
    fi
    $cxx -std=$std -O2 -Wall -Wextra -Werror $inc -o "$out" "$top_srcdir/tests/cxx_api.cpp" $libs \
      2>"$out.err" || { cat "$out.err" >&2; qp_fail "$cxx -std=$std: qpulse.h does not compile warning-free"; }
    "$out" >"$out.log" 2>&1 || { cat "$out.log" >&2; qp_fail "$cxx -std=$std: the C++ forms misbehave"; }
    # Compiled out: builds and links without libqpulse.
    $cxx -std=$std -O2 -Wall -Wextra -Werror -DQPULSE_DISABLE -I"$top_srcdir/include" \
      -o "$out-off" -x c++ - 2>"$out-off.err" <<'CXX' || { cat "$out-off.err" >&2; qp_fail "$cxx -std=$std -DQPULSE_DISABLE does not build"; }
#include <qpulse.h>
#include <memory>
#define OPS(X) X(A, "g", "d", 1)
QPULSE_DECLARE_SET(s, OPS)
QPULSE_DEFINE_SET(s, OPS)
static int n;
static std::unique_ptr<int> mk() { n++; return std::unique_ptr<int>(new int(3)); }
int main() {
    QPULSE_SCOPE(s, A);
    QPULSE_SAMPLED_SCOPE(s, A, 0);
    std::unique_ptr<int> p = QPULSE_PROFILE(s, A, mk());
    QPULSE_RECORD(s, A, 5);
    qpulse_timer_t t = QPULSE_TIMER_START(s, A);
    qpulse_timer_stop(&t);
    qpulse::timer u = QPULSE_TIMER(s, A);
    u.stop();
    return *p == 3 && n == 1 ? 0 : 1;
}
CXX
    "$out-off" || qp_fail "$cxx -std=$std -DQPULSE_DISABLE: the profiled code did not run"
    n=$((n + 1))
  done
done
qp_log "$n C++ builds compiled warning-free and passed"

# C: the header under several standards, warning-free.
for cc in gcc clang; do
  command -v $cc >/dev/null 2>&1 || continue
  for std in gnu99 gnu11 gnu17 c11; do
    $cc -std=$std -Wall -Wextra -Werror -I"$top_srcdir/include" -c -o "$T/c.o" -x c - 2>"$T/c.err" <<'C' || { cat "$T/c.err" >&2; qp_fail "$cc -std=$std: qpulse.h does not compile warning-free"; }
#include <qpulse.h>
#define OPS(X) X(A, "g", "d", 1) X(B, "g", "d", 2)
QPULSE_DECLARE_SET(s, OPS)
QPULSE_DEFINE_SET(s, OPS)
int f(int x);
int f(int x) {
    QPULSE_SCOPE(s, A);
    QPULSE_SAMPLED_SCOPE(s, B, 0);
    switch (x) {
    case 1: { QPULSE_SCOPE(s, B); x++; break; }
    default: break;
    }
    return QPULSE_PROFILE(s, B, x++, x + 2);
}
C
  done
  # A case label after a scope in the same block: the jump would skip the
  # scope's beginning and run its end on garbage.  Must not compile.
  $cc -std=gnu11 -c -o "$T/case.o" -I"$top_srcdir/include" -x c - 2>"$T/case.err" <<'C' && qp_fail "$cc accepted a case label that jumps past a scope's beginning"
#include <qpulse.h>
#define OPS(X) X(A, "g", "d", 1)
QPULSE_DECLARE_SET(s, OPS)
int g(int x);
int g(int x) {
    switch (x) {
    case 1:
        x++;
        QPULSE_SCOPE(s, A);
        x++;
        break;
    case 2:
        x--;
        break;
    }
    return x;
}
C
  grep -qi "jump\|bypass\|scope" "$T/case.err" || qp_fail "$cc refused the case label for another reason: $(cat "$T/case.err")"
  $cc -std=gnu11 -c -o "$T/goto.o" -I"$top_srcdir/include" -x c - 2>"$T/goto.err" <<'C' && qp_fail "$cc accepted a goto past a scope's beginning"
#include <qpulse.h>
#define OPS(X) X(A, "g", "d", 1)
QPULSE_DECLARE_SET(s, OPS)
int h(int x);
int h(int x) {
    if (x) goto in;
    {
        QPULSE_SCOPE(s, A);
    in:
        x++;
    }
    return x;
}
C
done
echo "cxx-compile: all checks passed"
