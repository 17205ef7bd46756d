#!/bin/sh
# qpulsed --listen, native histograms: a real Prometheus started with
# --enable-feature=native-histograms scrapes qpulsed in the protobuf format,
# and histogram_quantile() over the native series is within 2 % of the
# exact percentiles of known distributions (300 000 samples each, 1 us to
# 1 h), for one process and summed across two; each series' exemplar, its
# slowest sample, is stored by Prometheus.  The same page in the
# other formats: text 0.0.4 passes promtool, OpenMetrics passes a strict
# parser (prometheus_client's, plus the checks below on the exemplars:
# each series' slowest sample of the live window, with pid and tid), and
# content negotiation follows Accept; contrib/'s alert rules evaluate.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-prom-native
command -v curl > /dev/null || qp_skip "curl is not installed"
command -v prometheus > /dev/null || qp_skip "prometheus is not installed (Debian package prometheus)"
PY=python3
command -v "$PY" > /dev/null || qp_skip "python3 is not installed"

# A long window: the exemplars (each series' slowest sample of the window)
# are still there when the pages are read.
port_base=$(( 21000 + $$ % 19000 ))
start_listening $port_base --window 600
T0=$(date +%s)

# The distributions: 2 threads x 150 000 samples each, every value kept
# (paced, so that no sample is dropped on a loaded machine, nor by a daemon
# under valgrind: QP_SLOW).
N=150000
RATE=$((100000 / QP_SLOW))
run() {   # run NAME DIST SEED
  "$PROD" -t 2 -n $N -r $RATE -D "$2" -S "$3" -o "$T/$1.values" > "$T/$1.out" &
  echo $! > "$T/$1.pid"
  wait $! || qp_fail "prod_gen $2"
  grep -q "^recorded=[0-9]* dropped=0\$" "$T/$1.out" ||
    qp_fail "prod_gen $2 dropped samples: $(cat "$T/$1.out")"
}
run uniform uniform:1000:100000 1 &
U=$!
run lognormal lognormal:20000:1 2 &
L=$!
run tail bimodal:5000:2000000:2 3 &
B=$!
run wide loguniform:1000:3600000000000 4 &
W=$!
wait $U && wait $L && wait $B && wait $W || qp_fail "a producer failed"
for d in uniform lognormal tail wide; do
  eval "PID_$d=\$(cat \"\$T/$d.pid\")"
  wait_exited "$(cat "$T/$d.pid")"
done
qp_log "pids: uniform $PID_uniform lognormal $PID_lognormal tail $PID_tail wide $PID_wide"

# ---- content negotiation and the three formats ------------------------------
PB='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
OM='application/openmetrics-text; version=1.0.0'
ctype() {   # ctype ACCEPT: the Content-Type answered
  curl -sS -o /dev/null -D - -H "Accept: $1" "$URL" | tr -d '\r' |
    sed -n 's/^[Cc]ontent-[Tt]ype: //p'
}
expect "protobuf Content-Type" "$(ctype "$PB")" \
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
expect "OpenMetrics Content-Type" "$(ctype "$OM")" \
  "application/openmetrics-text; version=1.0.0; charset=utf-8"
expect "no Accept" "$(curl -sS -o /dev/null -D - "$URL" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')" \
  "text/plain; version=0.0.4"
expect "protobuf at q=0" "$(ctype "$PB;q=0,text/plain;version=0.0.4;q=0.5")" "text/plain; version=0.0.4"
expect "text preferred" "$(ctype "$PB;q=0.2,text/plain;version=0.0.4;q=0.5")" "text/plain; version=0.0.4"
expect "OpenMetrics 2.0 (unknown)" "$(ctype 'application/openmetrics-text;version=2.0.0')" \
  "text/plain; version=0.0.4"
expect "protobuf text encoding (not served)" \
  "$(ctype 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text')" \
  "text/plain; version=0.0.4"

curl -sS -o "$T/text" "$URL" || qp_fail "GET text"
if command -v promtool > /dev/null; then
  promtool check metrics < "$T/text" > "$T/promtool.out" 2>&1 ||
    { cat "$T/promtool.out" >&2; qp_fail "promtool check metrics refused the text format"; }
  qp_log "promtool check metrics: ok"
fi

# OpenMetrics: prometheus_client's parser (strict: # EOF, types, suffixes,
# bucket order, where exemplars may be) and, on every exemplar: labels pid
# and tid (digits), the value in its bucket, a start time during the test.
curl -sS -H "Accept: $OM" -o "$T/om" "$URL" || qp_fail "GET OpenMetrics"
OMPY=""
for py in /usr/bin/python3 python3; do
  "$py" -c 'import prometheus_client.openmetrics.parser' 2> /dev/null && { OMPY=$py; break; }
