#!/bin/sh
# privs-drop.sh — processes that change user, under `qpulse run`:
#   - a program run as root that drops to nobody (seteuid and back, then
#     clearenv + setgid + setuid, then fork): its segment follows it (owned
#     by root, nobody, root, nobody), every write is counted, its forked
#     child records into the namespace it was started in, and nothing is
#     left in /dev/shm;
#   - the same program under a qpulsed run by nobody: its segment, given to
#     nobody, is read (all of it, although it was root's for a while);
#   - that daemon lists a root process it cannot read as skipped, with the
#     reason (snapshot "skipped", `qptop -b`), and when such a process is
#     killed, reports its segment as left behind;
#   - a root qpulsed removes a segment it refused (a forgery naming another
#     user's process) once that process has exited.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup privs

need_nobody "drops privileges to nobody"
command -v runuser >/dev/null || qp_skip "runuser is not installed"
PRIV="$top_builddir/tests/priv_prod"
N=500

# --- a root system daemon -------------------------------------------------
chmod 711 "$T"
qp_start_daemon

# run_priv OUT COUNT_IS: priv_prod under qpulse run; waits for its child's
# writes to be counted (COUNT_IS, by the daemon in charge), lets it exit.
run_priv() {
  "$QPULSE" run --hooks io -- "$PRIV" $N "$NOBODY" "$NOGROUP" > "$1" 2>"$1.err" &
  RUNPID=$!
  qp_wait_for 20 grep -q '^child=' "$1" || qp_fail "priv_prod failed: $(cat "$1.err" "$1")"
  CHILD=$(sed -n 's/^child=//p' "$1")
  qp_wait_for 20 $2 "$CHILD" write $N ||
    qp_fail "its forked child's writes (after clearenv): $(count "$CHILD" write), want $N"
  kill -USR1 "$CHILD"
  wait $RUNPID || qp_fail "priv_prod failed: $(cat "$1.err" "$1")"
  grep -q '^done$' "$1" || qp_fail "priv_prod did not finish: $(cat "$1")"
}
run_priv "$T/priv.out" count_is
expect "owner as root" "$(sed -n 's/^owner1=//p' "$T/priv.out")" 0
expect "owner after seteuid(nobody)" "$(sed -n 's/^owner2=//p' "$T/priv.out")" "$NOBODY"
expect "owner after seteuid(0)" "$(sed -n 's/^owner3=//p' "$T/priv.out")" 0
expect "owner after setuid(nobody)" "$(sed -n 's/^owner4=//p' "$T/priv.out")" "$NOBODY"
jsnap
PP=$(jq -r --argjson c "$CHILD" '[.processes[] | select(.name == "priv_prod" and .pid != $c) | .pid] | first // 0' "$T/j.json")
[ "$PP" != 0 ] || { cat "$T/qpulsed.log" >&2; qp_fail "the daemon does not list priv_prod"; }
qp_wait_for 20 count_is "$PP" write $((3 * N)) ||
  qp_fail "priv_prod's writes: $(count "$PP" write), want $((3 * N))"
expect "uid of its child" "$(uid_of "$CHILD")" "$NOBODY"
expect "skipped" "$(jq -c '.skipped' "$T/j.json")" "[]"
ls /dev/shm | grep -q "^qpulse\.default\.$CHILD\." && qp_fail "the child recorded into namespace default"
qp_wait_for 20 qp_shm_is 1 || qp_fail "left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
qp_log "root daemon: priv_prod $((3 * N)) writes, its child $N, nothing left behind"

# --- a root daemon removes a refused segment once its process is gone ----
"$PROD" -t 1 -n 10 -D const:1000 -k > "$T/victim.out" &
VICTIM=$!
qp_wait_for 20 grep -q done "$T/victim.out" || qp_fail "the producer did not start"
runuser -u nobody -- "$top_builddir/tests/qpd_badseg" make ok "$QPULSE_NS" $VICTIM 7 > /dev/null ||
  qp_fail "could not make the forged segment"
FORGED=$(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.$VICTIM\." | while read -r f; do
  [ "$(stat -c %u "/dev/shm/$f")" = "$NOBODY" ] && echo "$f"; done)
