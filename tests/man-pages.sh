#!/bin/sh
# man-pages.sh — the man pages stand on their own once installed: every
# document they name is installed with them (QP_DOC_FILES, from
# nobase_dist_doc_DATA) and exists; none names a file that is not shipped.
# groff, when present, finds nothing to warn about.
. "$top_srcdir/tests/lib.sh"
qp_setup manpages
: "${QP_DOC_FILES:?run through make check}"

cd "$top_srcdir" || qp_fail "no source tree"
[ -n "$(ls man/*.[1-8] 2>/dev/null)" ] || qp_fail "no man pages"
bad=0
# every X.md a page names, with its directory if it gives one
for ref in $(grep -ohE '[A-Za-z0-9_./-]+\.md' man/*.[1-8] | sort -u); do
  found=0
  for d in $QP_DOC_FILES; do
    case "$d" in "$ref" | */"$ref") found=1 ;; esac
  done
  if [ $found = 0 ]; then
    printf 'FAIL: %s names %s, which is not installed\n' "$(grep -l -- "$ref" man/*.[1-8] | tr '\n' ' ')" "$ref" >&2
    bad=1
  fi
done
for d in $QP_DOC_FILES; do
  [ -f "$d" ] || { printf 'FAIL: %s is to be installed but does not exist\n' "$d" >&2; bad=1; }
done
[ $bad = 0 ] || exit 1
# at least one page does point at them (PROTOCOL.md: the snapshot's fields)
grep -q 'PROTOCOL\.md' man/qptop.1 || qp_fail "qptop(1) does not say where the JSON is described"
if command -v groff >/dev/null; then
  for m in man/*.[1-8]; do
    w=$(groff -man -Tutf8 -ww -z "$m" 2>&1) || true
    [ -z "$w" ] || qp_fail "groff warns about $m: $w"
  done
fi
echo "PASS: man pages"
