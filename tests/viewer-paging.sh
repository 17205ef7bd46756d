#!/usr/bin/env bash
# viewer-paging.sh — qptop's live table paged by the daemon (VIEW) against
# a large namespace: 320 processes of seven names with 5 ops each
# (viewer_prod fleet ... once: fixed samples that differ per process).
# Two screens side by side under tmux, the same keys sent to both: one
# asks the daemon for its rows (the default), the other fetches the whole
# snapshot and builds the table itself (QPTOP_SNAPSHOT=1, the reference).
# After each step - the first screen, paging down, sorting by P99, a
# filter, merging, End - both must show the same rows in the same order
# (PID and operation of every line), and the step must have changed what
# is shown.
. "$top_srcdir/tests/lib.sh"
qp_setup vpage
command -v tmux >/dev/null || qp_skip "tmux is not installed"
[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"
export QPULSE_RING_RECORDS=256
tm() { qp_tmux "$@"; }
Q="$top_builddir/tests/qpd_tool"

qp_start_daemon
N=320
qp_bg "$top_builddir/tests/viewer_prod" fleet $N 5 once >"$T/fleet.out"
qp_wait_for 30 grep -q "ready $N" "$T/fleet.out" || qp_fail "the fleet did not start"
all_in() { "$Q" req "VIEW cumulative rows=1" | grep -q "\"alive\":$N,.*\"ops\":$((N * 5)),"; }
qp_wait_for 60 all_in || qp_fail "qpulsed did not list $N processes x 5 ops"
# every name of the fleet in the command lines
named() { "$Q" req "VIEW cumulative rows=20 merge sort=op" | grep -q '"viewer_prod sigma"'; }
qp_wait_for 20 named || qp_fail "the fleet's names did not show"

# The daemon builds the table from sums and fills in the percentiles of the
# rows on the screen only (unless the order needs them): those rows must
# carry the snapshot's own figures - an op row its op's, a process row the
# worst of its ops' p99 - on any page, whatever the order.
pct_check() {   # pct_check VIEW-OPTIONS...
  "$Q" req "VIEW cumulative rows=60 $*" > "$T/view.json" &&
    "$Q" req "SNAPSHOT cumulative" > "$T/snap.json" || qp_fail "VIEW/SNAPSHOT failed"
  jq -e --slurpfile s "$T/snap.json" '
    ($s[0].processes | map({key: (.pid | tostring), value: .ops}) | from_entries) as $ops
    | [.view.rows[] | select(.kind == "op" or .kind == "proc") | . as $r
       | $ops[$r.pid | tostring] as $o
       | if $r.kind == "op" then
           ($o[] | select(.set == $r.set and .op == $r.op)) as $x
           | $x.p50_ns == $r.p50 and $x.p90_ns == $r.p90 and $x.p99_ns == $r.p99 and
             $x.p999_ns == $r.p999 and $r.p99 > 0
         else ([$o[].p99_ns] | max) == $r.p99 end]
    | length >= 50 and all' "$T/view.json" > /dev/null ||
    { head -c 3000 "$T/view.json" >&2; qp_fail "VIEW $*: percentiles differ from the snapshot's"; }
}
pct_check
pct_check top=700 cursor=700
pct_check sort=count invert top=1200 cursor=1200
pct_check sort=p99
qp_log "VIEW percentiles of the screen's rows: the snapshot's (4 orders and pages)"

for s in view whole; do
  env=""
  [ $s = whole ] && env="QPTOP_SNAPSHOT=1"
  tm new-session -d -s $s -x 160 -y 40 \
    "env LANG=C.UTF-8 $env QPULSE_RUNTIME_DIR='$QPULSE_RUNTIME_DIR' '$QPTOP' --ns '$QPULSE_NS' --cumulative -d 0.5; echo \$? >'$T/exit-$s'; sleep 60"
done
# the rows of a screen: PID and operation (or the process row's "N ops")
rows_of() {
  tm capture-pane -p -t "$1" | awk 'NR > 4 && $1 ~ /^[0-9]+$/ {
    op = "proc"; for (i = 2; i <= NF; i++) if ($i ~ /^big[.]Op/) op = $i; print $1, op }'
}
same() {
  rows_of view >"$T/v"; rows_of whole >"$T/w"
  [ -s "$T/v" ] && cmp -s "$T/v" "$T/w"
}
prev=""
step() {   # step NAME: both screens agree, and differ from the previous step
  qp_wait_for 20 same || {
    tm capture-pane -p -t view >&2; tm capture-pane -p -t whole >&2
    diff "$T/v" "$T/w" >&2; qp_fail "$1: the daemon's rows differ from qptop's own"; }
  [ "$(cat "$T/v")" != "$prev" ] || qp_fail "$1: the screen did not change"
  prev=$(cat "$T/v")
  qp_log "$1: $(wc -l <"$T/v") rows agree"
}
keys() { for s in view whole; do tm send-keys -t $s "$@"; done; sleep 0.3; }

qp_wait_for 20 'tm capture-pane -p -t view | grep -q "processes $N alive"' ||
  { tm capture-pane -p -t view >&2; qp_fail "the header does not count $N processes"; }
step "first screen, sorted by TOTAL"
keys NPage; keys NPage; keys NPage
step "three pages down"
# the cursor row stays under the cursor while the rows come from the daemon
keys P
step "sorted by P99"
keys / k a p p a Enter
qp_wait_for 20 'tm capture-pane -p -t view | grep -q "filter \"kappa\""' || qp_fail "no filter shown"
step "filter kappa"
tm capture-pane -p -t view | awk 'NR > 4 && $1 ~ /^[0-9]+$/' | grep -v "viewer_prod kappa" &&
  qp_fail "the filter left other processes"
keys Escape
keys Home
keys m
qp_wait_for 20 'tm capture-pane -p -t view | grep -q "viewer_prod [a-z]*×4[56]"' ||
  { tm capture-pane -p -t view >&2; qp_fail "merge: no process of 45 or 46"; }
step "merged by name"
keys m
keys End
step "End: the last page"
tm capture-pane -p -t view | grep -q "$(tail -1 "$T/w" | cut -d' ' -f1)" || qp_fail "End: no last row"

keys q
qp_wait_for 10 'test -s "$T/exit-view" && test -s "$T/exit-whole"' || qp_fail "q did not quit"
[ "$(cat "$T/exit-view")" = 0 ] || qp_fail "qptop exited $(cat "$T/exit-view")"
echo "PASS: qptop paged by the daemon"
