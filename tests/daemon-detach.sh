#!/bin/sh
# qpulsed behaves like a daemon: --daemon returns once it is ready, writes
# --pidfile, logs to --log-file and reopens it on SIGHUP; a client that never
# finishes its request is cut off after 2 s and does not stall others;
# SIGTERM removes the pid file and exits.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-detach

"$QPULSED" --ns "$QPULSE_NS" --daemon --pidfile "$T/qpulsed.pid" --log-file "$T/d.log" ||
  qp_fail "--daemon failed"
test -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" || qp_fail "not ready when --daemon returned"
D=$(cat "$T/qpulsed.pid")
QP_PIDS="$QP_PIDS $D"
"$QPD_TOOL" req PING | grep -q "\"pid\":$D," || qp_fail "PING answered by another pid"
expect "namespace lock holds the pid" "$(cat "$QPULSE_RUNTIME_DIR/$QPULSE_NS.pid")" "$D"
grep -q "ready" "$T/d.log" || qp_fail "nothing logged to --log-file"

# Log rotation.
mv "$T/d.log" "$T/d.log.1"
kill -HUP $D
qp_wait_for 10 grep -q "log reopened" "$T/d.log" || qp_fail "SIGHUP did not reopen the log"

# A stuck client: the daemon keeps serving others and cuts it off.
"$QPD_TOOL" hold "SNAPSHOT cumul" > "$T/hold.out" &
H=$!
sleep 0.2
"$QPD_TOOL" req PING > /dev/null || qp_fail "a stuck client blocked PING"
"$QPD_TOOL" req "SNAPSHOT window" > /dev/null || qp_fail "a stuck client blocked SNAPSHOT"
wait $H
grep -q '"error":"request not finished within 2 s"' "$T/hold.out" ||
  qp_fail "stuck client: $(cat "$T/hold.out")"
# An oversized request is refused.
head -c 1200 /dev/zero | tr '\0' 'A' > "$T/long"
"$QPD_TOOL" hold "$(cat "$T/long")" | grep -q "longer than 1024 bytes" || qp_fail "long request"

kill -TERM $D
qp_wait_for 10 sh -c "! kill -0 $D 2>/dev/null" || qp_fail "SIGTERM did not stop the daemon"
[ ! -e "$T/qpulsed.pid" ] || qp_fail "--pidfile left behind"
expect "shm objects left" "$(qp_shm_count)" 0
grep -q "exited cleanly" "$T/d.log" || qp_fail "no clean exit logged"
exit 0
