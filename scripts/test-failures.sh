#!/usr/bin/env bash
# scripts/test-failures.sh BUILDDIR [STAGE] — after a failed `make check`
# (or a variant of it) in BUILDDIR, print on stderr, for every test whose
# result is FAIL, ERROR or XPASS:
#   - a header naming the test, its result and STAGE;
#   - the lines of its log that say what went wrong: a shell test's
#     "FAIL: ..." line, Criterion's failing assertions and crashes
#     ("[----] file:line: Assertion Failed", "[FAIL]", "[ERR ]"), a
#     sanitizer's or valgrind's report header, a time-out;
#   - the last lines of its log ($QPULSE_LOG_TAIL, default 60).
# Prints the number of such tests on stdout (0 when none was found, e.g.
# when the build itself failed).  Used by ./quickstart and
# scripts/ci-extra.sh.
set -uo pipefail

dir=${1:?usage: scripts/test-failures.sh BUILDDIR [STAGE]}
stage=${2:-make check}
tail_n=${QPULSE_LOG_TAIL:-60}
n=0
while IFS= read -r trs; do
  res=$(sed -n 's/^:test-result: \(FAIL\|ERROR\|XPASS\)$/\1/p' "$trs" | head -n 1)
  [ -n "$res" ] || continue
  n=$((n + 1))
  log=${trs%.trs}.log
  name=${trs#"$dir"/}
  name=${name%.trs}
  {
    printf '\n==== %s: %s (stage: %s) ====\n' "$res" "$name" "$stage"
    if [ ! -f "$log" ]; then
      echo "(no log: $log)"
      continue
    fi
    what=$(grep -nE -e '^(FAIL|ERROR|SKIP): ' -e '^\[(----|FAIL|ERR |WARN)\]' \
      -e 'Assertion Failed|CRASH|crashed|[Tt]imed out|[Tt]imeout' \
      -e 'ERROR: (Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer' \
      -e 'WARNING: ThreadSanitizer|runtime error:|^SUMMARY: ' \
      -e 'valgrind found errors|Invalid (read|write)|definitely lost' "$log" | head -n 40)
    if [ -n "$what" ]; then
      echo "-- what failed (line: text) --"
      printf '%s\n' "$what"
    fi
    echo "-- last $tail_n lines of $log --"
    tail -n "$tail_n" "$log"
  } >&2
done < <(find "$dir/tests" -name '*.trs' 2>/dev/null | sort)
echo "$n"