[ -n "$FORGED" ] || qp_fail "the forged segment is not there"
skipped_pid() { jsnap && jq -e --argjson p "$1" '.skipped | any(.pid == $p)' "$T/j.json"; }
qp_wait_for 20 skipped_pid $VICTIM || qp_fail "the forged segment is not listed as skipped"
qp_log "forged: $(jq -c '.skipped[0]' "$T/j.json")"
expect "forged op counted" "$(jsnap; jq --argjson p $VICTIM '[.processes[] | select(.pid == $p) | .ops[] | select(.set == "bad")] | length' "$T/j.json")" 0
kill -KILL $VICTIM
wait $VICTIM 2>/dev/null
qp_wait_for 20 "[ ! -e /dev/shm/$FORGED ]" || qp_fail "the refused segment $FORGED of an exited process stays"
grep -q "removed .*segment /$FORGED of .* pid $VICTIM" "$T/qpulsed.log" ||
  qp_fail "the daemon did not say it removed $FORGED"
kill -TERM $QP_DAEMON_PID
wait $QP_DAEMON_PID 2>/dev/null

# --- a daemon run by nobody --------------------------------------------
NRUN="$T/nrun"
mkdir -m 0700 "$NRUN"
chown nobody "$NRUN"
asnobody() { runuser -u nobody -- env QPULSE_NS="$QPULSE_NS" QPULSE_RUNTIME_DIR="$NRUN" "$@"; }
asnobody "$QPULSED" --ns "$QPULSE_NS" 2>"$T/nobody.log" &
NDAEMON=$!
qp_wait_for 20 '[ -S "$NRUN/$QPULSE_NS.sock" ] && asnobody "$QPTOP" -b >/dev/null 2>&1' ||
  { cat "$T/nobody.log" >&2; qp_fail "qpulsed as nobody did not start"; }
njsnap() { asnobody "$QPTOP" -b --format json --cumulative > "$T/j.json" 2>>"$T/qptop.log"; }
ncount_is() { njsnap && [ "$(count "$1" "$2")" = "$3" ]; }

run_priv "$T/priv2.out" ncount_is
PP=$(jq -r --argjson c "$CHILD" '[.processes[] | select(.name == "priv_prod" and .pid != $c) | .pid] | first // 0' "$T/j.json")
qp_wait_for 20 ncount_is "$PP" write $((3 * N)) ||
  { cat "$T/nobody.log" >&2; qp_fail "nobody's daemon: priv_prod writes $(count "$PP" write), want $((3 * N))"; }
qp_wait_for 20 qp_shm_is 1 || qp_fail "left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
qp_log "nobody's daemon: priv_prod $((3 * N)) writes (its segment given to nobody), child $N"

# A root process it cannot read: skipped, and said so.
"$PROD" -t 1 -n 10 -D const:1000 -k > "$T/root.out" &
RP=$!
qp_wait_for 20 grep -q done "$T/root.out" || qp_fail "the root producer did not start"
nskipped() { njsnap && jq -e --argjson p "$1" '.skipped | any(.pid == $p)' "$T/j.json"; }
qp_wait_for 20 nskipped $RP || { cat "$T/nobody.log" >&2; qp_fail "the root process is not listed as skipped"; }
reason=$(jq -r --argjson p $RP '.skipped[] | select(.pid == $p) | .reason' "$T/j.json")
case $reason in *"owned by uid 0"*) ;; *) qp_fail "skip reason: $reason" ;; esac
expect "skipped name" "$(jq -r --argjson p $RP '.skipped[] | select(.pid == $p) | .name' "$T/j.json")" prod_gen
asnobody "$QPTOP" -b > "$T/text.out" 2>&1
grep -q "^1 process skipped: prod_gen\[$RP\] owned by uid 0" "$T/text.out" ||
  qp_fail "qptop -b does not say which process is skipped: $(cat "$T/text.out")"
qp_log "qptop -b: $(grep skipped "$T/text.out")"
# Killed: its segment stays (root's); nobody's daemon cannot remove it and says so.
kill -KILL $RP
wait $RP 2>/dev/null
qp_wait_for 20 grep -q "of exited pid $RP is left behind" "$T/nobody.log" ||
  { cat "$T/nobody.log" >&2; qp_fail "the left-behind segment was not reported"; }
njsnap
case $(jq -r --argjson p $RP '.skipped[] | select(.pid == $p) | .reason' "$T/j.json") in
  *"left behind"*) ;;
  *) qp_fail "skip reason after the exit: $(jq -c .skipped "$T/j.json")" ;;
esac
kill -TERM $NDAEMON
wait $NDAEMON 2>/dev/null
exit 0
