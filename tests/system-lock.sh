#!/bin/sh
# One daemon per namespace on the host, whatever its runtime directory: a
# second qpulsed started with another runtime directory (another
# XDG_RUNTIME_DIR, another user's session) refuses to start and names the
# first one's pid; once the first exits cleanly, a new one starts.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup syslock

qp_start_daemon
A=$QP_DAEMON_PID
mkdir -m 0700 "$T/run2" "$T/xdg"
if QPULSE_RUNTIME_DIR="$T/run2" "$QPULSED" --ns "$QPULSE_NS" 2> "$T/second.err"; then
  qp_fail "a second qpulsed started with another runtime directory"
fi
qp_log "second daemon: $(cat "$T/second.err")"
grep -q "pid $A" "$T/second.err" || qp_fail "the refusal does not name pid $A: $(cat "$T/second.err")"
if env -u QPULSE_RUNTIME_DIR XDG_RUNTIME_DIR="$T/xdg" "$QPULSED" --ns "$QPULSE_NS" \
  2> "$T/third.err"; then
  qp_fail "a second qpulsed started with another XDG_RUNTIME_DIR"
fi
grep -q "pid $A" "$T/third.err" || qp_fail "the refusal does not name pid $A: $(cat "$T/third.err")"
[ ! -e "$T/run2/$QPULSE_NS.sock" ] || qp_fail "the refused daemon made a socket"
"$QPD_TOOL" req PING | grep -q "\"pid\":$A" || qp_fail "the first daemon stopped serving"

# A SIGKILLed daemon's lock dies with it.
kill -KILL $A
wait $A 2>/dev/null
QPULSE_RUNTIME_DIR="$T/run2" qp_bg "$QPULSED" --ns "$QPULSE_NS" 2>>"$T/qpulsed.log"
B=$!
# (at once: a writer child of the killed daemon that still shares its lock
# for a moment is waited for, not taken for a running daemon)
qp_wait_for 10 "test -S '$T/run2/$QPULSE_NS.sock' || ! qp_running $B" &&
  test -S "$T/run2/$QPULSE_NS.sock" || { cat "$T/qpulsed.log" >&2; qp_fail "no daemon after the SIGKILL"; }
kill -TERM $B
wait $B || qp_fail "daemon B did not exit cleanly"
[ ! -e "/dev/shm/qpulse.$QPULSE_NS.daemon" ] || qp_fail "the daemon's record (lock) left behind"
exit 0
