#!/bin/sh
# check-budgets.sh — `qpulse check --budgets` against snapshot files written
# here: rules that hold (exit 0), rules that break (exit 1, with the right
# rows), unusable input (exit 2: garbage, missing files, bad budget file, no
# daemon), --strict, --format json, --save.
. "$top_srcdir/tests/lib.sh"
qp_setup check-budgets

# op SET OP COUNT MEAN P50 P90 P99 P999 MAX: one op object of a snapshot.
op() {
  printf '{"set":"%s","op":"%s","group":"g","count":%s,"mean_ns":%s,"p50_ns":%s,' "$1" "$2" "$3" "$4" "$5"
  printf '"p90_ns":%s,"p99_ns":%s,"p999_ns":%s,"max_ns":%s,"min_ns":1}' "$6" "$7" "$8" "$9"
}

cat > "$T/snap.json" <<EOF
{"qpulse": 1, "time": 1763800000.25, "window_s": null, "ns": "x", "processes": [
 {"pid": 4242, "name": "trading", "alive": true, "dropped": 0, "ops": [
   $(op trading OrderValidation 5000 50000 40000 60000 250000 300000 900000),
   $(op trading PriceLookup 5000 5000 4000 6000 9000 12000 20000)]},
 {"pid": 4243, "name": "gateway", "alive": false, "dropped": 0, "ops": [
   $(op net Send 300 5000 4000 6000 9000 12000000 20000000)]}]}
EOF

# run_check WANT_RC ARGS...: qpulse check, output in $T/out and $T/err.
run_check() { w=$1; shift; qp_run_rc "$w" "$QPULSE" check "$@"; }

# --- everything holds -----------------------------------------------------
cat > "$T/loose.conf" <<'EOF'
# operation              stat   limit
trading.OrderValidation  p99  < 1ms     # loose
trading.*                mean < 1ms
*                        p999 < 100ms
EOF
run_check 0 --budgets "$T/loose.conf" --input "$T/snap.json"
grep -q 'BROKEN' "$T/out" && qp_fail "nothing is broken, yet: $(cat "$T/out")"
grep -q '^qpulse check: ok: 0 of 6 budgets broken' "$T/out" || qp_fail "summary: $(cat "$T/out")"
# OrderValidation: p99 mean p999; PriceLookup: mean p999; Send: p999
[ "$(grep -c '^ok ' "$T/out")" = 6 ] || qp_fail "expected 6 ok rows: $(cat "$T/out")"

# --- some break -------------------------------------------------------------
cat > "$T/tight.conf" <<'EOF'
trading.OrderValidation  p99  < 100us
trading.*                mean < 1ms
trading.*                p99  < 10ms
*                        p999 < 10ms
EOF
run_check 1 --budgets "$T/tight.conf" --input "$T/snap.json"
[ "$(grep -c '^BROKEN ' "$T/out")" = 2 ] || qp_fail "expected 2 broken rows: $(cat "$T/out")"
grep -Eq '^BROKEN +trading +4242 +trading\.OrderValidation +p99 +250us +100us +\+150us \(\+150\.0%\) +trading\.OrderValidation p99 < 100us \(line 1\)$' "$T/out" ||
  qp_fail "the p99 breach row: $(cat "$T/out")"
grep -Eq '^BROKEN +gateway +4243 +net\.Send +p999 +12\.0ms +10\.0ms +\+2\.00ms \(\+20\.0%\) +\* p999 < 10ms \(line 4\)$' "$T/out" ||
  qp_fail "the p999 breach row: $(cat "$T/out")"
# the set.op rule, not trading.* p99, judges OrderValidation's p99
grep -q 'OrderValidation.*trading\.\* p99' "$T/out" && qp_fail "precedence: $(cat "$T/out")"
grep -Eq '^ok +trading +4242 +trading\.PriceLookup +p99 .*trading\.\* p99 < 10ms' "$T/out" ||
  qp_fail "set.* applies to the other op: $(cat "$T/out")"
sed -n 2p "$T/out" | grep -q '^BROKEN' || qp_fail "broken rows come first: $(cat "$T/out")"
grep -q '^qpulse check: FAILED: 2 of 7 budgets broken' "$T/out" || qp_fail "summary: $(cat "$T/out")"

# -q prints only what broke
run_check 1 -q --budgets "$T/tight.conf" --input "$T/snap.json"
grep -q '^ok ' "$T/out" && qp_fail "-q printed held rows"
[ "$(grep -c '^BROKEN ' "$T/out")" = 2 ] || qp_fail "-q: $(cat "$T/out")"

# a value equal to the limit breaks "<"
printf 'trading.PriceLookup p99 < 9us\n' > "$T/edge.conf"
run_check 1 --budgets "$T/edge.conf" --input "$T/snap.json"
printf 'trading.PriceLookup p99 < 9001ns\n' > "$T/edge.conf"
run_check 0 --budgets "$T/edge.conf" --input "$T/snap.json"

