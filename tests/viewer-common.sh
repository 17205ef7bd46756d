# tests/viewer-common.sh — helpers shared by the tests that drive qptop's
# live screen (sourced after tests/lib.sh).  qptop runs in tmux session qpt
# of the test's own tmux server, which qp_cleanup stops.
#
#   tm ARGS...                tmux on the test's own server
#   start_qptop COLS ROWS ARGS...
#                             qptop ARGS in namespace $QPULSE_NS on a COLS x
#                             ROWS screen; its exit status goes to $T/exit
#   screen                    what the screen shows now
#   has TEXT                  whether the screen shows TEXT
#   wait_has TEXT             until it does, at most $SCREEN_WAIT seconds
#                             (15 unless the test sets it); fails showing
#                             the screen
#   keys KEYS...              types KEYS, then lets qptop redraw (0.3 s)

tm() { qp_tmux "$@"; }
start_qptop() {
  cols=$1 rows=$2; shift 2
  tm new-session -d -s qpt -x "$cols" -y "$rows" \
    "env LANG=C.UTF-8 QPULSE_RUNTIME_DIR='$QPULSE_RUNTIME_DIR' '$QPTOP' --ns '$QPULSE_NS' $*; echo \$? >'$T/exit'; sleep 60"
}
screen() { tm capture-pane -p -t qpt; }
has() { screen | grep -qF -- "$1"; }
wait_has() {
  qp_wait_for "${SCREEN_WAIT:-15}" has "$1" || { screen >&2; qp_fail "the screen never showed '$1'"; }
}
keys() { tm send-keys -t qpt "$@"; sleep 0.3; }
