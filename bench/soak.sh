#!/usr/bin/env bash
# bench/soak.sh BUILDDIR [SECONDS] — the soak: qpulsed under a mixed load
# for SECONDS (default 600), then its books (not run by make check).
#
# Load, all at once, for the whole run:
#   - 2 long-lived processes x 4 threads, each thread recording a sample
#     every ~20 us (-s 20), SIGKILLed at the end;
#   - 1 process whose threads come and go: 8 alive at a time, each thread
#     recording 200 samples and exiting (slots reused), SIGKILLed at the end;
#   - short-lived processes, 2 threads x 1000 samples each, started back
#     to back, 2 at a time.
# Every sample is a numbered rel.Sample (tests/reliability-producer.c).
# At the end it prints the samples recorded (attempted, from the producers'
# kill-proof progress counters and the short-lived ones' own reports), the
# samples qpulsed aggregated and counted as dropped, what is unaccounted
# (at most one in-flight sample per thread alive at the final SIGKILL), and
# the daemon's peak RSS (VmHWM) and CPU use.
set -uo pipefail

build=${1:?usage: bench/soak.sh BUILDDIR [SECONDS]}
secs=${2:-600}
. "$(dirname "$0")/bench-lib.sh"
bench_setup soak "$build" daemon/qpulsed tests/reliability-producer tests/qpd_tool
command -v jq >/dev/null || { echo "soak: needs jq" >&2; exit 1; }
P="$build/tests/reliability-producer"
QPD_TOOL="$build/tests/qpd_tool"

progress_sum() { # FILE THREADS
  od -An -t u8 -w8 -v "$1" 2>/dev/null |
    awk -v n="$2" 'NR % 8 == 1 && NR <= 8 * n { s += $1 } END { printf "%d\n", s }'
}

"$build/daemon/qpulsed" --ns "$QPULSE_NS" --retain $((secs + 600)) --retain-max 1000000 2>"$T/qpulsed.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$QPULSE_RUNTIME_DIR/$QPULSE_NS.sock" ] && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
cpu0=$(awk '{ print $14 + $15 }' /proc/$dpid/stat)
t0=$(date +%s.%N)

# The daemon's memory once a second: VmRSS counts the producers' ring pages
# it maps (RssShmem) as well as its own heap (RssAnon); report both peaks.
(
  ma=0 ms=0
  while [ -e "$T/run" ] && kill -0 $dpid 2>/dev/null; do
    a=$(awk '/^RssAnon:/ { print $2 }' /proc/$dpid/status 2>/dev/null)
    m=$(awk '/^RssShmem:/ { print $2 }' /proc/$dpid/status 2>/dev/null)
    [ "${a:-0}" -gt $ma ] && ma=$a
    [ "${m:-0}" -gt $ms ] && ms=$m
    echo "$ma $ms" >"$T/mem.tmp" && mv "$T/mem.tmp" "$T/mem"
    sleep 1
  done
) & mem=$!

"$P" -t 4 -n 0 -s 20 -p "$T/long1" -q & l1=$!
"$P" -t 4 -n 0 -s 20 -p "$T/long2" -q & l2=$!
churn_total=$((secs * 2000))
"$P" -t 8 -c $churn_total -n 200 -s 20 -p "$T/churn" -q & ch=$!
pids="$l1 $l2 $ch"
(
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    "$P" -t 2 -n 1000 >>"$T/short.a" &
    "$P" -t 2 -n 1000 >>"$T/short.b"
    wait
  done
) & sl=$!
pids="$pids $sl $mem"

sleep "$secs"
wait $sl
{ kill -KILL $l1 $l2 $ch; wait $l1 $l2 $ch; } 2>/dev/null
t1=$(date +%s.%N)
cpu1=$(awk '{ print $14 + $15 }' /proc/$dpid/stat)

# Wait until the daemon has finished with every process (all not alive).
for _ in $(seq 200); do
  "$QPD_TOOL" req "SNAPSHOT cumulative" >"$T/snap.json" 2>/dev/null &&
    [ "$(jq '[.processes[] | select(.alive)] | length' "$T/snap.json")" = 0 ] && break
  sleep 0.1
done
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$dpid/status)
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$dpid/status)

long=$(( $(progress_sum "$T/long1" 4) + $(progress_sum "$T/long2" 4) ))
churn=$(progress_sum "$T/churn" $churn_total)
short=$(cat "$T"/short.* 2>/dev/null | sed -n 's/^attempted=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { printf "%d\n", s }')
nshort=$(cat "$T"/short.* 2>/dev/null | grep -c '^attempted=')
recorded=$((long + churn + short))
agg=$(jq '[.processes[].ops[] | select(.op == "Sample") | .count] | add // 0' "$T/snap.json")
drop=$(jq '[.processes[].dropped] | add // 0' "$T/snap.json")
nproc=$(jq '.processes | length' "$T/snap.json")
unacc=$((recorded - agg - drop))
wall=$(echo "$t1 - $t0" | bc -l)
cpu_s=$(echo "($cpu1 - $cpu0) / $tck" | bc -l)

printf 'soak: %s s, qpulsed pid %s, namespace %s\n' "$secs" "$dpid" "$QPULSE_NS"
printf '  load: 2 x 4 threads long-lived, 8 churning threads (%s threads in all), %s short-lived processes (2 threads each)\n' \
  "$(( churn / 200 ))" "$nshort"
printf '  samples recorded (attempted): %d\n' "$recorded"
printf '  aggregated by qpulsed:        %d\n' "$agg"
printf '  dropped (counted):            %d (%.3f %%)\n' "$drop" "$(echo "100 * $drop / $recorded" | bc -l)"
printf '  unaccounted:                  %d (bound: 16, one per thread alive at the final SIGKILL)\n' "$unacc"
printf '  processes seen:               %d\n' "$nproc"
printf '  rate:                         %.0f samples/s\n' "$(echo "$recorded / $wall" | bc -l)"
read -r anon shm <"$T/mem"
printf '  qpulsed peak RSS:             %.1f MiB (VmHWM; now %.1f MiB)\n' "$(echo "$hwm / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
printf '    of which, at the peaks:     heap %.1f MiB, mapped ring pages %.1f MiB (sampled each second)\n' \
  "$(echo "$anon / 1024" | bc -l)" "$(echo "$shm / 1024" | bc -l)"
printf '  qpulsed CPU:                  %.1f s over %.0f s = %.1f %% of one core\n' "$cpu_s" "$wall" \
  "$(echo "100 * $cpu_s / $wall" | bc -l)"
leftover=$(ls /dev/shm | grep -c "^qpulse\.$QPULSE_NS\." || true)
printf '  shm objects left:             %d (the daemon'\''s own record: 1)\n' "$leftover"
[ "$unacc" -ge 0 ] && [ "$unacc" -le 16 ]
