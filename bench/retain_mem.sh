#!/usr/bin/env bash
# bench/retain_mem.sh BUILDDIR [N] [DAEMON-OPTIONS...] — what an exited
# (retained) process costs qpulsed (not run by make check).
#
# One daemon (default options: --retain 300) and N short processes (default
# 1000) one after another: `qpulse run -- cat /etc/passwd /etc/group` with
# the default hooks (four operations each).  Prints the daemon's heap growth
# per process once they have exited and left the live window, against a
# baseline measured first in the same run: N/10 processes that do the same
# and are kept alive (cat then waits on a FIFO; they exit before the N run
# and are retained with them) — what a live process with the same
# statistics costs.  Memory is the daemon's anonymous memory from
# /proc/PID/smaps less the flight recorder's ring (its own mapping, bounded
# by --history-mb, not per process).  $QPULSED: another qpulsed to measure
# (an older build, say) with the same producers.
set -uo pipefail
build=${1:?usage: bench/retain_mem.sh BUILDDIR [N] [DAEMON-OPTIONS...]}
n=${2:-1000}
shift $(($# > 1 ? 2 : 1))
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"
bench_setup retainmem "$build" daemon/qpulsed tools/qpulse preload/libqpulse-preload.la \
  tests/qpd_tool
# Anonymous KiB of the daemon, less the recorder's ring: the one mapping
# of exactly --history-mb (64 MiB by default).
heap_kib() {
  awk -v ring="${ring_kib:-0}" '
    /^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); inring = 0 }
    /^Size:/ { inring = ($2 == ring) }
    /^Anonymous:/ { total += $2; if (inring) r += $2 }
    END { print total - r }' "/proc/$dpid/smaps"
}
count() {
  "$build/tests/qpd_tool" req "SNAPSHOT cumulative" 2>/dev/null |
    jq "[.processes[] | select($1)] | length" 2>/dev/null
}
wait_count() {   # FILTER N
  for _ in $(seq 600); do [ "$(count "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $2 processes ($1): $(count "$1")" >&2
  exit 1
}
ring_kib=$((64 * 1024))
for a in "$@"; do case $a in --history-mb=*) ring_kib=$((${a#*=} * 1024)) ;; esac; done
"${QPULSED:-$build/daemon/qpulsed}" --ns "$QPULSE_NS" --state none "$@" 2>"$T/log" &
dpid=$!
for _ in $(seq 100); do [ -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] && break; sleep 0.1; done
Q="$build/tools/qpulse"
files="/etc/passwd /etc/group"
"$Q" run -- cat $files >/dev/null   # warm-up: the daemon's first allocations
wait_count '.alive | not' 1
base=$(heap_kib)

# Baseline: live processes with the same statistics: the same cat, then
# blocked reading a FIFO that nobody writes to (the bench holds it open).
nl=$((n / 10 > 10 ? n / 10 : 10))
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
for _ in $(seq "$nl"); do
  "$Q" run -- cat $files - <"$T/fifo" >/dev/null 3>&- & pids="$pids $!"
done
wait_count '.alive' "$nl"
sleep 2
live=$(heap_kib)
exec 3>&-   # EOF: they exit, and are retained too
wait_count '.alive | not' $((nl + 1))

start=$(date +%s.%N)
for _ in $(seq "$n"); do "$Q" run -- cat $files >/dev/null; done
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
wait_count '.alive | not' $((n + nl + 1))
# Past the live window (--window, 10 s by default, + 2 s): exited
# processes are compacted then.
win=10
for a in "$@"; do case $a in --window=*) win=${a#*=} ;; esac; done
sleep $((win + 4))
settled=$(heap_kib)
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status")
ops=$("$build/tests/qpd_tool" req "SNAPSHOT cumulative" |
  jq '[.processes[] | .ops | length] | add / length')

per_live=$(( (live - base) * 1024 / nl ))
per_ret=$(( (settled - base) * 1024 / (n + nl) ))
echo "qpulsed memory per process: $n x 'qpulse run -- cat $files' in ${secs}s, ${ops} ops each"
echo "  daemon heap (less the flight recorder): empty ${base} KiB, VmRSS at the end ${rss} KiB"
echo "  live (baseline, $nl processes):         $per_live bytes per process"
echo "  retained ($((n + nl)), past the window): $per_ret bytes per process," \
  "ratio $(awk -v a="$per_ret" -v b="$per_live" 'BEGIN { printf "%.3f", a / b }') of a live one"
