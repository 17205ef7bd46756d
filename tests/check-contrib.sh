#!/bin/sh
# check-contrib.sh — contrib/ is correct and says the same as the budget
# file: contrib/budgets.example parses and, on a snapshot of a known
# scenario, breaks exactly three rules; contrib/prometheus-alerts.yml passes
# `promtool check rules` and, fed the same scenario as histograms
# (`promtool test rules`), fires exactly the same three budgets; every query
# of contrib/grafana-dashboard.json is valid PromQL.
. "$top_srcdir/tests/lib.sh"
qp_setup check-contrib
C="$top_srcdir/contrib"

# --- the scenario as a qpulse snapshot ---------------------------------------
# op SET OP P99_NS: an op whose other stats are small (p999 = p99, mean = p99/10).
op() {
  printf '{"set":"%s","op":"%s","count":36000,"mean_ns":%s,"p50_ns":%s,' "$1" "$2" $(($3 / 10)) $(($3 / 10))
  printf '"p90_ns":%s,"p99_ns":%s,"p999_ns":%s,"max_ns":%s}' "$3" "$3" "$3" "$3"
}
cat > "$T/scenario.json" <<EOF
{"qpulse":1,"time":1,"window_s":null,"processes":[
 {"pid":1,"name":"trading","ops":[
   $(op trading PriceFeedParsing 49600), $(op trading ArbitrageDetection 9900)]},
 {"pid":2,"name":"ecommerce","ops":[
   $(op ecommerce HandleOrder 49700000), $(op ecommerce PaymentProcessing 9950000),
   $(op ecommerce CacheGet 9950000)]}]}
EOF
"$QPULSE" check -q --budgets "$C/budgets.example" --input "$T/scenario.json" > "$T/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/out" >&2; qp_fail "budgets.example on the scenario: exit $rc, expected 1"; }
grep '^BROKEN' "$T/out" | sed 's/.*  //' | sort > "$T/qpulse.broken"
sort > "$T/want.broken" <<'EOF'
trading.PriceFeedParsing p99 < 10us (line 14)
ecommerce.HandleOrder p99 < 20ms (line 20)
ecommerce.* p99 < 5ms (line 22)
EOF
cmp -s "$T/qpulse.broken" "$T/want.broken" ||
  qp_fail "qpulse check broke: $(cat "$T/qpulse.broken") expected: $(cat "$T/want.broken")"

command -v promtool > /dev/null 2>&1 ||
  qp_skip "promtool not installed: budgets.example checked, the Prometheus rules and dashboard queries not"

# --- the alert rules ----------------------------------------------------------
promtool check rules "$C/prometheus-alerts.yml" > "$T/promtool.out" 2>&1 ||
  { cat "$T/promtool.out" >&2; qp_fail "promtool check rules"; }

# hist PROCESS SET OP LE: 600 samples a minute, all in the bucket ending at LE.
hist() {
  for le in 1e-05 5e-05 0.001 0.005 0.01 0.02 0.05 +Inf; do
    v='0+600x20'
    case "$le" in "$4") found=1 ;; esac
    [ -z "${found:-}" ] && v='0+0x20'
    printf "      - series: 'qpulse_duration_seconds_bucket{process=\"%s\",set=\"%s\",op=\"%s\",group=\"g\",le=\"%s\"}'\n        values: '%s'\n" "$1" "$2" "$3" "$le" "$v"
  done
  found=
  printf "      - series: 'qpulse_duration_seconds_sum{process=\"%s\",set=\"%s\",op=\"%s\",group=\"g\"}'\n        values: '0+0.003x20'\n" "$1" "$2" "$3"
  printf "      - series: 'qpulse_duration_seconds_count{process=\"%s\",set=\"%s\",op=\"%s\",group=\"g\"}'\n        values: '0+600x20'\n" "$1" "$2" "$3"
}
# alert PROCESS SET OP BUDGET VALUE: one expected alert.
alert() {
  cat <<EOF
          - exp_labels: {severity: warning, budget: "$4", process: $1, set: $2, op: $3}
            exp_annotations:
              summary: "$1: $2.$3 breaks its latency budget"
              description: "$2.$3 in $1 is $5, over its latency budget (the alert's budget label; contrib/budgets.example)."
EOF
}
{
  printf 'rule_files: [%s]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n' \
    "$C/prometheus-alerts.yml"
  hist trading trading PriceFeedParsing 5e-05        # p99 49.6us
  hist trading trading ArbitrageDetection 1e-05      # p99 9.9us
  hist ecommerce ecommerce HandleOrder 0.05          # p99 49.7ms, p999 49.97ms
  hist ecommerce ecommerce PaymentProcessing 0.01    # p99 9.95ms: its own rule holds
  hist ecommerce ecommerce CacheGet 0.01             # p99 9.95ms: ecommerce.* breaks
  printf '    alert_rule_test:\n      - eval_time: 10m\n        alertname: QpulseBudgetBroken\n        exp_alerts:\n'
  alert trading trading PriceFeedParsing "trading.PriceFeedParsing p99 < 10us" 49.6us
  alert ecommerce ecommerce HandleOrder "ecommerce.HandleOrder p99 < 20ms" 49.7ms
  alert ecommerce ecommerce CacheGet "ecommerce.* p99 < 5ms" 9.95ms
  printf '      - eval_time: 10m\n        alertname: QpulseDroppedSamples\n        exp_alerts: []\n'
} > "$T/alerts-test.yml"
promtool test rules "$T/alerts-test.yml" > "$T/promtool.out" 2>&1 ||
  { cat "$T/promtool.out" >&2; qp_fail "the alert rules do not fire as the budget file breaks"; }

# --- the dashboard's queries ---------------------------------------------------
grep -q '"uid": "qpulse-latency"' "$C/grafana-dashboard.json" || qp_fail "dashboard uid"
if command -v python3 > /dev/null 2>&1; then
  python3 -m json.tool "$C/grafana-dashboard.json" > /dev/null || qp_fail "the dashboard is not valid JSON"
fi
# Each "expr" becomes a recording rule, with Grafana's variables filled in.
grep -o '"expr": "\([^"\\]\|\\.\)*"' "$C/grafana-dashboard.json" |
  sed -e 's/^"expr": "//' -e 's/"$//' -e 's/\\"/"/g' \
      -e 's/\$__rate_interval/5m/g' -e 's/\$process\|\$set\|\$op/.*/g' > "$T/exprs"
n=$(wc -l < "$T/exprs")
[ "$n" -ge 8 ] || qp_fail "expected at least 8 queries in the dashboard, found $n"
{
  printf 'groups:\n  - name: dashboard\n    rules:\n'
  i=0
  while IFS= read -r e; do
    i=$((i + 1))
    printf "      - record: dashboard_query_%s\n        expr: '%s'\n" "$i" "$e"
  done < "$T/exprs"
} > "$T/dashboard-rules.yml"
promtool check rules "$T/dashboard-rules.yml" > "$T/promtool.out" 2>&1 ||
  { cat "$T/promtool.out" "$T/dashboard-rules.yml" >&2; qp_fail "a dashboard query is not valid PromQL"; }
exit 0
