# preload-programs.sh — `qpulse run` on real, unmodified Debian programs,
# with a real qpulsed, read back with `qptop -b --format json --cumulative`:
#   - dd bs=1 count=N makes exactly N read and N write calls: both counted,
#     complete although dd runs for milliseconds;
#   - xz -T2 (multi-threaded): output byte-identical with and without the
#     preload, and its read/write counts equal what strace sees on the
#     input and output files;
#   - exit status and death by signal pass through, a missing program is 127;
#   - the environment the command gets, and execvp's PATH search;
#   - without a daemon nothing is left in /dev/shm, even across exec or
#     after _exit() (dash ends every shell so);
#   - a program that also uses the QPULSE_* macros shows both sets;
#   - a shell's forked subshell (fork, no exec) shows up as its own process,
#     and a program the shell starts (fork + exec) is profiled too.
. "$top_srcdir/tests/lib.sh"
qp_setup preload

[ -x "$QPULSED" ] || qp_skip "qpulsed is not built"
[ -x "$QPTOP" ] || qp_skip "qptop is not built"
[ -x "$QPULSE" ] || qp_skip "qpulse is not built"
command -v jq >/dev/null || qp_skip "jq is not installed"
command -v dd >/dev/null && command -v xz >/dev/null || qp_skip "dd or xz is not installed"

export LC_ALL=C

# --- no daemon: nothing is left in /dev/shm, even across exec -------------
# The shell's image records (its read) and is replaced by dd's: exec does
# not run the shell's exit path, so the preload hands its segment over.
"$QPULSE" run -- sh -c 'read x </etc/hostname; exec dd if=/dev/zero of=/dev/null bs=1 count=3 status=none' \
  2>"$T/nodaemon.err" || qp_fail "sh/dd without a daemon failed: $(cat "$T/nodaemon.err")"
grep -q "no qpulsed runs" "$T/nodaemon.err" || qp_fail "qpulse run did not warn that no daemon runs"
[ "$(qp_shm_count)" = 0 ] || qp_fail "left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
# The same through a second `qpulse run` that the profiled shell execs: the
# qpulse run execed by `qpulse run` tells its command it is the process's
# first profiled image (nothing to hand over); this one must not, and dd
# must still hand the shell's segment over.
"$QPULSE" run -- sh -c 'read x </etc/hostname; exec "$1" run -- dd if=/dev/zero of=/dev/null bs=1 count=3 status=none' \
  sh "$QPULSE" 2>>"$T/nodaemon.err" || qp_fail "sh/qpulse run/dd without a daemon failed: $(cat "$T/nodaemon.err")"
[ "$(qp_shm_count)" = 0 ] ||
  qp_fail "left in /dev/shm by sh then qpulse run: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
# _exit() runs no exit path either: dash ends every shell so (here after a
# pipeline, whose members are forked shells too), and a forked child often
# does (python's os._exit after fork).  Each of them recorded its read or
# write, so each had a segment.
"$QPULSE" run --hooks all -- sh -c 'read x </etc/hostname; ls / | wc -l >/dev/null' \
  2>>"$T/nodaemon.err" || qp_fail "sh with a pipeline failed: $(cat "$T/nodaemon.err")"
[ "$(qp_shm_count)" = 0 ] ||
  qp_fail "a shell that ends with _exit() left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
if command -v python3 >/dev/null; then
  "$QPULSE" run -- python3 -c 'import os
p = os.fork()
if p == 0:
    os.write(1, b"child\n")
    os._exit(0)
os.waitpid(p, 0)
os.write(1, b"parent\n")
os._exit(0)' >"$T/pyexit.out" 2>>"$T/nodaemon.err" || qp_fail "python with os._exit failed"
  [ "$(cat "$T/pyexit.out")" = "$(printf 'child\nparent')" ] || qp_fail "python wrote: $(cat "$T/pyexit.out")"
  [ "$(qp_shm_count)" = 0 ] ||
    qp_fail "processes that end with _exit() left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"
fi

# --- what qpulse run hands the command (the static qpulse does it before
# its C library starts, and leaves any other case to main()) ---------------
LD_PRELOAD="$T/other.so" "$QPULSE" run --ns="$QPULSE_NS" --hooks=io,,fs -- env >"$T/env.out" 2>"$T/env.err" ||
  qp_fail "qpulse run env failed: $(cat "$T/env.err")"
# The variable qpulse run leaves for the preload is gone before the program
# starts (here with no LD_PRELOAD before, where qpulse run sets it).
env -u LD_PRELOAD "$QPULSE" run -- env >"$T/env0.out" 2>/dev/null || qp_fail "qpulse run env failed"
grep -q "^LD_PRELOAD=" "$T/env0.out" || qp_fail "no LD_PRELOAD in the command's environment"
! grep -q "^QPULSE__" "$T/env0.out" || qp_fail "the command sees $(grep "^QPULSE__" "$T/env0.out")"
grep -q "^LD_PRELOAD=.*libqpulse-preload\.so $T/other\.so\$" "$T/env.out" ||
  qp_fail "LD_PRELOAD is not ours then the old one: $(grep ^LD_PRELOAD= "$T/env.out")"
