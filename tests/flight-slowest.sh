#!/bin/sh
# The slowest samples with what ran inside them, and `qpulse trace`: a real
# producer records 2 x 10000 normal requests (Request > Parse, Risk > Db)
# with 6 injected outliers whose inside it measured itself.  Every outlier
# is among the daemon's slowest with Parse, Risk and Db at the right offsets
# and durations, children + self = duration; the trace of the process holds
# every recorded sample, nested properly per thread; `qpulse check` names
# the slowest breaching sample and what ran inside it.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup flight-slowest
SP="$top_builddir/tests/slow_prod"
SC="$top_builddir/tests/slow_check"

qp_start_daemon --slowest 30
qp_bg "$SP" -t 2 -n 10000 -o 3 -e "$T/expect" -k > "$T/prod.out"
P=$!
qp_wait_for 60 grep -q done "$T/prod.out" || qp_fail "the producer did not finish"
recorded=$(sed -n 's/^recorded=//p' "$T/prod.out")
expect "samples recorded" "$recorded" $((4 * 2 * 10003))
all_in() { snap cumulative && [ "$(field $P sp Request count)" = $((2 * 10003)) ] &&
           [ "$(field $P sp Db count)" = $((2 * 10003)) ]; }
qp_wait_for 20 all_in || qp_fail "the daemon did not aggregate every request"

cp "$T/snap.json" "$T/cum.json"
# Per thread (what qptop's detail view asks for): each of the 2 threads
# recorded 10003 requests, all held by the recorder.  (Named "comm (tid
# N)" while the thread runs; these have ended: "slow_prod tid N".)
"$QPD_TOOL" req "SNAPSHOT cumulative pid=$P set=sp op=Request threads" > "$T/threads.json"
jq -e '.processes[0].ops[0] | (.threads | length == 2 and all(.count == 10003 and
         (.name | test("tid [0-9]+\\)?$")) and .max_ns > 0 and .total_ns >= .max_ns))
         and .threads_other == 0 and (.threads_from | type == "number")' "$T/threads.json" > /dev/null ||
  { cat "$T/threads.json" >&2; qp_fail "SNAPSHOT ... threads: not 2 threads of 10003 requests"; }
"$QPD_TOOL" req "SNAPSHOT cumulative threads" | grep -q '"error"' ||
  qp_fail "threads without pid= was not refused"
"$SC" tree "$T/cum.json" $P "$T/expect" || { cat "$T/expect" >&2; qp_fail "outliers and their trees"; }
# The window view has them too (they ran in the last 10 s, or the machine
# was too slow for this check to mean anything).
"$QPD_TOOL" req "SNAPSHOT window" > "$T/win.json"
grep -q '"slowest":\[{"time":' "$T/win.json" || qp_fail "no slowest samples in the window"

# qpulse trace: every recorded sample of the process, nested per thread.
"$QPULSE" trace --pid $P -o "$T/trace.json" 2> "$T/trace.err" || qp_fail "qpulse trace failed"
grep -q "$recorded samples written" "$T/trace.err" || { cat "$T/trace.err" >&2; qp_fail "trace summary"; }
"$SC" trace "$T/trace.json" $P "$recorded" || qp_fail "the trace"
# --last and standard output
"$QPULSE" trace --last 3600 | head -c 20 | grep -q '{"displayTimeUnit"' || qp_fail "trace to stdout"
# nothing for a process it never saw: 1; usage errors: 2
"$QPULSE" trace --pid 1 2>/dev/null; expect "trace of an unknown pid" $? 1
"$QPULSE" trace --last -1 2>/dev/null; expect "trace --last -1" $? 2
"$QPULSE" trace --bogus 2>/dev/null; expect "trace --bogus" $? 2
"$QPULSE" trace extra 2>/dev/null; expect "trace with an argument" $? 2

# qpulse check: the breach names its slowest sample and what ran inside it.
printf 'sp.Request max < 100us\n' > "$T/budgets"
"$QPULSE" check --budgets "$T/budgets" --input "$T/cum.json" > "$T/check.out"
expect "check of a broken budget" $? 1
grep -qE "sp.Request: the slowest breaching sample took .* inside it: sp.(Risk|Parse) .*, sp.(Risk|Parse) .*; its own code" "$T/check.out" ||
  { cat "$T/check.out" >&2; qp_fail "check does not name the slowest sample's inside"; }
exit 0
