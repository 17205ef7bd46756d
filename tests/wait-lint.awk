# tests/wait-lint.awk — finds waits that evaluate their condition once.
#
#   awk -f tests/wait-lint.awk FILE...
#
# Prints FILE:LINE: and the command for each qp_wait_for (tests/lib.sh)
# whose arguments hold a command substitution the shell expands once,
# before the wait begins: $(...) or `...` outside single quotes and not
# escaped.  Fine: a snippet in single quotes ('[ "$(cmd)" -eq 1 ]'), an
# escaped \$( inside a double-quoted `sh -c`, arithmetic $((...)), and
# anything after the command ends (|| qp_fail "$(...)").  Lines ending in
# a backslash are joined first; comment lines are skipped.
function check(line, file, lineno,   i, n, c, q, rest, pos) {
  rest = line
  while (match(rest, /(^|[^A-Za-z0-9_-])qp_wait_for[ \t]/)) {
    rest = substr(rest, RSTART + RLENGTH)
    n = length(rest); q = ""
    for (i = 1; i <= n; i++) {
      c = substr(rest, i, 1)
      if (q == "'") { if (c == "'") q = ""; continue }
      if (c == "\\") { i++; continue }
      if (q == "\"") { if (c == "\"") { q = ""; continue } }
      else if (c == "'" || c == "\"") { q = c; continue }
      else if (c == "|" || c == "&" || c == ";" || c == ")" || c == "}") break
      else if (c == "#" && substr(rest, i - 1, 1) ~ /[ \t]/) break
      if (c == "`" || (c == "$" && substr(rest, i + 1, 1) == "(" && substr(rest, i + 2, 1) != "(")) {
        printf "%s:%d: %s\n", file, lineno, line
        return
      }
      if (c == "$" && substr(rest, i + 1, 2) == "((") {   # skip arithmetic
        pos = index(substr(rest, i), "))"); if (pos) i += pos
      }
    }
  }
}
FNR == 1 { acc = ""; start = 0 }
{
  if (acc == "" && $0 ~ /^[ \t]*#/) next
  if (acc == "") start = FNR
  if (sub(/\\$/, "")) { acc = acc $0 " "; next }
  check(acc $0, FILENAME, start); acc = ""
}
