#!/usr/bin/env bash
# qptop's detail view lists an operation's slowest samples, and Enter on
# one shows its waterfall: the sample and what ran inside it, nested, with
# bars on a time axis, offsets, durations and self times.  Driven under
# tmux against the real daemon and a producer with two known outliers.
. "$top_srcdir/tests/lib.sh"
qp_setup fwaterfall
command -v tmux >/dev/null || qp_skip "tmux is not installed"

. "$top_srcdir/tests/viewer-common.sh"

qp_start_daemon --slowest 20
qp_bg "$top_builddir/tests/slow_prod" -n 2000 -o 2 -k > "$T/prod.out"
qp_wait_for 30 grep -q done "$T/prod.out" || qp_fail "the producer did not finish"
in_daemon() { "$QPTOP" -b --cumulative --format csv | grep -q ",sp,Db,"; }
qp_wait_for 20 in_daemon || qp_fail "qpulsed did not aggregate the producer"

start_qptop 160 50 --cumulative -d 0.5
wait_has "sp.Request"
keys /
keys R e q u e s t
keys Enter
keys Home
keys Down
keys Enter
wait_has "slowest samples"
# its samples per thread (one thread: all 2002 of them)
wait_has "per thread, as the flight recorder holds it"
screen | grep -qE "tid [0-9]+\)? +2002 calls +100\.0%" ||
  { screen >&2; qp_fail "the detail view does not give the op's samples per thread"; }
# the slowest first: an outlier, with Parse and Risk inside
screen | grep -qE "^ *> +[0-9.]+[mu]s +at [0-9:.]+ +tid [0-9]+ +self .* inside: Parse [0-9.]+[mun]?s, Risk [0-9.]+[mun]?s" ||
  { screen >&2; qp_fail "the detail view does not list the outlier with its inside"; }
# choose an outlier (Parse spins 50 us in it): on a busy machine a normal
# request preempted for longer may list above it
pick=$(screen | awk '/slowest samples/ { on = 1; i = 0; next }
  on && /inside: Parse / { if (match($0, /Parse [0-9.]+(us|ms)/)) {
      v = substr($0, RSTART + 6, RLENGTH - 6); u = substr(v, length(v) - 1)
      if (u == "ms" || v + 0 >= 50) { print i; exit } }
    i++; next }
  on && !/^ *$/ { i++ }
  on && /^ *$/ { exit }')
[ -n "$pick" ] || { screen >&2; qp_fail "no outlier among the slowest samples"; }
i=0
while [ $i -lt "$pick" ]; do keys Down; i=$((i + 1)); done
keys Enter
wait_has "time from its start"
has "sp.Request " || qp_fail "the waterfall names the sample"
screen | sed -n "1,12p" | sed "s/^/# /"   # for the log
# nested: Parse and Risk one level in, Db two; each with offset, duration, self
T_="[0-9.]+[mun]?s"
for pat in "^ +sp.Request +█+ +\\+0ns +$T_ +self " "^ +  sp.Parse +█+ +\\+$T_ +$T_ +self " \
           "^ +  sp.Risk +█+ +\\+$T_ +$T_ +self " "^ +    sp.Db +█+ +\\+$T_ +$T_ +self "; do
  screen | grep -qE "$pat" || { screen >&2; qp_fail "no waterfall line matching '$pat'"; }
done
# the Db bar starts to the right of the Parse bar (later on the time axis)
col() { screen | grep -E "$1" | head -1 | awk '{ print index($0, "█") }'; }
[ "$(col '^ +    sp.Db ')" -gt "$(col '^ +  sp.Parse ')" ] || { screen >&2; qp_fail "Db is not drawn after Parse"; }
keys Escape
wait_has "slowest samples"
keys Escape
wait_has "OPERATION"
keys q
qp_wait_for 5 test -e "$T/exit" || qp_fail "qptop did not quit"
expect_rc=$(cat "$T/exit")
[ "$expect_rc" = 0 ] || qp_fail "qptop exited $expect_rc"
exit 0
