#!/bin/sh
# options-help.sh — every program's --help is generated from its option
# table: it lists every option, each one is accepted as written, its man
# page documents it, and the errors share one wording and exit status 2.
. "$top_srcdir/tests/lib.sh"
qp_setup opthelp

check() {   # PAGE PROGRAM [SUBCOMMAND]
  page=$1; shift
  "$@" --help > "$T/help" 2> "$T/err" || qp_fail "$* --help: status $? ($(cat "$T/err"))"
  grep -q '^Usage: ' "$T/help" || qp_fail "$* --help: no usage line"
  opts=$(grep -oE '^  (-[A-Za-z], |    )--[a-z][a-z-]*' "$T/help" | sed 's/.*--/--/')
  [ -n "$opts" ] || qp_fail "$* --help lists no option"
  for o in $opts; do
    man_o=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    case $o in --help | --version) ;;
    *) grep -q -- "$man_o" "$top_srcdir/man/$page" || qp_fail "$page does not document $o ($*)" ;;
    esac
  done
  # one wording for the errors, status 2
  "$@" --no-such-option > /dev/null 2> "$T/err"; rc=$?
  [ "$rc" -eq 2 ] || qp_fail "$*: an unknown option exits $rc"
  grep -q "unknown option '--no-such-option'" "$T/err" || qp_fail "$*: $(cat "$T/err")"
  grep -q -- "--help'\.\$" "$T/err" || qp_fail "$*: no pointer to --help: $(cat "$T/err")"
  if printf '%s\n' $opts | grep -qx -- --ns; then
    "$@" --ns 'no spaces' > /dev/null 2> "$T/err"; rc=$?
    [ "$rc" -eq 2 ] || qp_fail "$*: a bad --ns exits $rc"
    grep -q -- "--ns: 'no spaces' is not a namespace (1-48 characters of A-Z a-z 0-9 _ -)" \
      "$T/err" || qp_fail "$*: --ns wording: $(cat "$T/err")"
  fi
  printf '%s\n' $opts > "$T/opts.$page"
}

check qpulsed.8 "$QPULSED"
check qptop.1 "$QPTOP"
check qpulse-check.1 "$QPULSE" check
check qpulse-reset.1 "$QPULSE" reset
check qpulse-trace.1 "$QPULSE" trace
check qpulse-run.1 "$QPULSE" run
# qptop's help once left out half its options
for o in --batch --iterations --delay --format --cumulative --ns --input --sort --group \
         --merge --tree --filter --exited --no-color; do
  grep -qx -- "$o" "$T/opts.qptop.1" || qp_fail "qptop --help does not list $o"
done
echo "PASS: every program's --help lists its options, documented in its man page"
