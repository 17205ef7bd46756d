#!/bin/sh
# A process's command line is in the snapshot even when the process is gone
# before the daemon could read /proc/PID/cmdline (a short command under
# qpulse run lives a few milliseconds): the segment carries the command
# line from the process's first sample.  20 short-lived producers, each with
# its own arguments; every one is listed with them, after it exited.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-cmdline
command -v jq > /dev/null || qp_fail "jq is missing (Debian package jq; ./quickstart installs it)"

qp_start_daemon --retain 600
i=0
while [ $i -lt 20 ]; do
  n=$((100 + i))
  "$PROD" -t 1 -n $n > "$T/run.out" & P=$!
  wait $P || qp_fail "run $i: prod_gen failed"
  wait_exited $P
  args=$(jq -c --argjson p "$P" '.processes[] | select(.pid == $p) | .cmdline[1:]' "$T/snap.json")
  expect "run $i (pid $P): arguments" "$args" "[\"-t\",\"1\",\"-n\",\"$n\"]"
  jq -e --argjson p "$P" '.processes[] | select(.pid == $p) | .cmdline[0] | endswith("prod_gen")' \
    "$T/snap.json" > /dev/null || qp_fail "run $i (pid $P): argv[0] is not prod_gen"
  i=$((i + 1))
done
exit 0
