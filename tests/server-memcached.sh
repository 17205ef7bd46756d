#!/bin/sh
# server-memcached.sh — `memcached -u nobody` under `qpulse run`, started
# as root, against a root (system) qpulsed in the test's namespace; with
# the default hooks and with --hooks all (where the segment is created by
# root, before memcached drops to nobody):
#   - memcached is listed as nobody's, none skipped;
#   - every request is counted: N sets and N gets on one connection are
#     2N responses, each one sendmsg;
#   - its segment belongs to nobody;
#   - after memcached stops, nothing of the namespace is left in /dev/shm
#     but the daemon's own record.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup memcached

need_nobody "memcached -u nobody"
MEMCACHED=$(command -v memcached) || qp_skip "memcached is not installed"
command -v python3 >/dev/null || qp_skip "python3 is not installed"
N=300

chmod 711 "$T"
mkdir -m 0700 "$T/mc"
chown nobody "$T/mc"   # memcached makes its socket as nobody

qp_start_daemon

run_memcached() {
  hooks=$1
  rm -f "$T/mc/sock"
  "$QPULSE" run --hooks "$hooks" -- "$MEMCACHED" -u nobody -s "$T/mc/sock" -t 2 \
    2>"$T/mc.err" &
  MC=$!   # qpulse run execs the program: the same pid
  qp_wait_for 20 '[ -S "$T/mc/sock" ]' || qp_fail "memcached did not start: $(cat "$T/mc.err")"
  python3 - "$T/mc/sock" $N <<'EOF' || qp_fail "the memcached client failed"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
for i in range(int(sys.argv[2])):
    s.sendall(b"set k%d 0 0 5\r\nhello\r\n" % i)
    assert f.readline() == b"STORED\r\n"
    s.sendall(b"get k%d\r\n" % i)
    assert f.readline().startswith(b"VALUE")
    f.readline(); assert f.readline() == b"END\r\n"
s.close()
EOF
  qp_wait_for 20 count_is $MC sendmsg $((2 * N)) || {
    cat "$T/qpulsed.log" >&2; qp_fail "--hooks $hooks: sendmsg $(count $MC sendmsg), want $((2 * N))"; }
  # Its worker threads told apart (qptop's detail view): the one worker
  # that served the connection sent every response.
  "$QPD_TOOL" req "SNAPSHOT cumulative pid=$MC set=libc op=sendmsg threads" > "$T/threads.json"
  jq -e --argjson n $((2 * N)) '[.processes[0].ops[0].threads[] |
      select(.name | test("^mc-worker \\(tid [0-9]+\\)$"))] | any(.count == $n)' \
      "$T/threads.json" > /dev/null ||
    { cat "$T/threads.json" >&2; qp_fail "--hooks $hooks: no mc-worker thread with all $((2 * N)) sendmsg"; }
  qp_log "--hooks $hooks: per thread: $(jq -c '[.processes[0].ops[0].threads[] | [.name, .count]]' "$T/threads.json")"
  # The daemon re-reads a process's user once a second.
  qp_wait_for 20 uid_is $MC "$NOBODY" || qp_fail "--hooks $hooks: memcached is not listed as nobody's"
  qp_log "--hooks $hooks: uid of memcached = $NOBODY"
  seg=$(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.$MC\.")
  expect "--hooks $hooks: owner of its segment" "$(stat -c %u "/dev/shm/$seg")" "$NOBODY"
  expect "--hooks $hooks: skipped" "$(jq -c .skipped "$T/j.json")" "[]"
  qp_log "--hooks $hooks: memcached $MC: sendmsg $(count $MC sendmsg), read $(count $MC read)"
  kill -TERM $MC
  wait $MC
  qp_wait_for 20 qp_shm_is 1 ||
    qp_fail "--hooks $hooks: left in /dev/shm after memcached stopped: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
}

run_memcached default
run_memcached all
exit 0