done
[ -n "$OMPY" ] || qp_fail "no python3 with prometheus_client (Debian package python3-prometheus-client)"
"$OMPY" - "$T/om" "$T0" "$(($(date +%s) + 1))" > "$T/om.check" 2>&1 <<'PY' ||
import math, re, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
assert text.endswith("# EOF\n"), "no # EOF at the end"
fams = {f.name: f for f in text_string_to_metric_families(text)}
assert fams["qpulse_duration_seconds"].type == "histogram"
assert fams["qpulse_dropped_samples"].type == "counter"
assert fams["qpulse_processes"].type == "gauge"
assert fams["qpulse_duration_seconds"].unit == "seconds"
nex = 0
prev = {}
for s in fams["qpulse_duration_seconds"].samples:
    if not s.name.endswith("_bucket"):
        continue
    series = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
    le = float(s.labels["le"])
    lo = prev.get(series, -math.inf)
    prev[series] = le
    if s.exemplar is None:
        continue
    nex += 1
    ex = s.exemplar
    assert set(ex.labels) == {"pid", "tid"}, ex.labels
    assert ex.labels["pid"].isdigit() and ex.labels["tid"].isdigit(), ex.labels
    assert ex.labels["pid"] == s.labels["pid"], (ex.labels, s.labels)
    assert lo < ex.value <= le, "exemplar %s outside its bucket (%s, %s]" % (ex.value, lo, le)
    assert ex.timestamp is not None and t0 - 1 <= float(ex.timestamp) <= t1, ex.timestamp
    assert len('pid="%s"tid="%s"' % (ex.labels["pid"], ex.labels["tid"])) <= 128
# A series has at most one exemplar, and raw lines agree with the parser.
raw = re.findall(r'^qpulse_duration_seconds_bucket\{[^}]*\} \d+ # \{pid="\d+",tid="\d+"\} [0-9.e+-]+ [0-9.]+$',
                 text, re.M)
assert len(raw) == nex, (len(raw), nex)
# Every process's op had samples in the window: each series has one.
assert nex >= 4, "%d exemplars; expected one per process and op" % nex
print("openmetrics ok: %d families, %d exemplars" % (len(fams), nex))
PY
  { cat "$T/om.check" >&2; qp_fail "the OpenMetrics page does not parse strictly"; }
qp_log "$(cat "$T/om.check")"

# ---- a real Prometheus with native histograms -------------------------------
start_prometheus $port_base "$top_srcdir/contrib/prometheus-alerts.yml" \
  --enable-feature=native-histograms,exemplar-storage
Q="http://127.0.0.1:$PPORT/api/v1/query"

query() {   # query PROMQL > json
  curl -sf -G "$Q" --data-urlencode "query=$1"
}
# Every distribution's native histogram holds all of its samples
# (histogram_count() answers only for native histograms).
all_scraped() {
  query 'histogram_count(qpulse_duration_seconds{op="Work"}) == 300000' > "$T/count.json" &&
    [ "$(grep -o '"pid":"[0-9]*"' "$T/count.json" | wc -l)" -eq 4 ]
}
qp_wait_for 90 all_scraped ||
  { cat "$T/count.json" "$T/prometheus.log" >&2; qp_fail "Prometheus never held the 4 native histograms of 300000 samples"; }
# The protobuf page (what Prometheus takes with native histograms on) has
# the per-operation drop counters too: one for each process's Work, none
# dropped.
query 'count(qpulse_op_dropped_samples_total{op="Work"} == 0) == 4' > "$T/opdrop.json" &&
  grep -q '"value":\[[0-9.]*,"4"\]' "$T/opdrop.json" ||
  { cat "$T/opdrop.json" >&2; qp_fail "Prometheus holds no qpulse_op_dropped_samples_total of the 4 processes"; }

# Exemplars reach Prometheus (stored with --enable-feature=exemplar-storage,
# on the native series): for each process, its slowest sample, which is
# the maximum of the values it recorded (the window holds all of them).
exemplars_ok() {
  curl -sf -G "http://127.0.0.1:$PPORT/api/v1/query_exemplars" \
    --data-urlencode 'query=qpulse_duration_seconds{op="Work"}' --data-urlencode "start=$T0" \
    --data-urlencode "end=$(($(date +%s) + 1))" > "$T/exemplars.json" &&
    "$PY" - "$T" "$T/exemplars.json" > "$T/exemplars.out" 2>&1 <<'PY'
import json, sys
T = sys.argv[1]
data = json.load(open(sys.argv[2]))["data"]
want = {}
for n in ("uniform", "lognormal", "tail", "wide"):
    pid = open("%s/%s.pid" % (T, n)).read().strip()
    want[pid] = max(int(l) for l in open("%s/%s.values" % (T, n)))
seen = {}
for series in data:
    pid = series["seriesLabels"]["pid"]
    for ex in series["exemplars"]:
        assert ex["labels"]["pid"] == pid and ex["labels"]["tid"].isdigit(), ex
        seen[pid] = max(seen.get(pid, 0), round(float(ex["value"]) * 1e9))
assert set(seen) == set(want), (seen, want)
for pid, mx in want.items():
    assert abs(seen[pid] - mx) <= 1, "pid %s: exemplar %d ns, slowest sample %d ns" % (pid, seen[pid], mx)
print("exemplars in Prometheus: the slowest sample of each of %d processes" % len(seen))
PY
}
qp_wait_for 60 exemplars_ok ||
  { cat "$T/exemplars.out" "$T/exemplars.json" >&2; qp_fail "Prometheus does not hold each process's slowest sample as an exemplar"; }
