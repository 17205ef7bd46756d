# tests/daemon-common.sh — helpers shared by the qpulsed tests (sourced
# after tests/lib.sh).
#
#   snap MODE [hist]          snapshot into $T/snap.json (MODE window|cumulative)
#   field PID SET OP FIELD    a field of the last snapshot (SET OP "-" for the
#                             process's own fields)
#   wait_exited PID           until the daemon lists PID as not alive
#   producer_pid FILE         the pid a prod_gen run printed ("pid=N")
#   need_nobody WHY           skip unless root with jq and a user nobody:
#                             $NOBODY, $NOGROUP
#   jsnap                     qptop -b's cumulative JSON into $T/j.json
#   count PID OP              calls of OP by PID in the last jsnap (0 if none)
#   count_is PID OP N         a fresh jsnap counts N
#   uid_is PID UID            a fresh jsnap lists PID as UID's
#   start_listening BASE [ARGS...]
#                             qpulsed ARGS --listen on a free loopback port
#                             near BASE: $PORT, $URL (its /metrics)
#   start_prometheus BASE [RULES [FLAGS...]]
#                             a Prometheus server scraping $PORT every
#                             second, on a free port near BASE: $PPORT

PROD="$top_builddir/tests/prod_gen"
QPD_TOOL="$top_builddir/tests/qpd_tool"

snap() {
  "$QPD_TOOL" req "SNAPSHOT $*" > "$T/snap.json.tmp" &&
    mv "$T/snap.json.tmp" "$T/snap.json"
}

field() {
  "$QPD_TOOL" get "$T/snap.json" "$@"
}

# exited PID: the daemon has finished with PID (drained, not alive).
exited() {
  snap cumulative && [ "$(field "$1" - - alive)" = 0 ]
}

wait_exited() {
  qp_wait_for 20 exited "$1" || {
    cat "$T/qpulsed.log" >&2
    qp_fail "the daemon never saw pid $1 exit"
  }
}

# listed PID: the daemon knows PID.
listed() {
  snap cumulative && [ "$(field "$1" - - pid)" = "$1" ]
}

# expect WHAT GOT WANT
expect() {
  [ "$2" = "$3" ] || { cat "$T/qpulsed.log" >&2; qp_fail "$1: got '$2', want '$3'"; }
  qp_log "$1 = $2"
}

# A free loopback port: let the daemon try a few.
start_listening() {
  local base=$1 i; shift
  for i in 0 1 2 3 4 5 6 7; do
    PORT=$((base + i * 997))
    qp_try_start_daemon --listen "127.0.0.1:$PORT" "$@" 2>/dev/null && break
    qp_running $QP_DAEMON_PID && qp_fail "qpulsed started but does not answer"
    PORT=""
  done
  [ -n "$PORT" ] || { cat "$T/qpulsed.log" >&2; qp_fail "no free port for --listen"; }
  URL="http://127.0.0.1:$PORT/metrics"
}

start_prometheus() {
  local base=$1 rules=${2:-} i; shift; [ $# -eq 0 ] || shift
  command -v prometheus > /dev/null || qp_skip "prometheus is not installed (Debian package prometheus)"
  {
    printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
    [ -z "$rules" ] || printf "rule_files: ['%s']\n" "$rules"
    printf 'scrape_configs:\n  - job_name: qpulse\n    static_configs:\n'
    printf "      - targets: ['127.0.0.1:%s']\n" "$PORT"
  } > "$T/prom.yml"
  for i in 0 1 2 3 4 5 6 7; do
    PPORT=$((base + 500 + i * 991))
    qp_bg prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" "$@" \
      --web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2> "$T/prometheus.log"
    qp_wait_for 30 curl -sf "http://127.0.0.1:$PPORT/-/ready" && break
    kill $! 2>/dev/null
    PPORT=""
  done
  [ -n "$PPORT" ] || { cat "$T/prometheus.log" >&2; qp_fail "prometheus did not start"; }
}

need_nobody() {
  [ "$(id -u)" -eq 0 ] || qp_skip "needs root ($1)"
  command -v jq >/dev/null || qp_skip "jq is not installed"
  NOBODY=$(id -u nobody 2>/dev/null) || qp_skip "no user nobody"
  NOGROUP=$(id -g nobody)
}

jsnap() { "$QPTOP" -b --format json --cumulative > "$T/j.json" 2>>"$T/qptop.log"; }

count() {
  jq -r --argjson p "$1" --arg op "$2" \
    '[.processes[] | select(.pid == $p) | .ops[] | select(.op == $op) | .count] | add // 0' "$T/j.json"
}

count_is() { jsnap && [ "$(count "$1" "$2")" = "$3" ]; }

uid_of() { jq -r --argjson p "$1" '.processes[] | select(.pid == $p) | .uid' "$T/j.json"; }

uid_is() { jsnap && [ "$(uid_of "$1")" = "$2" ]; }
