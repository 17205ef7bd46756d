#!/bin/sh
# reliability-shm.sh — /dev/shm full (ENOSPC) or unwritable.
#
# Each case runs the producer in a private mount namespace (unshare -m)
# with a small or read-only tmpfs on /dev/shm, so the rest of the machine
# is untouched.  The application must run to its end and exit 0 with at
# most one line on stderr; when a segment exists the lost samples are
# counted as dropped (recorded + dropped = attempted).
. "$top_srcdir/tests/lib.sh"
qp_setup relshm
P="$top_builddir/tests/reliability-producer"

[ "$(id -u)" -eq 0 ] || qp_skip "needs root to mount a tmpfs in a private mount namespace"
command -v unshare >/dev/null || qp_skip "unshare(1) not installed"
unshare -m --propagation private true 2>/dev/null ||
  qp_skip "unshare -m is not permitted here (no CAP_SYS_ADMIN)"

# fenced MOUNT_OPTIONS ENV... : run the producer with /dev/shm = tmpfs(OPTS)
fenced() {
  opts=$1; shift
  unshare -m --propagation private sh -c '
    mount -t tmpfs -o "$0" qpulse-test /dev/shm || exit 99
    exec env "$@"' "$opts" "$@" "$P" -t 4 -n 5000 >"$T/out" 2>"$T/err"
}

check() { # check CASE EXPECT_RECORDING(0|1)
  rc=$1; name=$2
  qp_log "$name: $(cat "$T/out") / stderr: $(cat "$T/err")"
  [ "$rc" -eq 0 ] || qp_fail "$name: the application exited with $rc"
  grep -q '^attempted=20000 ' "$T/out" || qp_fail "$name: the application did not run to its end"
  [ "$(wc -l <"$T/err")" -le 1 ] || qp_fail "$name: more than one line on stderr"
  grep -q 'qpulse' "$T/err" || qp_fail "$name: no line on stderr says what happened"
}

# 1. Room for the segment's header and first table pages but not for a
#    thread's ring: nothing recorded, every sample dropped and counted.
fenced size=64k,mode=1777; check $? "64 KiB /dev/shm"
grep -q ' recorded=0 dropped=20000$' "$T/out" || qp_fail "64 KiB: expected nothing recorded, all counted"

# 2. Room for the tables and part of the rings (they are reserved in
#    growing chunks): what fits is recorded, the rest dropped and counted.
fenced size=1m,mode=1777; check $? "1 MiB /dev/shm"
rec=$(sed -n 's/.* recorded=\([0-9]*\) dropped=.*/\1/p' "$T/out")
drop=$(sed -n 's/.* dropped=\([0-9]*\)$/\1/p' "$T/out")
[ -n "$rec" ] && [ -n "$drop" ] && [ $((rec + drop)) -eq 20000 ] && [ "$drop" -gt 0 ] ||
  qp_fail "1 MiB: drops not counted: $(cat "$T/out")"

# 3. Read-only /dev/shm.
fenced ro,size=1m,mode=1777; check $? "read-only /dev/shm"

# 4. Control: with room, everything is recorded and nothing said.
fenced size=64m,mode=1777 QPULSE_RING_RECORDS=8192
rc=$?
[ $rc -eq 0 ] && grep -q ' recorded=20000 dropped=0$' "$T/out" && [ ! -s "$T/err" ] ||
  qp_fail "control: $(cat "$T/out" "$T/err")"