qp_log "$(cat "$T/exemplars.out")"

# Exact percentiles against histogram_quantile(), one process and sums.
cat > "$T/compare.py" <<'PY'
import json, math, subprocess, sys, urllib.parse, urllib.request
T, Q = sys.argv[1], sys.argv[2]
cases = [(name, [name]) for name in ("uniform", "lognormal", "tail", "wide")]
cases += [("lognormal + tail (sum)", ["lognormal", "tail"]),
          ("uniform + wide (sum)", ["uniform", "wide"])]
pids = {n: open("%s/%s.pid" % (T, n)).read().strip() for n in ("uniform", "lognormal", "tail", "wide")}
values = {}
def vals(n):
    if n not in values:
        values[n] = [int(l) for l in open("%s/%s.values" % (T, n))]
    return values[n]
qs = (0.5, 0.9, 0.99, 0.999)
# For comparison (logged, not checked): the classic le buckets of the text
# page, interpolated as Prometheus's histogram_quantile() does.
classic = {}
for line in open("%s/text" % T):
    if line.startswith("qpulse_duration_seconds_bucket{") and 'op="Work"' in line:
        pid = line.split('pid="')[1].split('"')[0]
        le = line.split('le="')[1].split('"')[0]
        classic.setdefault(pid, {})[float(le)] = float(line.rsplit(" ", 1)[1])
def classic_quantile(q, pidlist):
    les = sorted(classic[pidlist[0]])
    cum = [sum(classic[p][le] for p in pidlist) for le in les]
    rank = q * cum[-1]
    for i, c in enumerate(cum):
        if c >= rank:
            if math.isinf(les[i]):
                return les[i - 1]
            lo, prev = (les[i - 1], cum[i - 1]) if i else (0.0, 0.0)
            return lo + (les[i] - lo) * (rank - prev) / (c - prev)
worst = 0
print("| distribution | p50 | p90 | p99 | p99.9 |")
print("|---|---|---|---|---|")
for name, parts in cases:
    v = sorted(x for p in parts for x in vals(p))
    sel = 'qpulse_duration_seconds{op="Work",pid=~"%s"}' % "|".join(pids[p] for p in parts)
    row = []
    for q in qs:
        exact = v[max(1, math.ceil(q * len(v) - 1e-9)) - 1] / 1e9
        promql = "histogram_quantile(%g, sum(%s))" % (q, sel)
        with urllib.request.urlopen(Q + "?" + urllib.parse.urlencode({"query": promql})) as r:
            res = json.load(r)["data"]["result"]
        assert len(res) == 1, (promql, res)
        got = float(res[0]["value"][1])
        err = abs(got - exact) / exact
        worst = max(worst, err)
        cl = abs(classic_quantile(q, [pids[p] for p in parts]) - exact) / exact
        row.append("%.2f%% (classic %.1f%%)" % (100 * err, 100 * cl))
    print("| %s | %s |" % (name, " | ".join(row)))
print("native: worst %.3f%% (limit 2%%)" % (100 * worst))
sys.exit(0 if worst <= 0.02 else 1)
PY
"$PY" "$T/compare.py" "$T" "$Q" > "$T/compare.out" 2>&1
rc=$?
while IFS= read -r line; do qp_log "$line"; done < "$T/compare.out"
[ $rc = 0 ] || qp_fail "histogram_quantile() over the native histograms is more than 2% off"

# contrib/'s rules evaluate on the native series without error.
rules_ok() {
  curl -sf "http://127.0.0.1:$PPORT/api/v1/rules" > "$T/rules.json" &&
    "$PY" - "$T/rules.json" <<'PY'
import json, sys
groups = json.load(open(sys.argv[1]))["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
assert len(rules) > 5 and all(r.get("health") == "ok" for r in rules), rules
PY
}
qp_wait_for 30 rules_ok || { cat "$T/rules.json" >&2; qp_fail "contrib/prometheus-alerts.yml does not evaluate"; }

# The daemon stops cleanly (a sanitizer's finding would fail it here).
kill -TERM $QP_DAEMON_PID
wait $QP_DAEMON_PID
rc=$?
[ $rc = 0 ] || { cat "$T/qpulsed.log" >&2; qp_fail "qpulsed exited with $rc"; }
exit 0
