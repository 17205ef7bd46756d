#!/bin/sh
# qpulsed --listen: GET /metrics is Prometheus text format 0.0.4 that
# promtool accepts, other paths and methods are refused, and a real
# Prometheus server scrapes it and answers the same count.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-prom
command -v curl > /dev/null || qp_skip "curl is not installed"

start_listening $(( 20000 + $$ % 20000 ))

"$PROD" -t 2 -n 3000 -D lognormal:50000:1 > /dev/null &
P=$!
wait $P
wait_exited $P

curl -sS -D "$T/headers" -o "$T/metrics" "$URL" || qp_fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" ||
  qp_fail "content type: $(grep -i content-type "$T/headers")"
grep -q "^qpulse_duration_seconds_count{process=\"prod_gen\",pid=\"$P\",set=\"gen\",op=\"Work\",group=\"compute\"} 6000\$" "$T/metrics" ||
  { cat "$T/metrics" >&2; qp_fail "no _count of 6000 for gen.Work"; }
grep -q "le=\"+Inf\"} 6000\$" "$T/metrics" || qp_fail "no +Inf bucket"
grep -q '^qpulse_dropped_samples_total{process="prod_gen"' "$T/metrics" || qp_fail "no drop counter"
grep -q "^qpulse_op_dropped_samples_total{process=\"prod_gen\",pid=\"$P\",set=\"gen\",op=\"Work\",group=\"compute\"} 0\$" "$T/metrics" ||
  qp_fail "no per-operation drop counter of 0 for gen.Work"
grep -q '^qpulse_processes 0$' "$T/metrics" || qp_fail "process gauge"
if command -v promtool > /dev/null; then
  promtool check metrics < "$T/metrics" || qp_fail "promtool check metrics refused the page"
  qp_log "promtool check metrics: ok"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")
expect "GET /nothing" "$code" 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$URL")
expect "POST /metrics" "$code" 405

# A real Prometheus server scrapes us and returns the same count.
start_prometheus $(( 20000 + $$ % 20000 ))
Q="http://127.0.0.1:$PPORT/api/v1/query"
scraped() {
  curl -sf -G "$Q" --data-urlencode "query=qpulse_duration_seconds_count{op=\"Work\",pid=\"$P\"}" \
    > "$T/query.json" && grep -q '"6000"' "$T/query.json"
}
qp_wait_for 60 scraped || { cat "$T/query.json" "$T/prometheus.log" >&2; qp_fail "Prometheus never returned the count 6000"; }
qp_log "Prometheus: $(cat "$T/query.json")"
# histogram_quantile works on the buckets
curl -sf -G "$Q" --data-urlencode "query=histogram_quantile(0.5, qpulse_duration_seconds_bucket{op=\"Work\"})" \
  > "$T/q50.json" || qp_fail "histogram_quantile query"
grep -q '"value":\[[0-9.]*,"0\.0[0-9]*"\]' "$T/q50.json" ||
  qp_fail "median is not tens of microseconds: $(cat "$T/q50.json")"
exit 0
