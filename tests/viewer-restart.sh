#!/usr/bin/env bash
# viewer-restart.sh — qptop outlives its daemon: started before any daemon
# runs it says how to start one; when qpulsed stops under it, it says so
# instead of crashing; when qpulsed comes back, it shows data again.
. "$top_srcdir/tests/lib.sh"
qp_setup vrestart
command -v tmux >/dev/null || qp_skip "tmux is not installed"
[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"

. "$top_srcdir/tests/viewer-common.sh"
SCREEN_WAIT=20
alive() { [ ! -e "$T/exit" ] || qp_fail "qptop ended (status $(cat "$T/exit"))"; }

start_qptop 140 30 --cumulative -d 0.3
wait_has "qpulsed is not running in namespace $QPULSE_NS"
has "start it with: qpulsed --ns $QPULSE_NS" || qp_fail "no hint how to start the daemon"
alive

qp_start_daemon
qp_bg "$top_builddir/tests/viewer_prod" known >"$T/prod.out"
wait_has "vt.Fast"
alive

kill -TERM "$QP_DAEMON_PID"
wait "$QP_DAEMON_PID" 2>/dev/null || true
wait_has "qpulsed is not running in namespace $QPULSE_NS"
sleep 1
alive

qp_start_daemon
# the new daemon finds the producer again (its samples went with the old one)
wait_has "viewer_prod"
qp_wait_for 20 sh -c "! tmux -S $T/tmux.sock capture-pane -p -t qpt | grep -q 'not running'" ||
  { screen >&2; qp_fail "qptop did not reconnect"; }
alive

tm send-keys -t qpt q
qp_wait_for 10 test -s "$T/exit" || qp_fail "q did not quit"
[ "$(cat "$T/exit")" = 0 ] || qp_fail "q exited $(cat "$T/exit")"
echo "PASS: qptop across a daemon restart"
