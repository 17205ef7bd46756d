#!/bin/sh
# api-compile.sh — the type safety the API promises, proved by the compiler:
# a misspelt operation, or one of another set, does not compile; a correct
# use does; -DQPULSE_DISABLE compiles every form away, still evaluates the
# profiled code, and links without libqpulse; QPULSE_DISABLE=1 at run time
# records nothing.
. "$top_srcdir/tests/lib.sh"
qp_setup api
CC=${CC:-cc}
inc="-I$top_srcdir/include"

cat > "$T/ops.h" <<'H'
#include <qpulse.h>
#define TRADING_OPS(X) \
    X(OrderValidation, "orders", "Validating incoming trading orders", 1) \
    X(PriceLookup, "market", "Fetching current market prices", 2)
#define WEB_OPS(X) X(CacheGet, "cache", "Reading the cache", 1)
QPULSE_DECLARE_SET(trading, TRADING_OPS)
QPULSE_DECLARE_SET(web, WEB_OPS)
H

# body OPNAME SET: a program using every form with (SET, OPNAME)
body() {
  cat <<C
#include <stdio.h>
#include "ops.h"
QPULSE_DEFINE_SET(trading, TRADING_OPS)
QPULSE_DEFINE_SET(web, WEB_OPS)
static int side_effects;
static int work(void) { side_effects++; return 41; }
int main(void)
{
    { QPULSE_SCOPE($2, $1); side_effects++; }
    int v = QPULSE_PROFILE($2, $1, work()) + 1;
    QPULSE_PROFILE($2, $1, (void)work());
    for (int i = 0; i < 4; i++) { QPULSE_SAMPLED_SCOPE($2, $1, 2); }
    QPULSE_RECORD($2, $1, 1000);
    qpulse_timer_t t = QPULSE_TIMER_START($2, $1);
    qpulse_timer_pause(&t); qpulse_timer_resume(&t); qpulse_timer_stop(&t);
    qpulse_timer_t d = QPULSE_TIMER_START($2, $1);
    qpulse_timer_discard(&d);
    printf("%d %d %llu\n", v, side_effects, (unsigned long long)qpulse_recorded());
    return 0;
}
C
}

compile() { # compile NAME EXTRA-FLAGS... (source on stdin)
  name=$1; shift
  cat > "$T/$name.c"
  $CC -std=gnu11 -Wall -Werror $inc -I"$T" -o "$T/$name" "$T/$name.c" "$@" 2>"$T/$name.err"
}

libs="-L$top_builddir/lib/.libs -lqpulse"
# A sanitizer build's libqpulse needs the sanitizer's runtime in the program
# (scripts/ci-extra.sh sets QPULSE_SANITIZED to the -fsanitize list).
[ -z "${QPULSE_SANITIZED:-}" ] || libs="$libs -fsanitize=$QPULSE_SANITIZED"

body OrderValidation trading | compile good $libs || { cat "$T/good.err"; qp_fail "correct use does not compile"; }
body OrderValidaton trading | compile typo $libs && qp_fail "a misspelt operation compiled"
grep -q "OrderValidaton" "$T/typo.err" || qp_fail "the error does not name the misspelt operation: $(cat "$T/typo.err")"
body CacheGet trading | compile otherset $libs && qp_fail "an operation of another set compiled"
body OrderValidation nosuchset | compile noset $libs && qp_fail "an undeclared set compiled"

# Disabled at compile time: no libqpulse on the link line at all.
body OrderValidation trading | compile disabled -DQPULSE_DISABLE ||
  { cat "$T/disabled.err"; qp_fail "-DQPULSE_DISABLE build does not link without libqpulse"; }
out=$("$T/disabled") || qp_fail "disabled program failed"
[ "$out" = "42 3 0" ] || qp_fail "disabled program must still evaluate the code: got '$out', want '42 3 0'"
body OrderValidaton trading | compile disabled_typo -DQPULSE_DISABLE &&
  qp_fail "a misspelt operation compiled with -DQPULSE_DISABLE"

# Enabled: 1 scope + 2 profiles + 2 sampled + 1 record + 1 timer = 7 samples.
export LD_LIBRARY_PATH="$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=$("$T/good") || qp_fail "instrumented program failed"
[ "$out" = "42 3 7" ] || qp_fail "expected '42 3 7' (value, side effects, samples), got '$out'"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "segment left in /dev/shm with no daemon running"

# Disabled at run time.
out=$(QPULSE_DISABLE=1 "$T/good") || qp_fail "program failed with QPULSE_DISABLE=1"
[ "$out" = "42 3 0" ] || qp_fail "QPULSE_DISABLE=1 must record nothing: got '$out'"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "QPULSE_DISABLE=1 created a segment"

# A bad namespace turns recording off with one line on stderr, never a crash.
out=$(QPULSE_NS='bad/ns' "$T/good" 2>"$T/badns.err") || qp_fail "program failed with a bad QPULSE_NS"
[ "$(wc -l < "$T/badns.err")" -eq 1 ] || qp_fail "expected one line on stderr, got: $(cat "$T/badns.err")"
echo "api-compile: all checks passed"