# --- json -------------------------------------------------------------------
run_check 1 --format json --budgets "$T/tight.conf" --input "$T/snap.json"
[ "$(wc -l < "$T/out")" = 1 ] || qp_fail "json is one line"
for want in '"status":1' '"ok":false' '"checked":7' '"broken":2' \
            '"status":"broken","process":"trading","pid":4242,"set":"trading","op":"OrderValidation","stat":"p99"' \
            '"limit_ns":100000' '"actual_ns":250000' '"over_pct":150'; do
  grep -qF "$want" "$T/out" || qp_fail "json lacks $want: $(cat "$T/out")"
done

# --- unmatched rules: a note, a failure under --strict -----------------------
printf 'trading.* mean < 1ms\ntrading.OrderValidaton p99 < 1ms\n' > "$T/typo.conf"
run_check 0 --budgets "$T/typo.conf" --input "$T/snap.json"
grep -q "typo.conf:2: rule 'trading.OrderValidaton p99 < 1ms' matched no operation" "$T/out" ||
  qp_fail "unmatched rule not listed: $(cat "$T/out")"
run_check 1 --strict --budgets "$T/typo.conf" --input "$T/snap.json"

# --- unusable input: exit 2 ---------------------------------------------------
printf 'trading.* p99 < 1ms\nbad p99 < 1ms\n* p95 < 1ms\n* max < 100\n' > "$T/bad.conf"
run_check 2 --budgets "$T/bad.conf" --input "$T/snap.json"
[ "$(grep -c "^$T/bad.conf:[0-9]*:[0-9]*: expected" "$T/err")" = 3 ] ||
  qp_fail "every budget error is reported: $(cat "$T/err")"
grep -q "bad.conf:4:12: expected a unit after 100" "$T/err" || qp_fail "unit error: $(cat "$T/err")"
grep -q 'BROKEN\|^ok' "$T/out" && qp_fail "a refused budget file judged something"

: > "$T/empty.conf"
run_check 2 --budgets "$T/empty.conf" --input "$T/snap.json"
grep -q 'no rules' "$T/err" || qp_fail "empty budget file: $(cat "$T/err")"

run_check 2 --budgets "$T/nonexistent.conf" --input "$T/snap.json"
grep -q 'nonexistent.conf: No such file' "$T/err" || qp_fail "missing budget file: $(cat "$T/err")"

run_check 2 --budgets "$T/loose.conf" --input "$T/nonexistent.json"
grep -q 'nonexistent.json: No such file' "$T/err" || qp_fail "missing input: $(cat "$T/err")"

printf 'this is not json {' > "$T/garbage.json"
run_check 2 --budgets "$T/loose.conf" --input "$T/garbage.json"
grep -q 'garbage.json: not valid JSON' "$T/err" || qp_fail "garbage: $(cat "$T/err")"

printf '{"qpulse":1,"time":1,"window_s":null,"processes":[{"pid":1,"name":"a","ops":[{"set":"s","op":"o","count":"x"}]}]}' > "$T/wrong.json"
run_check 2 --budgets "$T/loose.conf" --input "$T/wrong.json"
grep -q 'processes\[0\]\.ops\[0\]\.count' "$T/err" || qp_fail "wrong type: $(cat "$T/err")"

# a snapshot without any op that has a budget judges nothing: unusable
printf '{"qpulse":1,"time":1,"window_s":null,"processes":[]}' > "$T/none.json"
run_check 2 --budgets "$T/loose.conf" --input "$T/none.json"
grep -q 'nothing was judged' "$T/err" || qp_fail "empty snapshot: $(cat "$T/err")"

run_check 2 --format json --budgets "$T/loose.conf" --input "$T/garbage.json"
grep -q '"status":2' "$T/out" && grep -q '"error":' "$T/out" || qp_fail "json error: $(cat "$T/out")"

# no daemon runs in this namespace
run_check 2 --budgets "$T/loose.conf"
grep -q "qpulsed is not running in namespace $QPULSE_NS" "$T/err" || qp_fail "no daemon: $(cat "$T/err")"

# usage errors
run_check 2 --input "$T/snap.json"
run_check 2 --budgets "$T/loose.conf" --format xml --input "$T/snap.json"

# --- --save writes the snapshot checked; a window snapshot gets a note --------
run_check 0 --budgets "$T/loose.conf" --input "$T/snap.json" --save "$T/saved.json"
run_check 0 --budgets "$T/loose.conf" --input "$T/saved.json"
sed 's/"window_s": null/"window_s": 10.0/' "$T/snap.json" > "$T/window.json"
run_check 0 --budgets "$T/loose.conf" --input "$T/window.json"
grep -q 'window snapshot' "$T/err" || qp_fail "window note: $(cat "$T/err")"
exit 0
