#!/bin/sh
# reliability-churn.sh — many short-lived processes and threads.
#
# 1000 processes, 8 at a time, each recording a few samples and exiting
# (some SIGKILLed: their segments are left for a daemon to remove, so
# without one they are removed here and not counted); then one process
# running 256 threads, 64 at a time, over 64 slots: slots are reused, so
# nothing is dropped for want of one.  No /dev/shm leftovers.
. "$top_srcdir/tests/lib.sh"
qp_setup relchurn
P="$top_builddir/tests/reliability-producer"
n=${QP_REL_PROCS:-1000}

seq 1 "$n" | xargs -P 8 -I{} "$P" -t 2 -n 50 -q 2>"$T/err" ||
  qp_fail "a short-lived producer failed"
[ ! -s "$T/err" ] || { cat "$T/err" >&2; qp_fail "the producers wrote to stderr"; }
left=$(qp_shm_count)
[ "$left" -eq 0 ] || qp_fail "$left segments left by $n processes that exited normally"

QPULSE_THREADS=64 QPULSE_RING_RECORDS=4096 "$P" -t 64 -c 256 -n 50 >"$T/out" 2>"$T/err" ||
  qp_fail "thread churn: exit $?"
qp_log "thread churn: $(cat "$T/out")"
grep -q '^attempted=12800 recorded=12800 dropped=0$' "$T/out" ||
  qp_fail "thread churn: slots were not reused ($(cat "$T/out"))"
[ ! -s "$T/err" ] || qp_fail "thread churn wrote to stderr: $(cat "$T/err")"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "thread churn left its segment"