[ "$(grep -c ^LD_PRELOAD= "$T/env.out")" = 1 ] || qp_fail "LD_PRELOAD twice in the environment"
grep -qx "QPULSE_NS=$QPULSE_NS" "$T/env.out" || qp_fail "QPULSE_NS not set: $(grep ^QPULSE_NS= "$T/env.out")"
grep -qx "QPULSE_HOOKS=io,,fs" "$T/env.out" || qp_fail "QPULSE_HOOKS not set: $(grep ^QPULSE_HOOKS= "$T/env.out")"
[ "$(grep -c "no qpulsed runs" "$T/env.err")" = 1 ] || qp_fail "the no-daemon warning is not there once: $(cat "$T/env.err")"
# The PATH search of execvp(3): a directory whose entry cannot be run is
# passed over; a file without #! runs under /bin/sh; none at all is 127
# (the warning said once), one that cannot be run is 126.
mkdir -p "$T/p1" "$T/p2"
printf 'echo one\n' >"$T/p1/qp-prog"
printf '#!/bin/sh\necho two\n' >"$T/p2/qp-prog"
printf 'echo plain\n' >"$T/p2/qp-plain"
chmod 644 "$T/p1/qp-prog"
chmod 755 "$T/p2/qp-prog" "$T/p2/qp-plain"
[ "$(PATH="$T/p1:$T/p2:$PATH" "$QPULSE" run -- qp-prog 2>/dev/null)" = two ] ||
  qp_fail "the PATH search did not pass over a file that cannot be run"
[ "$(PATH="$T/p2:$PATH" "$QPULSE" run -- qp-plain 2>/dev/null)" = plain ] ||
  qp_fail "a script without #! did not run under /bin/sh"
"$QPULSE" run -- qp-no-such-program 2>"$T/missing.err"
rc=$?
[ $rc -eq 127 ] || qp_fail "a missing program gave $rc, not 127"
[ "$(grep -c "no qpulsed runs" "$T/missing.err")" = 1 ] && grep -q "qp-no-such-program: No such file" "$T/missing.err" ||
  qp_fail "a missing program: $(cat "$T/missing.err")"
PATH="$T/p1" "$QPULSE" run -- qp-prog 2>/dev/null
rc=$?
[ $rc -eq 126 ] || qp_fail "a program that cannot be run gave $rc, not 126"
[ "$(qp_shm_count)" = 0 ] || qp_fail "left in /dev/shm: $(ls /dev/shm | grep "^qpulse\.$QPULSE_NS\.")"

qp_start_daemon

snap() {
  "$QPTOP" -b --format json --cumulative --ns "$QPULSE_NS" 2>>"$T/qptop.log"
}

# count PID OP: the count of libc.OP in process PID (0 when absent).
count() {
  snap | jq -r --argjson p "$1" --arg op "$2" \
    '[.processes[] | select(.pid == $p) | .ops[] | select(.set == "libc" and .op == $op) | .count] | add // 0'
}

count_is() { [ "$(count "$1" "$2")" = "$3" ]; }

# expect_count PID OP N: waits (the daemon drains on its own schedule) for
# the count to reach N, and fails showing what it is otherwise.
expect_count() {
  qp_wait_for 20 count_is "$1" "$2" "$3" ||
    qp_fail "pid $1 libc.$2: expected $3 calls, the daemon says $(count "$1" "$2")"
  qp_log "pid $1 libc.$2 = $3"
}

# --- dd: exact counts of a program that runs for milliseconds --------------
N=3000
"$QPULSE" run --hooks io -- dd if=/dev/zero of=/dev/null bs=1 count=$N status=none \
  2>"$T/dd.err" &
pid=$!
wait $pid || qp_fail "dd failed: $(cat "$T/dd.err")"
expect_count $pid read $N
expect_count $pid write $N
count_is $pid malloc 0 || qp_fail "mem was not asked for but malloc was recorded"

# --- xz -T2: a multi-threaded program ------------------------------------
head -c 3000000 /dev/urandom | base64 >"$T/in.txt"
xz -T2 -0 -c "$T/in.txt" >"$T/plain.xz" || qp_fail "xz without the preload failed"
"$QPULSE" run --hooks all -- xz -T2 -0 -c "$T/in.txt" >"$T/pre.xz" 2>"$T/xz.err" &
pid=$!
wait $pid || qp_fail "xz under qpulse run failed: $(cat "$T/xz.err")"
cmp -s "$T/plain.xz" "$T/pre.xz" || qp_fail "xz's output differs under the preload"
qp_log "xz output is byte-identical with and without the preload"

