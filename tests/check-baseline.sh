#!/bin/sh
# check-baseline.sh — `qpulse check --baseline` against snapshot files
# written here: the tolerance's edges, --stat, skipped ops with too few
# samples, new and vanished ops, merging processes of one name, unusable
# input.
. "$top_srcdir/tests/lib.sh"
qp_setup check-baseline

# op SET OP COUNT P50 P99: one op object (mean = p50, p90 = p99, max = 2*p99).
op() {
  printf '{"set":"%s","op":"%s","count":%s,"mean_ns":%s,"p50_ns":%s,"p90_ns":%s,' "$1" "$2" "$3" "$4" "$4" "$5"
  printf '"p99_ns":%s,"p999_ns":%s,"max_ns":%s}' "$5" "$5" "$(($5 * 2))"
}
# snap FILE PROCESS-JSON...: a cumulative snapshot of the given processes.
snap() {
  f=$1; shift
  { printf '{"qpulse":1,"time":1763800000.0,"window_s":null,"processes":['
    sep=''
    for p in "$@"; do printf '%s%s' "$sep" "$p"; sep=','; done
    printf ']}\n'; } > "$f"
}
proc() {  # proc PID NAME OP-JSON...
  pid=$1 name=$2; shift 2
  ops=''
  for o in "$@"; do ops="${ops:+$ops,}$o"; done
  printf '{"pid":%s,"name":"%s","alive":false,"dropped":0,"ops":[%s]}' "$pid" "$name" "$ops"
}
# run_check WANT_RC ARGS...: qpulse check, output in $T/out and $T/err.
run_check() { w=$1; shift; qp_run_rc "$w" "$QPULSE" check "$@"; }

snap "$T/old.json" "$(proc 100 svc "$(op app Parse 5000 100000 200000)" \
                                   "$(op app Render 5000 50000 80000)" \
                                   "$(op app Gone 5000 1000 2000)")"

# --- tolerance edges (default 10%, p50 and p99) ----------------------------
# p99 +10% exactly: holds ("more than the tolerance" fails)
snap "$T/edge.json" "$(proc 200 svc "$(op app Parse 5000 100000 220000)" \
                                    "$(op app Render 5000 50000 80000)" \
                                    "$(op app Gone 5000 1000 2000)")"
run_check 0 --baseline "$T/old.json" --input "$T/edge.json"
grep -Eq '^ok +svc +app\.Parse +p99 +200us +220us +\+10\.00%' "$T/out" || qp_fail "edge row: $(cat "$T/out")"
grep -q '^qpulse check: ok: 0 of 6 comparisons slower by more than 10%' "$T/out" ||
  qp_fail "summary: $(cat "$T/out")"

# one nanosecond more: slower
snap "$T/slow.json" "$(proc 201 svc "$(op app Parse 5000 100000 220001)" \
                                    "$(op app Render 5000 50000 80000)" \
                                    "$(op app Gone 5000 1000 2000)")"
run_check 1 --baseline "$T/old.json" --input "$T/slow.json"
[ "$(grep -c '^SLOWER ' "$T/out")" = 1 ] || qp_fail "one slower row: $(cat "$T/out")"
grep -Eq '^SLOWER +svc +app\.Parse +p99 +200us +220us +\+10\.00% \(\+20\.0us\)' "$T/out" ||
  qp_fail "slower row: $(cat "$T/out")"
sed -n 2p "$T/out" | grep -q '^SLOWER' || qp_fail "slower rows come first"
grep -q '^qpulse check: FAILED: 1 of 6 comparisons slower by more than 10%' "$T/out" ||
  qp_fail "summary: $(cat "$T/out")"
# a wider tolerance lets it pass; a p50-only check does not look at p99
run_check 0 --baseline "$T/old.json" --input "$T/slow.json" --tolerance 10.5
run_check 0 --baseline "$T/old.json" --input "$T/slow.json" --stat p50
run_check 1 --baseline "$T/old.json" --input "$T/slow.json" --stat max,p99 -q
grep -q '^ok ' "$T/out" && qp_fail "-q printed held rows"
[ "$(grep -c '^SLOWER ' "$T/out")" = 2 ] || qp_fail "max and p99 regressed: $(cat "$T/out")"
# tolerance 0: any slowdown fails, equal holds
run_check 1 --baseline "$T/old.json" --input "$T/slow.json" --tolerance 0
run_check 0 --baseline "$T/old.json" --input "$T/old.json" --tolerance 0

# much faster is reported, and passes
snap "$T/fast.json" "$(proc 202 svc "$(op app Parse 5000 50000 100000)" \
                                    "$(op app Render 5000 50000 80000)" \
                                    "$(op app Gone 5000 1000 2000)")"
run_check 0 --baseline "$T/old.json" --input "$T/fast.json"
[ "$(grep -c '^faster ' "$T/out")" = 2 ] || qp_fail "faster rows: $(cat "$T/out")"

