#!/bin/sh
# lib-cleanup.sh — tests/lib.sh cleans up after a test on every way out.
#
# A child test (written here, sourcing tests/lib.sh) starts processes every
# way the suite does — a plain `cmd &`, qp_bg, a subshell loop, a process
# that detaches (setsid -f), one that is stopped (SIGSTOP) — and makes a
# /dev/shm object of its namespace, then ends: exit 0, qp_fail, SIGTERM,
# SIGHUP, or past its time limit (QP_TIMEOUT) while a foreground command
# runs.  Each time it must exit with the status that says how it ended,
# and leave no process of its namespace, no /dev/shm object and no scratch
# directory behind.  Under both /bin/sh and bash.
. "$top_srcdir/tests/lib.sh"
qp_setup libclean

cat >"$T/child.sh" <<'CHILD'
. "$top_srcdir/tests/lib.sh"
qp_setup libclean-child
sleep 300 &
qp_bg sleep 301
( while :; do sleep 1; done ) &
setsid -f sleep 302 </dev/null >/dev/null 2>&1
sleep 303 &
kill -STOP $!
: >"/dev/shm/qpulse.$QPULSE_NS.1.0.0"
echo "$QPULSE_NS $T" >"$CHILD_INFO"
while [ ! -e "$CHILD_INFO.go" ]; do sleep 0.05; done
case $HOW in
  ok) exit 0 ;;
  fail) qp_fail "failing on purpose" ;;
  wait) wait ;;
  fg) sleep 300 ;;
esac
CHILD

# processes whose environment holds namespace $1
ns_procs() {
  grep -lzxF "QPULSE_NS=$1" /proc/[0-9]*/environ 2>/dev/null | grep -v "^/proc/self/" | tr '\n' ' '
}

n=0
shells="/bin/sh"
command -v bash >/dev/null && shells="$shells $(command -v bash)"
# SIGHUP ignored on entry (under nohup) stays ignored in every shell below:
# no trap can catch it, that way out does not exist then.
hows="ok fail term hup timeout"
if [ $(( 0x$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status) & 1 )) -ne 0 ]; then
  qp_log "SIGHUP is ignored here (nohup?): its case is left out"
  hows="ok fail term timeout"
fi
for sh in $shells; do
  for how in $hows; do
    info="$T/info.$n"
    case $how in
      term|hup) mode=wait ;;
      timeout) mode=fg ;;
      *) mode=$how ;;
    esac
    QP_TIMEOUT=300
    [ $how = timeout ] && QP_TIMEOUT=5
    CHILD_INFO="$info" HOW=$mode QP_TIMEOUT=$QP_TIMEOUT "$sh" "$T/child.sh" 2>"$T/err.$n" &
    c=$!
    qp_wait_for 30 test -s "$info" || qp_fail "$sh $how: the child test did not start"
    read -r cns ct <"$info"
    [ "$(ns_procs "$cns")" != "" ] || qp_fail "$sh $how: no process found in the child's namespace"
    : >"$info.go"
    case $how in
      term|hup)
        # Again if the shell missed it: dash can lose a signal that lands
        # just before its `wait` blocks (its own race, not the library's).
        sig=$(echo $how | tr a-z A-Z)
        k=0
        while [ $k -lt 10 ] && qp_running $c; do
          kill -$sig $c 2>/dev/null
          qp_wait_for 2 '! qp_running $c'
          k=$((k + 1))
        done
        ! qp_running $c || qp_fail "$sh $how: the child did not end on SIG$sig" ;;
    esac
    wait $c
    rc=$?
    case $how in
      ok) want=0 ;; fail) want=1 ;; term) want=143 ;; hup) want=129 ;; timeout) want=143 ;;
    esac
    [ $rc -eq $want ] || { cat "$T/err.$n" >&2; qp_fail "$sh $how: exit status $rc, want $want"; }
    [ $how != timeout ] || grep -q '^FAIL: timed out after 5 s' "$T/err.$n" ||
      { cat "$T/err.$n" >&2; qp_fail "$sh $how: no time-out message"; }
    left=$(ns_procs "$cns")
    [ -z "$left" ] || { ps -o pid,ppid,stat,args -p "$(echo $left | sed 's,/proc/,,g; s,/environ,,g; s/ /,/g')" >&2
      qp_fail "$sh $how: processes left running: $left"; }
    ls /dev/shm | grep -q "^qpulse\.$cns\." && qp_fail "$sh $how: /dev/shm objects left behind"
    [ ! -e "$ct" ] || qp_fail "$sh $how: scratch directory $ct left behind"
    qp_log "$sh $how: exit $rc, nothing left behind"
    n=$((n + 1))
  done
