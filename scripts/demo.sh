#!/usr/bin/env bash
# demo.sh BUILDDIR — placeholder until the qptop issue lands: runs the examples.
set -euo pipefail
echo "demo: the viewer is not built yet" >&2
