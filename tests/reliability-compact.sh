#!/bin/sh
# reliability-compact.sh — exited processes are compacted once the live
# window has passed them, and nothing they show changes:
#  - 60 short producers (with a nested scope, so children too)
#    exit; their cumulative JSON (counts, totals, histograms, children,
#    slowest samples and their trees) is the same after compaction as
#    before, and every count is exact;
#  - a process that exited within the window is still in the window (exact
#    count, its slowest sample), beside compacted ones that are not;
#  - --retain-max N keeps the N processes that exited last, and logs how
#    many it forgot.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup relcompact
command -v jq >/dev/null || qp_skip "jq not installed"

# The window: 5 s, longer under the sanitizers and valgrind (QP_SLOW), where
# a snapshot right after a process's exit may come seconds later.
W=$((5 * QP_SLOW))
N=${QP_COMPACT_PROCS:-60}
qp_start_daemon --window $W --retain 600 --state none -vv

# run I: one producer, 40 samples of Work, each inside an Outer scope.
run() {
  "$PROD" -t 1 -n 40 -D "uniform:2000:400000" -S "$1" -N -q >/dev/null ||
    qp_fail "producer $1 failed"
}
i=1
while [ $i -le $N ]; do run $i; i=$((i + 1)); done
nexited() { snap cumulative && jq '[.processes[] | select(.alive | not)] | length' "$T/snap.json"; }
qp_wait_for 20 '[ "$(nexited)" = $N ]' ||
  { cat "$T/qpulsed.log" >&2; qp_fail "$(nexited) of $N producers seen exited"; }

# What a snapshot says of the exited processes, less what moves with the
# clock (each sample's wall time is recomputed from the clocks' offset;
# the previous window's p99 goes to 0 as the window moves on).
norm() {
  jq -S '[.processes[] | select(.alive | not)] | sort_by(.pid)
         | walk(if type == "object" then del(.time, .p99_prev_ns) else . end)' "$1"
}
snap cumulative hist && cp "$T/snap.json" "$T/before.json"
compacted() { grep -c "compacted .* in one block" "$T/qpulsed.log"; }
qp_wait_for $((W + 15)) '[ "$(compacted)" -ge $N ]' ||
  qp_fail "$(compacted) of $N exited processes compacted"
qp_log "$(compacted) processes compacted; e.g. $(grep -m1 'compacted ' "$T/qpulsed.log" | sed 's/.*debug: //')"

# One more, which exits now: still in the window.
"$PROD" -t 1 -n 40 -D "const:5000" -N -q >/dev/null &
last=$!
wait $last || qp_fail "the last producer failed"
wait_exited $last
snap window
expect "window count of the process that just exited" "$(field "$last" gen Work count)" 40
expect "window count of Outer" "$(field "$last" gen Outer count)" 40
wn=$(jq --argjson p "$last" '[.processes[] | select(.pid == $p) | .ops[] | select(.op == "Work") | .slowest | length] | add' "$T/snap.json")
[ "$wn" -ge 1 ] || qp_fail "no slowest sample in the window for the process that just exited"
inwin=$(jq --argjson p "$last" '[.processes[] | select(.pid != $p and (.ops | length) > 0)] | length' "$T/snap.json")
expect "compacted processes with ops in the window" "$inwin" 0

snap cumulative hist && cp "$T/snap.json" "$T/after.json"
norm "$T/before.json" >"$T/before.n"
norm "$T/after.json" | jq --argjson p "$last" 'map(select(.pid != $p))' >"$T/after.n"
cmp -s "$T/before.n" "$T/after.n" || {
  diff "$T/before.n" "$T/after.n" | head -40 >&2
  qp_fail "the cumulative statistics changed with compaction"
}
expect "processes compared" "$(jq length "$T/after.n")" "$N"
# Exact counts, children and slowest samples after compaction.
bad=$(jq '[.[] | .ops[] | select(.op == "Work" or .op == "Outer") | select(.count != 40)] | length' "$T/after.n")
expect "Work or Outer ops whose count is not 40" "$bad" 0
expect "Work and Outer ops" "$(jq '[.[] | .ops[] | select(.op == "Work" or .op == "Outer")] | length' "$T/after.n")" $((N * 2))
kids=$(jq '[.[] | .ops[] | select(.op == "Outer") | .children[] | select(.op == "Work") | .count] | add' "$T/after.n")
expect "Outer's children (Work) in all" "$kids" $((N * 40))
slow=$(jq '[.[] | .ops[] | select(.op == "Work" or .op == "Outer")
             | select((.slowest | length) != 5 or .slowest[0].dur_ns != .max_ns)] | length' "$T/after.n")
expect "ops without their 5 slowest samples, the slowest at max_ns" "$slow" 0
hb=$(jq '[.[] | .ops[] | select(.op == "Work" or .op == "Outer") | [.hist[][2]] | add] | unique' "$T/after.n")
expect "histogram totals" "$(echo $hb | tr -d ' ')" "[40]"

# --retain-max: the processes that exited last are kept.
kill -TERM "$QP_DAEMON_PID"
wait "$QP_DAEMON_PID" 2>/dev/null
qp_start_daemon --retain 600 --retain-max 5 --state none
pids=""
i=1
while [ $i -le 12 ]; do
  "$PROD" -t 1 -n 10 -D const:1000 -q >/dev/null &
  p=$!
  wait $p || qp_fail "producer failed"
  wait_exited $p   # one at a time: exits in a known order
  pids="$pids $p"
  i=$((i + 1))
done
qp_wait_for 10 '[ "$(nexited)" = 5 ]' || qp_fail "--retain-max 5: $(nexited) exited processes listed"
want=$(echo $pids | tr ' ' '\n' | tail -n 5 | sort -n | tr '\n' ' ')
got=$(jq -r '[.processes[] | .pid] | sort | map(tostring) | join(" ")' "$T/snap.json")
expect "the processes kept" "$got " "$want"
grep -q -- "--retain-max 5: forgot" "$T/qpulsed.log" || qp_fail "the forgotten processes were not logged"
qp_log "$(grep -m1 -- '--retain-max 5: forgot' "$T/qpulsed.log" | sed 's/.*notice: //')"
