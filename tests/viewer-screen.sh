#!/usr/bin/env bash
# viewer-screen.sh — qptop's live screen driven under tmux against the real
# daemon and a producer with known samples: the header and columns appear,
# a sort key reorders rows, the filter hides rows, the tree nests, the detail
# view shows the histogram, help opens, resizing (even too small) does not
# crash it, and q exits 0.
. "$top_srcdir/tests/lib.sh"
qp_setup vscreen
command -v tmux >/dev/null || qp_skip "tmux is not installed"
[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"

tm() { qp_tmux "$@"; }                 # a tmux server of our own, stopped at exit

qp_start_daemon
qp_bg "$top_builddir/tests/viewer_prod" known >"$T/prod.out"
PROD=$!
qp_wait_for 20 grep -q ready "$T/prod.out" || qp_fail "the producer did not start"
all_in() { "$QPTOP" -b --cumulative --format csv | grep -q ",vt,Outer,"; }
qp_wait_for 20 all_in || qp_fail "qpulsed did not aggregate the producer"

screen() { tm capture-pane -p -t qpt; }
has() { screen | grep -qF -- "$1"; }
hasnt() { ! screen | grep -qF -- "$1"; }
wait_has() { qp_wait_for 15 has "$1" || { screen >&2; qp_fail "the screen never showed '$1'"; }; }
wait_hasnt() { qp_wait_for 15 hasnt "$1" || { screen >&2; qp_fail "the screen still shows '$1'"; }; }
# line number of the first line holding $1
line_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1; }
keys() { tm send-keys -t qpt "$@"; sleep 0.3; }

# cumulative, so the known samples stay on screen whatever the window
tm new-session -d -s qpt -x 160 -y 50 \
  "env LANG=C.UTF-8 QPULSE_RUNTIME_DIR='$QPULSE_RUNTIME_DIR' '$QPTOP' --ns '$QPULSE_NS' --cumulative -d 0.5; echo \$? >'$T/exit'; sleep 60"

wait_has "namespace $QPULSE_NS"
wait_has "vt.Fast"
for col in PID PROCESS OPERATION COUNT RATE/s MEAN P50 P99 P99.9 MAX SELF CPU% RSS; do
  has " $col" || { screen >&2; qp_fail "no column $col"; }
done
has "processes 1 alive, 0 exited" || { screen >&2; qp_fail "header: process totals"; }
has "view cumulative" || qp_fail "header: the view"

# default sort: P99, largest first: Slow (5ms) above Fast (~100us)
[ "$(line_of vt.Slow)" -lt "$(line_of vt.Fast)" ] || { screen >&2; qp_fail "p99 order"; }
# N: by operation name: Fast above Slow
keys N
qp_wait_for 10 sh -c "[ \$(tmux -S $T/tmux.sock capture-pane -p -t qpt | grep -nF vt.Fast | cut -d: -f1) -lt \$(tmux -S $T/tmux.sock capture-pane -p -t qpt | grep -nF vt.Slow | cut -d: -f1) ]" ||
  { screen >&2; qp_fail "N did not reorder the rows"; }
# I inverts it back
keys I
qp_wait_for 10 sh -c "[ \$(tmux -S $T/tmux.sock capture-pane -p -t qpt | grep -nF vt.Fast | cut -d: -f1) -gt \$(tmux -S $T/tmux.sock capture-pane -p -t qpt | grep -nF vt.Slow | cut -d: -f1) ]" ||
  { screen >&2; qp_fail "I did not invert the order"; }

# the filter hides rows
keys /
keys S l o w
keys Enter
wait_hasnt "vt.Fast"
has "vt.Slow" || { screen >&2; qp_fail "the filter hid the matching row"; }
has 'filter "Slow"' || qp_fail "the header shows the filter"
keys Escape
wait_has "vt.Fast"

# tree: Inner nested under Outer with its share
keys t
wait_has "% vt.Inner"
screen | grep -qE "└─ [0-9]+% vt.Inner" || { screen >&2; qp_fail "Inner nested with its share"; }
keys t

# the detail view of Slow: all percentiles and the histogram
keys /
keys S l o w
keys Enter
keys Home
keys Down
keys Enter
wait_has "latency histogram"
has "vt.Slow" || qp_fail "the detail names the op"
has "Slow operation, exactly 5 ms" || { screen >&2; qp_fail "the detail shows the description"; }
has "p99.9" || qp_fail "the detail shows the percentiles"
screen | grep -qE "[45][.][0-9]+ms █+ 10 " || { screen >&2; qp_fail "no histogram bar of 10 samples near 5 ms"; }
keys Escape
wait_has "OPERATION"
keys Escape

# help, and back with any key
keys h
wait_has "qptop keys"
keys x
wait_has "OPERATION"

# resizing: smaller, too small, back; it must keep running
tm resize-window -t qpt -x 70 -y 14
wait_has "OPERATION"
tm resize-window -t qpt -x 20 -y 4
wait_has "too small"
tm resize-window -t qpt -x 160 -y 50
wait_has "vt.Fast"
[ ! -e "$T/exit" ] || qp_fail "qptop ended while resizing (status $(cat "$T/exit"))"

# colours mean something: an over-budget row is red, an exited process dim;
# NO_COLOR turns colour off (a saved snapshot with a broken budget)
sample="$top_srcdir/tests/viewer-sample.json"
tm new-session -d -s qc -x 160 -y 20 "env TERM=xterm-256color '$QPTOP' --input '$sample'; sleep 60"
tm new-session -d -s qm -x 160 -y 20 "env TERM=xterm-256color NO_COLOR=1 '$QPTOP' --input '$sample'; sleep 60"
qp_wait_for 10 sh -c "tmux -S $T/tmux.sock capture-pane -p -t qc | grep -q RiskAssessment" || qp_fail "no sample on screen"
qp_wait_for 10 sh -c "tmux -S $T/tmux.sock capture-pane -p -t qm | grep -q RiskAssessment" || qp_fail "no sample on screen"
esc=$(printf '\033')
tm capture-pane -e -p -t qc | grep "4242 trading  .*RiskAssessment" | grep -q "${esc}\[31m" ||
  { tm capture-pane -e -p -t qc | cat -v >&2; qp_fail "the over-budget row is not red"; }
tm capture-pane -e -p -t qc | grep "4343 trading  .*RiskAssessment" | grep -q "${esc}\[2m" ||
  qp_fail "the exited process is not dimmed"
if tm capture-pane -e -p -t qm | grep -qE "${esc}\[(3[0-7]|4[0-7])m"; then
  tm capture-pane -e -p -t qm | cat -v >&2
  qp_fail "colours with NO_COLOR set"
fi
tm capture-pane -p -t qm | grep -q "^!  *4242 trading .*RiskAssessment" || qp_fail "no ! flag without colour"

keys q
qp_wait_for 10 test -s "$T/exit" || qp_fail "q did not quit"
[ "$(cat "$T/exit")" = 0 ] || qp_fail "q exited $(cat "$T/exit")"
echo "PASS: qptop screen"
