#!/usr/bin/env bash
# viewer-demo.sh — `scripts/demo.sh BUILDDIR` with stdout not a terminal:
# one text report of both examples, exit 0, nothing left running and
# nothing left in /dev/shm.
. "$top_srcdir/tests/lib.sh"
qp_setup vdemo
for p in "$QPULSED" "$EXAMPLES/trading" "$EXAMPLES/ecommerce"; do
  [ -x "$p" ] || qp_skip "$p is not built"
done

QPULSE_DEMO_SECONDS=2 bash "$top_srcdir/scripts/demo.sh" "$top_builddir" >"$T/out" 2>"$T/err" &
demo=$!
qp_track_ns "demo-$demo"      # the demo's namespace: swept at exit too
wait "$demo"
rc=$?
[ "$rc" = 0 ] || { cat "$T/err" >&2; qp_fail "demo exited $rc"; }
grep -q "^qptop - namespace demo-$demo " "$T/out" || { cat "$T/out" >&2; qp_fail "no report header"; }
grep -q " PID PROCESS .*OPERATION .*COUNT" "$T/out" || qp_fail "no table"
grep -q " trading\." "$T/out" || { cat "$T/out" >&2; qp_fail "no trading ops"; }
grep -q " ecommerce\." "$T/out" || { cat "$T/out" >&2; qp_fail "no ecommerce ops"; }
grep -q "processes: 2 alive" "$T/out" || { cat "$T/out" >&2; qp_fail "both examples alive"; }
left=$(ls /dev/shm | grep -c "^qpulse\.demo-$demo\." || true)
[ "$left" = 0 ] || qp_fail "$left shm objects left behind"
# the demo's own processes: daemon and examples run in namespace demo-$demo
for p in $(pgrep -f "qpulsed --ns demo-$demo" || true); do qp_fail "qpulsed left running ($p)"; done
if grep -l "QPULSE_NS=demo-$demo" /proc/[0-9]*/environ 2>/dev/null | grep -v "/proc/$$/" | head -1 | grep -q .; then
  qp_fail "a process of the demo is still running"
fi
echo "PASS: demo"
