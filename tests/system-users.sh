#!/bin/sh
# System mode with real users: a root qpulsed collects the processes of
# every user (created here with useradd, run with runuser); each user's
# client sees only that user's processes, root sees all; a user's RESET
# clears only its own; a segment of one user naming another user's (or
# root's) process is refused, so nobody can forge another user's figures.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup sysusers
command -v jq >/dev/null || qp_skip "jq not installed"

[ "$(id -u)" -eq 0 ] || qp_skip "needs root (creates users)"
for c in useradd userdel runuser; do
  command -v $c >/dev/null || qp_skip "$c not installed"
done
U1=qpa$$
U2=qpb$$
UPIDS=""
users_cleanup() {
  for p in $UPIDS; do kill -KILL "$p" 2>/dev/null || true; done
  userdel -f $U1 2>/dev/null || true
  userdel -f $U2 2>/dev/null || true
  qp_cleanup
}
trap users_cleanup EXIT
useradd -M -N -s /bin/sh $U1 || qp_skip "useradd failed"
useradd -M -N -s /bin/sh $U2 || qp_skip "useradd failed"

# The root daemon's runtime directory plays /run/qpulse: open to all.
chmod 711 "$T"
chmod 755 "$QPULSE_RUNTIME_DIR"
qp_start_daemon
qp_wait_for 20 grep -q 'system mode' "$T/qpulsed.log" || qp_fail "root daemon not in system mode"
[ "$(stat -c %a "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock")" = 666 ] ||
  qp_fail "system socket mode $(stat -c %a "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock")"

# as USER CMD...: CMD as USER, whose own runtime directory has no daemon,
# so its client finds the system daemon.
as() {
  u=$1; shift
  runuser -u "$u" -- env QPULSE_NS="$QPULSE_NS" QPULSE_RUNTIME_DIR="$T/none-$u" \
    QPULSE_SYSTEM_RUNTIME_DIR="$QPULSE_RUNTIME_DIR" "$@"
}
# start_prod USER OUT N: a producer of N samples that then sleeps; its pid.
start_prod() {
  as "$1" sh -c 'echo pid=$$; exec "$@"' sh "$PROD" -t 1 -n "$3" -D const:1000 -k > "$2" &
  UPIDS="$UPIDS $!"
  qp_wait_for 20 grep -q done "$2" || qp_fail "producer of $1 did not run"
  sed -n 's/^pid=//p' "$2"
}
start_root_prod() {
  qp_bg "$PROD" -t 1 -n 300 -D const:1000 -k > "$T/p0.out"
  echo $!
}
P0=$(start_root_prod)
P1=$(start_prod $U1 "$T/p1.out" 500)
P2=$(start_prod $U2 "$T/p2.out" 700)
qp_log "producers: root $P0, $U1 $P1, $U2 $P2"

all_in() {
  snap cumulative && [ "$(field $P0 gen Work count)" = 300 ] &&
    [ "$(field $P1 gen Work count)" = 500 ] && [ "$(field $P2 gen Work count)" = 700 ]
}
qp_wait_for 20 all_in || { cat "$T/qpulsed.log" >&2; qp_fail "root does not see every user's process"; }
pfield() { jq -r --argjson p "$1" ".processes[] | select(.pid == \$p) | .$2" "$T/snap.json"; }
expect "uid of $U1's process" "$(pfield $P1 uid)" "$(id -u $U1)"

# Each user sees its own processes only, through qpd_tool and qptop.
as $U1 "$QPD_TOOL" req "SNAPSHOT cumulative" > "$T/u1.json" || qp_fail "$U1 cannot reach the daemon"
[ "$("$QPD_TOOL" get "$T/u1.json" $P1 gen Work count)" = 500 ] || qp_fail "$U1 does not see its process"
[ "$("$QPD_TOOL" get "$T/u1.json" $P2 - - pid)" = none ] || qp_fail "$U1 sees $U2's process"
[ "$("$QPD_TOOL" get "$T/u1.json" $P0 - - pid)" = none ] || qp_fail "$U1 sees root's process"
as $U2 "$QPTOP" -b --format json --cumulative > "$T/u2.json" || qp_fail "qptop as $U2 failed"
[ "$("$QPD_TOOL" get "$T/u2.json" $P2 gen Work count)" = 700 ] || qp_fail "$U2's qptop does not show its process"
[ "$("$QPD_TOOL" get "$T/u2.json" $P1 - - pid)" = none ] || qp_fail "$U2's qptop shows $U1's process"
# VIEW (qptop's paged table) and a filtered SNAPSHOT see as much, no more
as $U1 "$QPD_TOOL" req "VIEW cumulative rows=100" > "$T/u1view.json" || qp_fail "VIEW as $U1"
expect "VIEW as $U1: processes" "$(jq -r .view.processes "$T/u1view.json")" 1
expect "VIEW as $U1: pids" "$(jq -r '[.view.rows[].pid] | unique | join(" ")' "$T/u1view.json")" "$P1"
as $U1 "$QPD_TOOL" req "SNAPSHOT cumulative hist pid=$P2" > "$T/u1sel.json" || qp_fail "SNAPSHOT pid= as $U1"
expect "SNAPSHOT pid=$P2 as $U1" "$(jq -r '.processes | length' "$T/u1sel.json")" 0
"$QPD_TOOL" req "VIEW cumulative rows=100" > "$T/rootview.json"
expect "VIEW as root: processes" "$(jq -r .view.processes "$T/rootview.json")" 3
qp_log "$U1 and $U2 each see their own process only"

# A user's reset clears its own processes only.
as $U2 "$QPULSE" reset > "$T/reset.out" 2>&1 || { cat "$T/reset.out" >&2; qp_fail "qpulse reset as $U2"; }
snap cumulative
expect "$U2's count after its reset" "$(field $P2 gen Work count)" 0
expect "$U1's count after $U2's reset" "$(field $P1 gen Work count)" 500
expect "root's count after $U2's reset" "$(field $P0 gen Work count)" 300

# Forgery: U1 makes segments naming U2's and root's live processes.
as $U1 "$top_builddir/tests/qpd_badseg" make ok "$QPULSE_NS" $P2 7 > /dev/null ||
  qp_fail "could not create the forged segment"
as $U1 "$top_builddir/tests/qpd_badseg" make ok "$QPULSE_NS" $P0 7 > /dev/null ||
  qp_fail "could not create the forged segment"
qp_wait_for 20 sh -c "[ \$(grep -c 'not a running process of that user' '$T/qpulsed.log') -ge 2 ]" || {
  cat "$T/qpulsed.log" >&2; qp_fail "the forged segments were not refused"; }
snap cumulative
expect "forged op under $U2's pid" "$(field $P2 bad Op count)" 0
expect "forged op under root's pid" "$(field $P0 bad Op count)" 0
expect "processes listed under $U2's pid" "$(pfield $P2 name | tr '\n' ' ')" "prod_gen "
"$QPD_TOOL" req PING > /dev/null || qp_fail "the daemon is gone"
exit 0
