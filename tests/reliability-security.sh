#!/bin/sh
# reliability-security.sh — nothing let in.
#
#  - segments and the daemon's record: mode 0600 (runtime dir 0700); the
#    daemon runs as root, so in system mode: its socket is 0666;
#  - a producer run as nobody is collected (system mode), a segment whose
#    header names another pid than its name, and one of random bytes are
#    ignored (logged), and the daemon stays up (forgery across users:
#    tests/system-users.sh);
#  - as nobody, connecting through the 0700 directory fails, and with it
#    opened up nobody is answered with nobody's processes only;
#  - the Prometheus endpoint binds loopback when given only a port, serves
#    nothing but GET /metrics, refuses an oversized request and drops a
#    client that sends nothing.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup relsec
P="$top_builddir/tests/reliability-producer"

[ "$(id -u)" -eq 0 ] || qp_skip "needs root (runs programs as user nobody)"
command -v setpriv >/dev/null || qp_skip "setpriv(1) not installed"
# The system's python: one under root's home is not reachable by nobody.
PY=/usr/bin/python3
[ -x $PY ] || qp_skip "$PY not installed"
id nobody >/dev/null 2>&1 || qp_skip "no user nobody"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody true || qp_skip "setpriv cannot switch users here"

# User nobody runs the producer from a directory of its own: the build tree
# may lie under a directory only root may enter (a clone in a `mktemp -d`,
# under /root), where nobody cannot run $P, and the test would fail for
# that alone.  The program itself, not libtool's wrapper script, with the
# library it was linked with.
chmod 711 "$T"
NB="$T/nobody"
mkdir -m 755 "$NB"
real="$(dirname "$P")/.libs/$(basename "$P")"
[ -x "$real" ] || real="$P"
cp "$real" "$NB/reliability-producer" || qp_fail "cannot copy $real"
for l in "$top_builddir"/lib/.libs/libqpulse.so*; do
  [ -e "$l" ] && cp -L "$l" "$NB/"
done
chmod -R a+rX "$NB"
as_nobody env LD_LIBRARY_PATH="$NB" QPULSE_NS="$QPULSE_NS" "$NB/reliability-producer" -n 1 -q ||
  qp_fail "user nobody cannot run the producer copied to $NB"

mode() { stat -c '%a %U' "$1"; }
# A random port: another program may hold it (any connection's local port
# may be one of them), then qpulsed exits at once and the next is tried.
for try in 1 2 3 4 5 6; do
  port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
  qp_try_start_daemon --listen "$port" && break
  [ $try -lt 6 ] || qp_fail "qpulsed did not start with --listen on any of 6 ports"
done
qp_wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" ||
  qp_fail "no metrics endpoint on 127.0.0.1:$port"

# A client that connects and says nothing: dropped within the 10 s limit
# (checked at the end, it runs meanwhile).
$PY - "$port" >"$T/idle" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
s.settimeout(30)
try:
    while s.recv(4096):
        pass
except socket.timeout:
    pass
print("%.1f" % (time.time() - t))
PY
idle=$!

