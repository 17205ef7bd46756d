#!/usr/bin/env bash
# fuzz/build.sh OUTDIR [BUILDDIR] — build the libFuzzer targets with clang.
#
# Not part of the autotools build: the targets need clang with
# -fsanitize=fuzzer (Debian: clang, libclang-rt-14-dev), and they compile
# the few lib/*.c files they test directly.  config.h comes from BUILDDIR
# when given (a configured tree), else a minimal one is written.
# A target whose sources do not exist yet is skipped with a note.
set -euo pipefail

out=${1:?usage: fuzz/build.sh OUTDIR [BUILDDIR]}
builddir=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
CC=${FUZZ_CC:-clang}
mkdir -p "$out/include"
if [ -n "$builddir" ] && [ -f "$builddir/config.h" ]; then
  cp "$builddir/config.h" "$out/include/config.h"
else
  printf '#define _GNU_SOURCE 1\n#define PACKAGE_VERSION "fuzz"\n' > "$out/include/config.h"
fi

flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -pthread
       -I"$out/include" -I"$src/include" -I"$src/lib")

# target_name  extra_libs  sources...
build() {
  local name=$1 libs=$2; shift 2
  local f
  for f in "$@"; do
    case "$f" in /*) continue ;; esac   # generated, under $out
    if [ ! -f "$src/$f" ]; then
      echo "fuzz/build.sh: skipping $name: $f does not exist yet" >&2
      return 0
    fi
  done
  local paths=()
  for f in "$@"; do
    case "$f" in /*) paths+=("$f") ;; *) paths+=("$src/$f") ;; esac
  done
  # shellcheck disable=SC2086  # libs is a word list
  "$CC" "${flags[@]}" -o "$out/$name" "${paths[@]}" $libs -lrt -lm
  echo "$name"
}

build fuzz_reader "" fuzz/fuzz_reader.c lib/reader.c lib/common.c
build fuzz_budget "" fuzz/fuzz_budget.c lib/budget.c lib/common.c
build fuzz_snapshot "-ljansson" fuzz/fuzz_snapshot.c lib/snapshot.c lib/common.c
flags+=(-I"$src/viewer")
build fuzz_viewer "-ljansson" fuzz/fuzz_viewer.c lib/snapshot.c lib/common.c viewer/model.c \
  viewer/columns.c
# The daemon's Prometheus messages, compiled as the build does.
PROTOC_C=${PROTOC_C:-protoc-c}
"$PROTOC_C" --c_out="$out/include" -I"$src" "$src/daemon/prom_metrics.proto"
pb="$out/include/daemon/prom_metrics.pb-c.c"
# The request parser is static in daemon/server.c: fuzz_request.c includes
# that file, and links the rest of the daemon with its main() renamed.
flags+=(-I"$src/daemon" -Dmain=qpulsed_main)
daemon=(daemon/main.c daemon/log.c daemon/jw.c daemon/jw_buf.c daemon/jw_esc.c daemon/agg.c daemon/procs.c daemon/discover.c
        daemon/drain.c daemon/procstat.c daemon/tick.c daemon/render.c
        daemon/prom.c daemon/prom_fmt.c daemon/prom_native.c daemon/budgets.c
        daemon/access.c daemon/state.c daemon/restart.c
        daemon/history.c daemon/trace.c daemon/slowest.c daemon/bg.c
        daemon/view.c viewer/model.c viewer/columns.c
        lib/reader.c lib/common.c lib/hist.c lib/budget.c lib/opts.c "$pb")
build fuzz_request "-lmicrohttpd -ljansson -lprotobuf-c" fuzz/fuzz_request.c "${daemon[@]}"
# The Prometheus pages: the Accept header and producer-chosen names and
# durations into the three formats, the protobuf decoded again.
build fuzz_prom "-lmicrohttpd -ljansson -lprotobuf-c" fuzz/fuzz_prom.c daemon/server.c "${daemon[@]}"
build fuzz_state "" fuzz/fuzz_state.c daemon/state.c daemon/agg.c daemon/slowest.c daemon/history.c \
  lib/hist.c lib/reader.c \
  lib/common.c
