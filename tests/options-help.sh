#!/bin/sh
# options-help.sh — every program's --help is generated from its option
# table: it lists every option, each one is accepted as written, its man
# page documents it, and the errors share one wording and exit status 2.
. "$top_srcdir/tests/lib.sh"
qp_setup opthelp

# The SYNOPSIS of man page $1 as plain words, its forms (.br) parted by '|'.
man_synopsis() {
  sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$top_srcdir/man/$1" | sed '1d;$d' |
    sed -e 's/^\.br$/|/' -e 's/^\.[BI] //' -e '/^\.[BIR][BIR] /{s/^\.[BIR][BIR] //;s/ //g;}' \
        -e 's/\\-/-/g' | tr '\n' ' ' | tr -s ' ' | sed 's/ $//'
}

# The usage line of the help in file $1, as plain words.
help_usage() {
  sed -n '/^Usage: /,/^$/p' "$1" | sed 's/^Usage: //' | tr '\n' ' ' | tr -s ' ' | sed 's/ $//'
}

check() {   # PAGE PROGRAM [SUBCOMMAND]
  page=$1; shift
  "$@" --help > "$T/help" 2> "$T/err" || qp_fail "$* --help: status $? ($(cat "$T/err"))"
  grep -q '^Usage: ' "$T/help" || qp_fail "$* --help: no usage line"
  # the usage line, generated from the options, is the man page's SYNOPSIS
  usage=$(help_usage "$T/help")
  [ "$usage" = "$(man_synopsis "$page")" ] ||
    qp_fail "$page SYNOPSIS is not what $* --help says: '$(man_synopsis "$page")' vs '$usage'"
  printf '%s\n' "$usage" > "$T/usage.$page"
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
# qpulse(1) shows the usage of each subcommand
all=$(for c in run check reset trace; do cat "$T/usage.qpulse-$c.1"; done | sed 's/$/ |/' |
  tr '\n' ' ' | sed 's/ | $//')
[ "$all" = "$(man_synopsis qpulse.1)" ] ||
  qp_fail "qpulse.1 SYNOPSIS is not the subcommands' usage: '$(man_synopsis qpulse.1)' vs '$all'"
# qptop's help once left out half its options
for o in --batch --iterations --delay --format --cumulative --ns --input --sort --group \
         --merge --tree --filter --exited --no-color; do
  grep -qx -- "$o" "$T/opts.qptop.1" || qp_fail "qptop --help does not list $o"
done
echo "PASS: every program's --help lists its options, documented in its man page"