done

# qp_wait_for evaluates its condition each time: a one-argument snippet
# with a command substitution sees a change made after the wait began.
: >"/dev/shm/qpulse.$QPULSE_NS.1.0.0"
(sleep 0.3; rm -f "/dev/shm/qpulse.$QPULSE_NS.1.0.0") &
qp_wait_for 10 '[ "$(qp_shm_count)" -eq 0 ]' || qp_fail "qp_wait_for with a snippet never saw the change"
: >"/dev/shm/qpulse.$QPULSE_NS.1.0.0"
(sleep 0.3; rm -f "/dev/shm/qpulse.$QPULSE_NS.1.0.0") &
qp_wait_for 10 qp_shm_is 0 || qp_fail "qp_wait_for qp_shm_is never saw the change"
! qp_wait_for 1 false || qp_fail "qp_wait_for did not time out"

# No script passes a condition that is evaluated once, before the wait
# (tests/wait-lint.awk), and the lint finds every form of one.
lint="$top_srcdir/tests/wait-lint.awk"
# (Written as @W here, lest the lint of the tree find them in this file.)
sed 's/@W/qp_wait_for/' >"$T/bad.sh" <<'BAD'
@W 10 test "$(qp_shm_count)" -eq 1
@W 10 [ $(qp_shm_count) -eq 1 ]
@W 10 test `qp_shm_count` -eq 1
@W 10 "[ $(qp_shm_count) -eq 1 ]"
@W 10 \
  test "$(qp_shm_count)" -eq 1
@W 10 grep -q 'x' "$(f)"
@W $((W + 5)) test "$(x)" = 1
if @W 10 test "$(x)" = 1; then :; fi
@W 10 sh -c "[ $(grep -c x f) -ge 2 ]"
  x=1; @W 5 [ "$(a)" = b ] || qp_fail "no"
BAD
sed 's/@W/qp_wait_for/' >"$T/good.sh" <<'GOOD'
@W 10 '[ "$(qp_shm_count)" -eq 1 ]' || qp_fail "$(qp_shm_count) left"
@W 10 sh -c "[ \$(grep -c x f) -ge 2 ]"
@W $((W + 15)) '[ "$(compacted)" -ge $N ]' || qp_fail "$(compacted)"
@W 20 count_is "$PP" write $((3 * N)) || qp_fail "x: $(y)"
@W 20 grep -q "phase 1" "$T/prod.out" || qp_fail "phase 0" # $(not this)
wait_has() { @W 15 has "$1" || { screen >&2; qp_fail "never '$1' $(x)"; }; }
# @W 10 test "$(in a comment)"
GOOD
n=$(awk -f "$lint" "$T/bad.sh" | wc -l)
[ "$n" -eq 10 ] || qp_fail "the lint found $n of the 10 waits evaluated once: $(awk -f "$lint" "$T/bad.sh")"
bad=$(awk -f "$lint" "$T/good.sh")
[ -z "$bad" ] || qp_fail "the lint flags waits that are fine: $bad"
bad=$(awk -f "$lint" "$top_srcdir"/tests/*.sh "$top_srcdir"/scripts/*.sh "$top_srcdir"/bench/*.sh)
[ -z "$bad" ] || qp_fail "conditions evaluated only once: $bad"
qp_log "wait lint: 10 of 10 bad forms found, none in the tree"