if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  # What xz really does on its input and its output, from the kernel's side.
  : >"$T/st.xz"
  strace -f -qq -o "$T/st-read.log" -P "$T/in.txt" -e trace=read \
    xz -T2 -0 -c "$T/in.txt" >"$T/st.xz" || qp_fail "xz under strace failed"
  strace -f -qq -o "$T/st-write.log" -P "$T/st2.xz" -e trace=write \
    sh -c 'exec xz -T2 -0 -c "$1" >"$2"' sh "$T/in.txt" "$T/st2.xz" ||
    qp_fail "xz under strace failed"
  reads=$(grep -c 'read(' "$T/st-read.log")
  writes=$(grep -c 'write(' "$T/st-write.log")
  [ "$reads" -gt 1 ] && [ "$writes" -gt 1 ] || qp_fail "strace saw $reads reads, $writes writes"
  expect_count $pid read "$reads"
  expect_count $pid write "$writes"
else
  qp_log "strace cannot run here: checking only that reads and writes were counted"
  has_reads() { [ "$(count $pid read)" -gt 0 ]; }
  qp_wait_for 20 has_reads || qp_fail "no read recorded for xz"
fi
# The counts above are final, so everything of xz has been drained.
[ "$(count $pid malloc)" -gt 0 ] || qp_fail "no malloc recorded for xz with --hooks all"

# --- a program that also uses the macros: both sets, one process ----------
app="$EXAMPLES/.libs/ecommerce"
[ -x "$app" ] || app="$EXAMPLES/ecommerce"
if [ -x "$app" ] && ! grep -q 'libtool' "$app" 2>/dev/null; then
  # The uninstalled program finds libqpulse.so.1 as libtool's wrapper
  # would have it; the preload, which carries the recorder, binds it to its
  # own copy (one segment, both sets).
  LD_LIBRARY_PATH="$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$QPULSE" run --hooks all -- "$app" 1 --threads 2 >/dev/null 2>"$T/app.err" &
  pid=$!
  wait $pid || qp_fail "ecommerce under qpulse run failed: $(cat "$T/app.err")"
  set_total() {
    snap | jq -r --argjson p "$pid" --arg s "$1" \
      '[.processes[] | select(.pid == $p) | .ops[] | select(.set == $s) | .count] | add // 0'
  }
  both_sets() { [ "$(set_total libc)" -gt 0 ] && [ "$(set_total ecommerce)" -gt 0 ]; }
  qp_wait_for 20 both_sets ||
    qp_fail "ecommerce: libc $(set_total libc) and ecommerce $(set_total ecommerce) samples"
  qp_log "ecommerce shows its own set and libc side by side"
else
  qp_log "examples/ecommerce is not built as a plain binary: side-by-side check skipped"
fi

# --- exit status ---------------------------------------------------------
"$QPULSE" run -- sh -c 'exit 7' 2>/dev/null
rc=$?
[ $rc -eq 7 ] || qp_fail "exit status 7 came back as $rc"
"$QPULSE" run -- sh -c 'kill -TERM $$' 2>/dev/null
rc=$?
[ $rc -eq 143 ] || qp_fail "death by SIGTERM came back as $rc, not 143"
"$QPULSE" run -- "$T/no-such-program" 2>/dev/null
rc=$?
[ $rc -eq 127 ] || qp_fail "a missing program gave $rc, not 127"
"$QPULSE" run --hooks bogus -- true 2>/dev/null
rc=$?
[ $rc -eq 2 ] || qp_fail "an unknown hook group gave $rc, not 2"

# --- fork: the subshell is a process of its own ----------------------------
sh -c '(echo a; echo b); echo c' >"$T/sh-plain.out"
"$QPULSE" run --hooks io -- sh -c '(echo a; echo b); echo c' >"$T/sh-pre.out" 2>/dev/null &
pid=$!
wait $pid || qp_fail "sh under qpulse run failed"
cmp -s "$T/sh-plain.out" "$T/sh-pre.out" || qp_fail "the shell's output differs under the preload"
expect_count $pid write 1
child_writes() {
  snap | jq -r --argjson p "$pid" \
    '[.processes[] | select(.pid != $p and .name == "sh") | .ops[] | select(.set == "libc" and .op == "write") | .count] | add // 0'
}
child_is_2() { [ "$(child_writes)" = 2 ]; }
qp_wait_for 20 child_is_2 || qp_fail "the forked subshell's 2 writes: the daemon says $(child_writes)"
qp_log "the forked subshell shows up as its own process with its 2 writes"

# --- exec: a program started by the profiled one is profiled too ---------
"$QPULSE" run --hooks io -- sh -c 'dd if=/dev/zero of=/dev/null bs=1 count=17 status=none; true' \
  2>/dev/null || qp_fail "sh running dd under qpulse run failed"
dd_reads() {
  snap | jq -r '[.processes[] | select(.name == "dd") | .ops[] | select(.set == "libc" and .op == "read") | .count] | map(tostring) | join(" ")'
}
dd_child() { dd_reads | tr ' ' '\n' | grep -qx 17; }
qp_wait_for 20 dd_child || qp_fail "the dd started by sh: read counts of dd processes: $(dd_reads)"
qp_log "a program exec'd by the profiled one is profiled (dd: 17 reads)"

exit 0
