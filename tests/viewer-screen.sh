#!/usr/bin/env bash
# viewer-screen.sh — qptop's live screen driven under tmux against the real
# daemon and a producer with known samples: the header and columns appear,
# a sort key reorders rows, the filter hides rows, the tree nests, the detail
# view shows the histogram, help opens, resizing (even too small) does not
# crash it, and q exits 0.  Then, on a saved snapshot of a build-like mix
# (a server, short-lived compilers, hundreds of exited shells), at 80 and
# 200 columns: total/share sorting, names from the command line, columns
# sized to their content, exited processes hidden, merged window rates.
. "$top_srcdir/tests/lib.sh"
qp_setup vscreen
command -v tmux >/dev/null || qp_skip "tmux is not installed"
[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"

. "$top_srcdir/tests/viewer-common.sh"

qp_start_daemon
qp_bg "$top_builddir/tests/viewer_prod" known >"$T/prod.out"
PROD=$!
qp_wait_for 20 grep -q ready "$T/prod.out" || qp_fail "the producer did not start"
all_in() { "$QPTOP" -b --cumulative --format csv | grep -q ",vt,Outer,"; }
qp_wait_for 20 all_in || qp_fail "qpulsed did not aggregate the producer"

hasnt() { ! screen | grep -qF -- "$1"; }
wait_hasnt() { qp_wait_for 15 hasnt "$1" || { screen >&2; qp_fail "the screen still shows '$1'"; }; }
# line number of the first line holding $1
line_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1; }

# cumulative, so the known samples stay on screen whatever the window
start_qptop 160 50 --cumulative -d 0.5

wait_has "namespace $QPULSE_NS"
wait_has "vt.Fast"
for col in PID PROCESS OPERATION COUNT RATE/s TOTAL SHARE MEAN P50 P99 P99.9 MAX SELF CPU% RSS; do
  has " $col" || { screen >&2; qp_fail "no column $col"; }
done
has "processes 1 alive, 0 exited" || { screen >&2; qp_fail "header: process totals"; }
has "view cumulative" || qp_fail "header: the view"

has "sort TOTAL" || { screen >&2; qp_fail "the default sort is TOTAL"; }
# default sort: total time, largest first: Slow (10 x 5ms) above Fast (100 x ~50us)
[ "$(line_of vt.Slow)" -lt "$(line_of vt.Fast)" ] || { screen >&2; qp_fail "total order"; }
has "viewer_prod known" || { screen >&2; qp_fail "the name with its first argument"; }
# N: by operation name: Fast above Slow
keys N
qp_wait_for 10 '[ "$(line_of vt.Fast)" -lt "$(line_of vt.Slow)" ]' ||
  { screen >&2; qp_fail "N did not reorder the rows"; }
# I inverts it back
keys I
qp_wait_for 10 '[ "$(line_of vt.Fast)" -gt "$(line_of vt.Slow)" ]' ||
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
for pane in qc qm; do
  qp_wait_for 10 'tm capture-pane -p -t $pane | grep -q RiskAssessment' || qp_fail "no sample on screen"
done
esc=$(printf '\033')
tm capture-pane -e -p -t qc | grep "4242 trading  .*RiskAssessment" | grep -q "${esc}\[31m" ||
  { tm capture-pane -e -p -t qc | cat -v >&2; qp_fail "the over-budget row is not red"; }
tm capture-pane -e -p -t qc | grep "4343 trading .*1 op, exited" | grep -q "${esc}\[[0-9;]*2m" ||
  qp_fail "the exited process is not dimmed"
if tm capture-pane -e -p -t qm | grep -qE "${esc}\[(3[0-7]|4[0-7])m"; then
  tm capture-pane -e -p -t qm | cat -v >&2
  qp_fail "colours with NO_COLOR set"
fi
tm capture-pane -p -t qm | grep -q "^!  *4242 trading .*RiskAssessment" || qp_fail "no ! flag without colour"

