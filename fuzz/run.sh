#!/usr/bin/env bash
# fuzz/run.sh OUTDIR SECONDS — run every target built by fuzz/build.sh in
# OUTDIR for SECONDS each; exit 1 if any of them crashed.
#
# Each run first replays its whole committed corpus (fuzz/corpus/<target>,
# which holds the seeds and every input that once crashed: the regression
# tests), then mutates for the rest of the time.  New inputs go to a scratch
# copy of the corpus, never into the source tree; crashing inputs are kept
# in OUTDIR/artifacts/ to be added to the corpus once fixed.
set -uo pipefail

out=${1:?usage: fuzz/run.sh OUTDIR SECONDS}
secs=${2:-45}
src=$(cd "$(dirname "$0")/.." && pwd)
rc=0
pid=""
# Interrupted: stop the target running now and remove its segment.
trap '[ -n "$pid" ] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  rm -f /dev/shm/qpulse.fuzz-"$pid".* 2>/dev/null; }; exit 130' INT TERM HUP
mkdir -p "$out/artifacts"
for bin in "$out"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  target=${name#fuzz_}
  work="$out/corpus-$target"
  rm -rf "$work"
  mkdir -p "$work"
  [ -d "$src/fuzz/corpus/$target" ] && cp "$src/fuzz/corpus/$target"/* "$work"/ 2>/dev/null
  dict=()
  [ -f "$src/fuzz/$target.dict" ] && dict=(-dict="$src/fuzz/$target.dict")
  start=$(date +%s)
  # detect_leaks stays on: a parser that leaks on bad input is a bug too.
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/$target-" \
      "$work" >"$out/$target.log" 2>&1 &
  pid=$!
  wait $pid
  status=$?
  # A crashed fuzz_reader leaves its segment (named after its pid).
  rm -f /dev/shm/qpulse.fuzz-"$pid".* 2>/dev/null
  pid=""
  if [ $status -eq 0 ]; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | grep -o '[0-9]*$')
    echo "fuzz $target: ok, ${runs:-?} inputs in $(( $(date +%s) - start )) s"
  else
    echo "fuzz $target: FAILED (exit status $status; log: $out/$target.log)"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/$target.log" | head -n 20
    # The report with its stack (not the shadow map), then the input.
    echo "-- the report in $out/$target.log --"
    sed -n '/ERROR: \|runtime error\|deadly signal\|Timeout\|out-of-memory/,/^$/p' "$out/$target.log" | head -n 40
    echo "-- the end of $out/$target.log --"
    tail -n 10 "$out/$target.log"
    echo "-- reproduce: $bin $out/artifacts/$target-<crash file> --"
    rc=1
  fi
done
exit $rc
