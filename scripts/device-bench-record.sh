#!/bin/sh
# device-bench-record.sh — build bench_record without autotools (for a
# machine that has only gcc) and run it at several thread counts.
set -e
out=${OUT:-/tmp}
printf '#define PACKAGE_VERSION "dev"\n#define _GNU_SOURCE 1\n' > "$out/config.h"
gcc -O2 -pthread -I"$out" -Iinclude -Ilib -DQPULSE_BUILDING_LIBRARY -o "$out/bench_record" \
    bench/bench_record.c lib/record.c lib/common.c lib/reader.c -lm -lrt
nproc
for t in 2 4 8 14; do "$out/bench_record" 101 $t; done
