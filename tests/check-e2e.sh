#!/bin/sh
# check-e2e.sh — the CI gate end to end with the real daemon: qpulse reset,
# an instrumented program made slow on purpose (tests/check_slow), then
# qpulse check reading the daemon's cumulative snapshot: a tight budget
# breaks (exit 1, the right row), a loose one holds (exit 0); --save keeps a
# baseline, a slower second run is flagged against it; reset clears.
. "$top_srcdir/tests/lib.sh"
qp_setup check-e2e
SLOW="$top_builddir/tests/check_slow"
[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"
[ -x "$SLOW" ] || qp_fail "tests/check_slow is not built"

qp_start_daemon

"$QPULSE" reset > "$T/reset.out" 2>&1 || qp_fail "reset: $(cat "$T/reset.out")"
grep -q "namespace $QPULSE_NS cleared" "$T/reset.out" || qp_fail "reset said: $(cat "$T/reset.out")"

cat > "$T/loose.conf" <<'EOF'
# loose: a 2 ms sleep is far below these
slowtest.Sleep  p50  < 10s
slowtest.*      max  < 60s
EOF
cat > "$T/tight.conf" <<'EOF'
# tight: a 2 ms sleep can never take less than 2 ms
slowtest.Sleep     p50  < 500us
slowtest.Recorded  p50  < 1ms
EOF

# drained COUNT: the daemon's cumulative snapshot has COUNT samples of each
# op of check_slow (it exited; the daemon drains what it left).
drained() {
  "$QPULSE" check --budgets "$T/loose.conf" --format json > "$T/poll.json" 2>/dev/null
  grep -q "\"op\":\"Sleep\"[^}]*\"count\":$1[,}]" "$T/poll.json" &&
    grep -q "\"op\":\"Recorded\"[^}]*\"count\":$1[,}]" "$T/poll.json"
}

# --- first run: 30 sleeps of 2 ms, 30 records of 100 us ------------------------
"$SLOW" -n 30 -s 2000 -r 100000 || qp_fail "check_slow failed"
qp_wait_for 20 drained 30 || { cat "$T/poll.json" >&2; qp_fail "the daemon did not get 30 samples"; }

"$QPULSE" check --budgets "$T/loose.conf" > "$T/out" 2>&1 ||
  { cat "$T/out" >&2; qp_fail "loose budgets: expected exit 0"; }
grep -Eq '^ok +check_slow +[0-9]+ +slowtest\.Sleep +p50 ' "$T/out" || qp_fail "loose rows: $(cat "$T/out")"

"$QPULSE" check --budgets "$T/tight.conf" --save "$T/base.json" > "$T/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/out" >&2; qp_fail "tight budgets: exit $rc, expected 1"; }
grep -Eq '^BROKEN +check_slow +[0-9]+ +slowtest\.Sleep +p50 +[0-9.]+ms +500us ' "$T/out" ||
  qp_fail "the broken row: $(cat "$T/out")"
grep -Eq '^ok +check_slow +[0-9]+ +slowtest\.Recorded +p50 +100us +1\.00ms ' "$T/out" ||
  qp_fail "Recorded holds at exactly 100us: $(cat "$T/out")"
grep -q '^qpulse check: FAILED: 1 of 2 budgets broken' "$T/out" || qp_fail "summary: $(cat "$T/out")"
[ -s "$T/base.json" ] || qp_fail "--save wrote nothing"

# --- reset clears the statistics ------------------------------------------------
"$QPULSE" reset -q || qp_fail "second reset"
"$QPULSE" check --budgets "$T/loose.conf" > "$T/out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$T/out" >&2; qp_fail "after reset nothing is left to judge: exit $rc, expected 2"; }

# --- second run, 50x slower records: a regression against the saved baseline ----
"$SLOW" -n 30 -s 2000 -r 5000000 || qp_fail "check_slow failed"
qp_wait_for 20 drained 30 || { cat "$T/poll.json" >&2; qp_fail "the daemon did not get 30 samples again"; }
"$QPULSE" check --baseline "$T/base.json" --stat p50 > "$T/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/out" >&2; qp_fail "baseline: exit $rc, expected 1"; }
grep -Eq '^SLOWER +check_slow +slowtest\.Recorded +p50 +100us +5\.00ms ' "$T/out" ||
  qp_fail "the regression row: $(cat "$T/out")"
# the same run against itself holds
"$QPULSE" check --budgets "$T/loose.conf" --save "$T/now.json" > /dev/null 2>&1
"$QPULSE" check --baseline "$T/now.json" --stat p50 --tolerance 50 > "$T/out" 2>&1 ||
  { cat "$T/out" >&2; qp_fail "a run against itself must hold"; }

# --- no daemon: unusable ----------------------------------------------------------
kill -TERM "$QP_DAEMON_PID"
wait "$QP_DAEMON_PID" 2>/dev/null
"$QPULSE" check --budgets "$T/loose.conf" > "$T/out" 2>&1
rc=$?
[ $rc = 2 ] || qp_fail "no daemon: exit $rc, expected 2"
grep -q "qpulsed is not running in namespace $QPULSE_NS" "$T/out" || qp_fail "no daemon: $(cat "$T/out")"
"$QPULSE" reset > "$T/out" 2>&1
rc=$?
[ $rc = 2 ] || qp_fail "reset without daemon: exit $rc, expected 2"
exit 0
