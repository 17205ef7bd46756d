#!/bin/sh
# server-nginx.sh — nginx under `qpulse run`, started as root with
# `user nobody;`, against a root (system) qpulsed in the test's namespace.
# nginx clears the environment of its workers and they drop to nobody
# after forking; for both the default hooks and --hooks all (where the
# workers' segments are created by root, before setuid):
#   - the master (root) and both workers (nobody) are listed, in the test's
#     namespace, none skipped, nothing in namespace "default";
#   - every request is counted: the workers' writev calls add up to the
#     requests made (one response each), as do their file opens;
#   - a worker's segment belongs to nobody;
#   - after nginx stops, nothing of the namespace is left in /dev/shm
#     but the daemon's own record.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup nginx

need_nobody "nginx's workers drop to nobody"
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null) || qp_skip "nginx is not installed"
command -v curl >/dev/null || qp_skip "curl is not installed"
N=200

chmod 711 "$T"
mkdir -m 0755 "$T/www" "$T/tmp"
echo hello > "$T/www/index.html"
chmod 644 "$T/www/index.html"
cat > "$T/nginx.conf" <<EOF
user nobody $(id -gn nobody);
worker_processes 2;
daemon off;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T/tmp;
  proxy_temp_path $T/tmp;
  fastcgi_temp_path $T/tmp;
  uwsgi_temp_path $T/tmp;
  scgi_temp_path $T/tmp;
  server {
    listen unix:$T/nginx.sock;
    root $T/www;
    location / { }
  }
}
EOF

qp_start_daemon
# sum OP PIDS...: libc.OP calls of PIDS in the last jsnap.
sum() {
  op=$1; shift
  jq -r --arg op "$op" --arg pids " $* " \
    '[.processes[] | select(. as $x | $pids | contains(" \($x.pid) ")) | .ops[] | select(.op == $op) | .count] | add // 0' \
    "$T/j.json"
}
sum_is() { want=$1; shift; jsnap && [ "$(sum "$@")" = "$want" ]; }

run_nginx() {
  hooks=$1
  rm -f "$T/nginx.sock"
  "$QPULSE" run --hooks "$hooks" -- "$NGINX" -c "$T/nginx.conf" -e "$T/error.log" \
    2>"$T/nginx.err" &
  RUNPID=$!
  qp_wait_for 20 '[ -S "$T/nginx.sock" ] && [ -s "$T/nginx.pid" ]' ||
    qp_fail "nginx did not start: $(cat "$T/nginx.err" "$T/error.log" 2>/dev/null)"
  MASTER=$(cat "$T/nginx.pid")
  qp_wait_for 20 '[ "$(pgrep -P $MASTER | wc -l)" -eq 2 ]' || qp_fail "nginx has no 2 workers"
  WORKERS=$(pgrep -P "$MASTER" | tr '\n' ' ')
  i=0
  while [ $i -lt $N ]; do
    curl -sf --unix-socket "$T/nginx.sock" -H 'Connection: close' http://localhost/ > "$T/body" ||
      qp_fail "request $i failed"
    i=$((i + 1))
  done
  [ "$(cat "$T/body")" = hello ] || qp_fail "nginx answered $(cat "$T/body")"
  qp_wait_for 20 sum_is $N writev $WORKERS || {
    cat "$T/qpulsed.log" >&2; qp_fail "--hooks $hooks: workers' writev $(sum writev $WORKERS), want $N"; }
  qp_wait_for 20 sum_is $N open $WORKERS ||
    qp_fail "--hooks $hooks: workers' opens $(sum open $WORKERS), want $N"
  for w in $WORKERS; do
    # The daemon re-reads a process's user once a second.
    qp_wait_for 20 uid_is "$w" "$NOBODY" || qp_fail "--hooks $hooks: worker $w is not listed as nobody's"
    qp_log "--hooks $hooks: uid of worker $w = $NOBODY"
    seg=$(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.$w\.")
    expect "--hooks $hooks: owner of worker $w's segment" "$(stat -c %u "/dev/shm/$seg")" "$NOBODY"
    ls /dev/shm | grep -q "^qpulse\.default\.$w\." && qp_fail "worker $w recorded into namespace default"
  done
  expect "--hooks $hooks: master listed" \
    "$(uid_of "$MASTER")" 0
  expect "--hooks $hooks: skipped" "$(jq -c .skipped "$T/j.json")" "[]"
  qp_log "--hooks $hooks: workers $WORKERS: writev $(sum writev $WORKERS), accept $(sum accept $WORKERS)"
  kill -QUIT "$MASTER"
  wait $RUNPID || qp_fail "nginx (under qpulse run) failed: $(cat "$T/nginx.err")"
  qp_wait_for 20 qp_shm_is 1 ||
    qp_fail "--hooks $hooks: left in /dev/shm after nginx stopped: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
}

run_nginx default
run_nginx all
exit 0