# A build-like mix: a live server, three cc1 that ran at 100 M reads/s for
# their millisecond of life, a long title, 300 exited shells with nothing in
# the window.
mix="$T/mix.json"
{
  printf '{"qpulse":1,"time":1763800000,"window_s":10,"ns":"mix","daemon_pid":1,"processes":['
  printf '{"pid":4001,"name":"redis-server","cmdline":["redis-server","*:6379"],"alive":true,"ops":['
  printf '{"set":"libc","op":"write","count":1000,"rate_per_s":100,"mean_ns":5200,"p99_ns":9000,"total_ns":5200000,"self_ns":5200000},'
  printf '{"set":"libc","op":"pthread_mutex_lock","count":9000,"rate_per_s":900,"mean_ns":100,"p99_ns":90000,"total_ns":900000,"self_ns":900000}]},'
  printf '{"pid":4002,"name":"postgres","cmdline":["postgres: checkpointer process"],"alive":true,"ops":['
  printf '{"set":"libc","op":"fdatasync","count":40,"rate_per_s":4,"mean_ns":140000,"total_ns":5600000,"self_ns":5600000}]}'
  for i in 1 2 3; do
    printf ',{"pid":50%02d,"name":"cc1","cmdline":["/usr/lib/gcc/cc1","-quiet","x%d.c"],"alive":false,"ops":[' "$i" "$i"
    printf '{"set":"libc","op":"read","count":1000,"rate_per_s":100000000,"mean_ns":10,"total_ns":10000,"self_ns":10000}]}'
  done
  i=0
  while [ $i -lt 300 ]; do
    printf ',{"pid":%d,"name":"sh","alive":false,"ops":[]}' $((6000 + i))
    i=$((i + 1))
  done
  printf ']}\n'
} >"$mix"
mx() { tm capture-pane -p -t mx; }
mx_has() { mx | grep -qF -- "$1"; }
mx_wait() { qp_wait_for 15 mx_has "$1" || { mx >&2; qp_fail "${2:-the screen never showed '$1'}"; }; }
mx_keys() { tm send-keys -t mx "$@"; sleep 0.3; }

tm new-session -d -s mx -x 200 -y 40 "env LANG=C.UTF-8 '$QPTOP' --input '$mix'; sleep 60"
mx_wait "libc.fdatasync"
mx_has "(300 idle hidden)" || { mx >&2; qp_fail "200: the count of hidden exited processes"; }
mx | grep -qE "^. +6[0-9]{3} sh " && { mx >&2; qp_fail "200: idle exited processes listed"; }
mx_has "postgres: checkpointer process " || { mx >&2; qp_fail "200: a long name is cut"; }
mx_has "redis-server " || { mx >&2; qp_fail "200: the name from the command line"; }
# OPERATION only as wide as its longest label: COUNT comes soon after it
hdr=$(mx | grep -m1 " OPERATION ")
pre=${hdr%%COUNT*}
[ ${#pre} -lt 80 ] || { mx >&2; qp_fail "200: OPERATION takes $((${#pre})) cells"; }
# total: postgres (5.6 ms in fdatasync) above redis-server (5.2 + 0.9 ms in
# two ops, 6.1 ms) - no: the process with the most time first
pl=$(mx | grep -n "postgres: checkpointer" | head -1 | cut -d: -f1)
rl=$(mx | grep -n "redis-server" | head -1 | cut -d: -f1)
[ "$rl" -lt "$pl" ] || { mx >&2; qp_fail "200: processes by total time"; }
mx | grep "libc.write" | grep -qE "5[.]20ms +[0-9]+[.][0-9]%" || { mx >&2; qp_fail "200: TOTAL and SHARE of write"; }
# e lists the exited shells, e hides them again
mx_keys e
shells_listed() { mx | grep -qE '^. +6[0-9]{3} sh '; }
qp_wait_for 10 shells_listed ||
  { mx >&2; qp_fail "e did not list the exited processes"; }
mx_keys e
qp_wait_for 10 '! shells_listed' ||
  { mx >&2; qp_fail "e did not hide them again"; }
# merged: three cc1 at 100 M/s each while alive are 300 reads/s over the window
mx_keys m
mx_wait "cc1×3"
mx | grep "cc1×3 .*libc.read" | grep -qE " 3000 +300 " ||
  { mx >&2; qp_fail "merged rate: not the window rate"; }
mx | grep -q "300[.]0M" && { mx >&2; qp_fail "merged rate: lifetime rates added"; }
# 80 columns: PROCESS stays (a 30-character title gets its share of the
# room with the operations), short names whole, TOTAL and SHARE there
tm resize-window -t mx -x 80 -y 30
fits_80() { mx | head -1 | awk '{ exit length($0) > 80 }'; }
qp_wait_for 10 fits_80
mx_keys m
mx_wait "postgres: check" "80: the long name is cut to nothing"
hdr=$(mx | grep -m1 " OPERATION ")
for col in PROCESS OPERATION COUNT TOTAL SHARE MEAN P99; do
  case "$hdr" in *" $col"*) ;; *) mx >&2; qp_fail "80: no column $col";; esac
done
mx | grep -q "redis-serve~" && { mx >&2; qp_fail "80: redis-server cut"; }
mx | grep -q "libc.fdatasync " || { mx >&2; qp_fail "80: an operation name cut"; }
# (one cell per code point: UTF-8 continuation bytes dropped before counting)
mx | LC_ALL=C sed 's/[\x80-\xbf]//g' | awk 'length($0) > 80 { bad = 1 } END { exit bad }' ||
  { mx >&2; qp_fail "80: a line wider than the screen"; }

keys q
qp_wait_for 10 test -s "$T/exit" || qp_fail "q did not quit"
[ "$(cat "$T/exit")" = 0 ] || qp_fail "q exited $(cat "$T/exit")"
echo "PASS: qptop screen"