# --- new, vanished, too few samples ----------------------------------------
snap "$T/changed.json" "$(proc 203 svc "$(op app Parse 500 100000 900000)" \
                                       "$(op app Render 5000 50000 80000)" \
                                       "$(op app Fresh 7 1 1)")"
run_check 0 --baseline "$T/old.json" --input "$T/changed.json"
grep -Eq '^skipped +svc +app\.Parse +p99 .*5000/500 samples, 1000 needed' "$T/out" ||
  qp_fail "p99 with 500 samples is skipped: $(cat "$T/out")"
grep -Eq '^ok +svc +app\.Parse +p50 ' "$T/out" || qp_fail "p50 with 500 samples is judged: $(cat "$T/out")"
grep -Eq '^new +svc +app\.Fresh .*not in the baseline \(7 samples\)' "$T/out" || qp_fail "new: $(cat "$T/out")"
grep -Eq '^vanished +svc +app\.Gone .*not in the new snapshot \(5000 samples before\)' "$T/out" ||
  qp_fail "vanished: $(cat "$T/out")"
grep -q 'p99 1000' "$T/out" || qp_fail "the skip is explained: $(cat "$T/out")"
# --min-count judges it anyway: it regressed
run_check 1 --baseline "$T/old.json" --input "$T/changed.json" --min-count 100
# a --min-count beyond any count (and beyond a long) judges nothing
run_check 2 --baseline "$T/old.json" --input "$T/changed.json" --min-count 1e30
# a vanished op fails under --strict
run_check 1 --baseline "$T/old.json" --input "$T/changed.json" --strict
grep -Eq '^vanished ' "$T/out" || qp_fail "strict vanished: $(cat "$T/out")"

# nothing to judge at all: unusable
snap "$T/few.json" "$(proc 204 svc "$(op app Parse 10 100000 200000)")"
run_check 2 --baseline "$T/old.json" --input "$T/few.json"
grep -q 'too few samples' "$T/err" || qp_fail "explains: $(cat "$T/err")"
snap "$T/other.json" "$(proc 205 other "$(op app Parse 5000 100000 200000)")"
run_check 2 --baseline "$T/old.json" --input "$T/other.json"
grep -q 'no operation (process name, set, op) is in both' "$T/err" || qp_fail "explains: $(cat "$T/err")"

# --- processes of one name are merged ---------------------------------------
snap "$T/workers.json" "$(proc 300 svc "$(op app Parse 2500 100000 200000)" \
                                       "$(op app Render 2500 50000 80000)" \
                                       "$(op app Gone 2500 1000 2000)")" \
                       "$(proc 301 svc "$(op app Parse 2500 100000 300000)" \
                                       "$(op app Render 2500 50000 80000)" \
                                       "$(op app Gone 2500 1000 2000)")"
run_check 1 --baseline "$T/old.json" --input "$T/workers.json"
grep -Eq '^SLOWER +svc +app\.Parse +p99 +200us +250us +\+25\.00%.*merged' "$T/out" ||
  qp_fail "merged workers: $(cat "$T/out")"
[ "$(grep -c 'app\.Parse' "$T/out")" = 2 ] || qp_fail "one row per stat, not per pid: $(cat "$T/out")"

# --- json ---------------------------------------------------------------------
run_check 1 --format json --baseline "$T/old.json" --input "$T/slow.json"
for want in '"status":1' '"compared":6' '"slower":1' '"tolerance_pct":10' \
            '"status":"SLOWER","process":"svc","set":"app","op":"Parse"' '"baseline_ns":200000' \
            '"value_ns":220001'; do
  grep -qF "$want" "$T/out" || qp_fail "json lacks $want: $(cat "$T/out")"
done

# --- unusable input ----------------------------------------------------------
printf '{"qpulse":1,' > "$T/cut.json"
run_check 2 --baseline "$T/cut.json" --input "$T/slow.json"
grep -q 'cut.json: not valid JSON' "$T/err" || qp_fail "bad baseline: $(cat "$T/err")"
run_check 2 --baseline "$T/missing.json" --input "$T/slow.json"
run_check 2 --baseline "$T/old.json" --input "$T/cut.json"
run_check 2 --baseline "$T/old.json" --input "$T/slow.json" --tolerance -1
run_check 2 --baseline "$T/old.json" --input "$T/slow.json" --stat p95
run_check 2 --baseline "$T/old.json"
grep -q "qpulsed is not running" "$T/err" || qp_fail "no daemon: $(cat "$T/err")"

# --- both checks at once: the worse status wins ---------------------------------
printf '* p99 < 1s\n' > "$T/loose.conf"
run_check 1 --budgets "$T/loose.conf" --baseline "$T/old.json" --input "$T/slow.json"
run_check 0 --budgets "$T/loose.conf" --baseline "$T/old.json" --input "$T/edge.json"
exit 0