# 1. Modes.
"$P" -t 1 -n 0 -s 1000 -q &
p=$!
qp_wait_for 20 listed $p || qp_fail "the daemon did not find a producer"
seg=$(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.$p\.")
[ "$(mode "/dev/shm/$seg")" = "600 root" ] || qp_fail "segment mode $(mode "/dev/shm/$seg")"
[ "$(mode "/dev/shm/qpulse.$QPULSE_NS.daemon")" = "600 root" ] || qp_fail "daemon record mode"
[ "$(mode "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock")" = "666 root" ] || qp_fail "socket mode (system mode)"
[ "$(mode "$QPULSE_RUNTIME_DIR")" = "700 root" ] || qp_fail "runtime dir mode"

# 2. Foreign segments.  (a) nobody's producer: its segment is nobody's,
# and a root daemon collects it (system mode).
# (not through as_nobody: a function in the background would be a subshell
# with a pid of its own, and we need the producer's)
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  env QPULSE_NS="$QPULSE_NS" LD_LIBRARY_PATH="$NB" "$NB/reliability-producer" -t 1 -n 0 -s 1000 -q &
pn=$!
qp_wait_for 20 sh -c "ls /dev/shm | grep -q '^qpulse\.$QPULSE_NS\.$pn\.'" ||
  qp_fail "the producer run as nobody made no segment"
# (b) a copy of a real segment under another live pid's name (ours).
cp "/dev/shm/$seg" "/dev/shm/qpulse.$QPULSE_NS.$$.0.0"
# (c) random bytes named like a segment of our pid.
head -c 300000 /dev/urandom > "/dev/shm/qpulse.$QPULSE_NS.$$.0.1"
chmod 600 "/dev/shm/qpulse.$QPULSE_NS.$$.0.0" "/dev/shm/qpulse.$QPULSE_NS.$$.0.1"
qp_wait_for 20 sh -c "[ \$(grep -c 'skipping segment' '$T/qpulsed.log') -ge 2 ]" || {
  cat "$T/qpulsed.log" >&2; qp_fail "the daemon did not log skipping the 2 bad segments"; }
qp_wait_for 20 listed $pn || qp_fail "the root daemon did not collect nobody's process"
[ "$(field $$ - - pid)" = none ] || qp_fail "the daemon listed a segment naming another pid"
[ "$(field $p - - pid)" = "$p" ] || qp_fail "the genuine producer is no longer listed"

# 3. The socket, as nobody.
connect_ping() {
  as_nobody $PY - "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: %s" % e.strerror); sys.exit(0)
s.settimeout(10)
try:
    s.sendall(b"PING\n")
except OSError as e:
    print("closed: %s" % e.strerror); sys.exit(0)   # refused before we spoke
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
except OSError:
    pass
print("reply: %r" % data)
PY
}
out=$(connect_ping)
qp_log "nobody, as installed: $out"
case $out in "connect: Permission denied") ;; *) qp_fail "nobody could connect: $out" ;; esac
chmod 711 "$T"
chmod 755 "$QPULSE_RUNTIME_DIR"
chmod 666 "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock"
out=$(connect_ping)
qp_log "nobody, with the permissions opened: $out"
case $out in *'"pid"'*) ;; *) qp_fail "nobody was not answered PING: $out" ;; esac
as_nobody env QPULSE_NS="$QPULSE_NS" QPULSE_SYSTEM_RUNTIME_DIR="$QPULSE_RUNTIME_DIR" "$QPD_TOOL" req "SNAPSHOT cumulative" > "$T/nobody.json" ||
  qp_fail "nobody's snapshot"
[ "$("$QPD_TOOL" get "$T/nobody.json" $pn - - pid)" = "$pn" ] || qp_fail "nobody does not see its process"
[ "$("$QPD_TOOL" get "$T/nobody.json" $p - - pid)" = none ] || qp_fail "nobody sees root's process"
kill -KILL $pn; wait $pn 2>/dev/null
chmod 700 "$QPULSE_RUNTIME_DIR" "$T"
"$QPD_TOOL" req PING | grep -q '"pid"' || qp_fail "our own user is no longer served"

# 4. Prometheus.
command -v ss >/dev/null && {
  ss -ltnH "sport = :$port" | grep -q "127.0.0.1:$port" || qp_fail "not bound to loopback"
  ss -ltnH "sport = :$port" | grep -qv "127.0.0.1:$port" && qp_fail "bound beyond loopback"
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
[ "$(code "http://127.0.0.1:$port/metrics")" = 200 ] || qp_fail "GET /metrics"
for u in / /metrics/ /metrics/../etc/passwd /api /favicon.ico; do
  c=$(code --path-as-is "http://127.0.0.1:$port$u")
  [ "$c" = 404 ] || qp_fail "GET $u answered $c, want 404"
done
c=$(code -X POST -d x=1 "http://127.0.0.1:$port/metrics")
[ "$c" = 405 ] || qp_fail "POST /metrics answered $c, want 405"
big=$(head -c 100000 /dev/zero | tr '\0' a)
c=$(code -H "X-Big: $big" "http://127.0.0.1:$port/metrics")
case $c in 4??|000) ;; *) qp_fail "a 100 kB request header was answered $c" ;; esac
qp_log "100 kB header: HTTP $c"
wait $idle
t=$(cat "$T/idle")
qp_log "idle client dropped after $t s"
awk -v t="$t" 'BEGIN { exit !(t > 0 && t <= 15) }' || qp_fail "idle client kept $t s"
"$QPD_TOOL" req PING | grep -q '"pid"' || qp_fail "the daemon is gone"
