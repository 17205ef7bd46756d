#!/bin/sh
# qpulsed --listen: GET /metrics is Prometheus text format 0.0.4 that
# promtool accepts, other paths and methods are refused, and a real
# Prometheus server scrapes it and answers the same count.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-prom
command -v curl > /dev/null || qp_skip "curl is not installed"

# A free loopback port: let the daemon try a few.
port_base=$(( 20000 + $$ % 20000 ))
for i in 0 1 2 3 4 5 6 7; do
  PORT=$((port_base + i * 997))
  qp_try_start_daemon --listen "127.0.0.1:$PORT" 2>/dev/null && break
  qp_running $QP_DAEMON_PID && qp_fail "qpulsed started but does not answer"
  PORT=""
done
[ -n "$PORT" ] || { cat "$T/qpulsed.log" >&2; qp_fail "no free port for --listen"; }
URL="http://127.0.0.1:$PORT/metrics"

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
command -v prometheus > /dev/null || qp_skip "prometheus is not installed (Debian package prometheus)"
cat > "$T/prom.yml" <<CFG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: qpulse
    static_configs:
      - targets: ['127.0.0.1:$PORT']
CFG
for i in 0 1 2 3 4 5 6 7; do
  PPORT=$((port_base + 500 + i * 991))
  qp_bg prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2> "$T/prometheus.log"
  PROM=$!
  qp_wait_for 30 curl -sf "http://127.0.0.1:$PPORT/-/ready" && break
  kill $PROM 2>/dev/null
  PPORT=""
done
[ -n "$PPORT" ] || { cat "$T/prometheus.log" >&2; qp_fail "prometheus did not start"; }
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
