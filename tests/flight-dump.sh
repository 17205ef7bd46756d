#!/bin/sh
# --dump-dir: a budget breach writes the recent history of the process to a
# trace file and the log names it; a second breach of the same rule within
# a minute (here by a second process) writes none.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup flight-dump
SP="$top_builddir/tests/slow_prod"
SC="$top_builddir/tests/slow_check"

mkdir "$T/dumps"
printf 'sp.Request max < 150us\n' > "$T/budgets"
"$QPULSED" --ns "$QPULSE_NS" --dump-dir "$T/nonexistent" 2>"$T/bad.err"
expect "--dump-dir of a missing directory" $? 2
grep -q "dump-dir" "$T/bad.err" || qp_fail "the refusal names --dump-dir"

qp_start_daemon --window 1 --budgets "$T/budgets" --dump-dir "$T/dumps"
# Two processes, one outlier each (~250 us, limit 150 us), the second
# started once the first one's dump is written: two breaches, one dump.
# They are two processes because each starts with its budget holding: on a
# loaded machine a preempted request of the first process can keep its
# budget broken from one second to the next, so that a second outlier of the
# same process would not be a new breach.
qp_bg "$SP" -n 4000 -o 1 -r $((2000 / QP_SLOW)) -k > "$T/prod.out"
P=$!
qp_wait_for 30 grep -q done "$T/prod.out" || qp_fail "the producer did not finish"
dumped() { ls "$T/dumps" | grep -q 'trace.json$'; }
qp_wait_for 10 dumped || { cat "$T/qpulsed.log" >&2; qp_fail "no trace file written on the breach"; }
f="$T/dumps/$(ls "$T/dumps" | head -1)"
qp_wait_for 10 grep -qF "written to $f" "$T/qpulsed.log" || { cat "$T/qpulsed.log" >&2; qp_fail "the log does not name $f"; }
grep -q "slowest sample of sp.Request in the window" "$T/qpulsed.log" || qp_fail "the breach log names no slowest sample"
n=$(grep -o '"ph":"X"' "$f" | wc -l)
[ "$n" -gt 0 ] || qp_fail "the dump holds no sample"
"$SC" trace "$f" $P "$n" || qp_fail "the dump is not a well-nested trace"
grep -q '"name":"sp.Request"' "$f" || qp_fail "the dump lacks the breaching operation"
# the second process's breach (the log shows the rule broken twice) writes
# no second file
qp_bg "$SP" -n 4000 -o 1 -r $((2000 / QP_SLOW)) -k > "$T/prod2.out"
qp_wait_for 30 grep -q done "$T/prod2.out" || qp_fail "the second producer did not finish"
qp_wait_for 10 sh -c "[ \$(grep -c 'budget broken: .*sp.Request' '$T/qpulsed.log') -ge 2 ]" ||
  { cat "$T/qpulsed.log" >&2; qp_fail "the second breach was not seen"; }
grep -q "written less than a minute ago" "$T/qpulsed.log" || qp_fail "the second dump was not refused"
expect "trace files" "$(ls "$T/dumps" | wc -l)" 1
exit 0
