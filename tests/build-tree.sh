#!/bin/sh
# build-tree.sh — running and building against the build tree, before any
# `make install`, with no LD_LIBRARY_PATH: the examples are real programs
# (not libtool wrapper scripts) that find libqpulse by their rpath, and a
# program of one's own built with `pkg-config --cflags --libs qpulse` and
# the build directory on PKG_CONFIG_PATH (qpulse-uninstalled.pc) runs too.
. "$top_srcdir/tests/lib.sh"
qp_setup buildtree
unset LD_LIBRARY_PATH

# The examples: ELF files whose run path names the build tree's library.
for ex in trading ecommerce; do
  head -c 4 "$EXAMPLES/$ex" | grep -q ELF || qp_fail "examples/$ex is not a program (a wrapper script?)"
done
if command -v readelf >/dev/null; then
  readelf -d "$EXAMPLES/trading" | grep -E 'R(UN)?PATH' | grep -qF "$top_builddir/lib/.libs" ||
    { readelf -d "$EXAMPLES/trading" >&2; qp_fail "examples/trading has no run path to the build tree"; }
fi
"$EXAMPLES/trading" 1 >"$T/trading.out" 2>"$T/trading.err" ||
  { cat "$T/trading.err" >&2; qp_fail "examples/trading does not run without LD_LIBRARY_PATH"; }
grep -Eq 'recorded=[1-9]' "$T/trading.out" || qp_fail "examples/trading recorded nothing"

# A program of one's own, built as README says.
command -v pkg-config >/dev/null || qp_skip "pkg-config is not installed"
[ -f "$top_builddir/qpulse-uninstalled.pc" ] || qp_fail "no qpulse-uninstalled.pc in the build directory"
flags=$(PKG_CONFIG_PATH="$top_builddir" pkg-config --cflags --libs qpulse) ||
  qp_fail "pkg-config does not find qpulse with the build directory on PKG_CONFIG_PATH"
case "$flags" in *"$top_builddir/lib/.libs"*) ;; *) qp_fail "pkg-config: $flags";; esac
# A sanitizer build's libqpulse needs the sanitizer's runtime in the program.
[ -z "${QPULSE_SANITIZED:-}" ] || flags="$flags -fsanitize=$QPULSE_SANITIZED"
cat >"$T/app.c" <<'C'
#include <stdio.h>
#include <qpulse.h>
#define APP_OPS(X) X(Work, "app", "some work", 1)
QPULSE_DECLARE_SET(app, APP_OPS)
QPULSE_DEFINE_SET(app, APP_OPS)
int main(void)
{
    for (int i = 0; i < 3; i++) { QPULSE_SCOPE(app, Work); }
    printf("recorded %llu\n", (unsigned long long)qpulse_recorded());
    return 0;
}
C
# shellcheck disable=SC2086 # pkg-config's output is a list of words
${CC:-cc} -std=gnu11 -o "$T/app" "$T/app.c" $flags 2>"$T/cc.err" ||
  { cat "$T/cc.err" >&2; qp_fail "a program does not build with pkg-config's flags"; }
out=$("$T/app" 2>"$T/app.err") || { cat "$T/app.err" >&2; qp_fail "it does not run without LD_LIBRARY_PATH"; }
[ "$out" = "recorded 3" ] || qp_fail "it recorded '$out', want 'recorded 3'"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "it left shared memory behind"
echo "PASS: build tree"
