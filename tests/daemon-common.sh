# tests/daemon-common.sh — helpers shared by the qpulsed tests (sourced
# after tests/lib.sh).
#
#   snap MODE [hist]          snapshot into $T/snap.json (MODE window|cumulative)
#   field PID SET OP FIELD    a field of the last snapshot (SET OP "-" for the
#                             process's own fields)
#   wait_exited PID           until the daemon lists PID as not alive
#   producer_pid FILE         the pid a prod_gen run printed ("pid=N")

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
