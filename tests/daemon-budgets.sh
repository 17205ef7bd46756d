#!/bin/sh
# qpulsed --budgets: every rule that applies to an op is in the snapshot
# with its state; a breach is logged when it starts and when it clears (not
# every second); a bad budget file is refused with FILE:LINE and exit 2.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-budgets

cat > "$T/bad.budgets" <<'B'
gen.Work p99 < 10us
gen.Outer p77 < 1ms
B
"$QPULSED" --ns "$QPULSE_NS" --budgets "$T/bad.budgets" 2> "$T/bad.err" && qp_fail "bad budgets accepted"
expect "exit status for a bad budget file" $? 2
grep -q "bad.budgets:2" "$T/bad.err" || qp_fail "error does not name FILE:LINE: $(cat "$T/bad.err")"

cat > "$T/budgets" <<'B'
# operation  stat  limit
gen.Work     p99 < 10us
gen.*        max < 1s
B
qp_start_daemon --budgets "$T/budgets" --window 2
qp_bg "$PROD" -t 1 -n 2000 -D const:50000 -k > "$T/prod.out"
P=$!
qp_wait_for 20 grep -q done "$T/prod.out" || qp_fail "producer"
broken_in() { snap "$1" && [ "$(field $P gen Work broken)" = 1 ]; }
qp_wait_for 10 broken_in window || qp_fail "p99 of 50us did not break 'p99 < 10us'"
expect "rules on gen.Work" "$(field $P gen Work nbudgets)" 2
grep -q '"rule":"gen.Work p99 < 10us","stat":"p99","limit_ns":10000,"actual_ns":50000,"broken":true' \
  "$T/snap.json" || qp_fail "budget entry: $(grep -o '"budgets":[^]]*]' "$T/snap.json")"
qp_wait_for 10 grep -q "budget broken: prod_gen\[$P\] gen.Work p99" "$T/qpulsed.log" ||
  qp_fail "breach not logged"
# The window empties: the breach clears, once.
qp_wait_for 15 grep -q "budget holds again: prod_gen\[$P\] gen.Work p99" "$T/qpulsed.log" ||
  qp_fail "clearing not logged"
expect "breach log lines" "$(grep -c "budget broken: prod_gen\[$P\] gen.Work p99" "$T/qpulsed.log")" 1
# The cumulative view still breaks it.
broken_in cumulative || qp_fail "cumulative snapshot lost the breach"
exit 0
