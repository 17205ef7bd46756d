# tests/examples-smoke.sh — the example programs run for a second with no
# daemon, exit 0 with their summary line, record samples, stop early and
# cleanly on SIGTERM, and leave nothing in /dev/shm; the -DQPULSE_DISABLE
# build of the trading example does not even link libqpulse.
. "$top_srcdir/tests/lib.sh"
qp_setup examples-smoke

# run_example NAME ARGS...: runs it, checks status 0 and the summary line,
# and leaves the summary in $T/NAME.out.
run_example() {
  local name=$1; shift
  "$EXAMPLES/$name" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
    { cat "$T/$name.err" >&2; qp_fail "$name $* exited with status $?"; }
  grep -Eq "^${name%-disabled}: .* recorded=[0-9]+ dropped=[0-9]+\$" "$T/$name.out" ||
    { cat "$T/$name.out" "$T/$name.err" >&2; qp_fail "$name printed no summary line"; }
  qp_log "$(cat "$T/$name.out")"
}

has_segment() { [ "$(qp_shm_count)" -gt 0 ]; }
recorded() { sed -n 's/.* recorded=\([0-9]*\) .*/\1/p' "$T/$1.out"; }

for ex in trading ecommerce; do
  run_example $ex 1
  [ "$(recorded $ex)" -gt 0 ] || qp_fail "$ex recorded no samples"
  [ "$(qp_shm_count)" -eq 0 ] || { ls /dev/shm >&2; qp_fail "$ex left shared memory behind"; }
done
# The C++ example.
run_example orderbook 1
[ "$(recorded orderbook)" -gt 0 ] || qp_fail "orderbook recorded no samples"
grep -Eq '^orderbook: orders=[1-9][0-9]* trades=[1-9][0-9]* rejected=[1-9]' "$T/orderbook.out" ||
  qp_fail "orderbook matched or rejected nothing"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "orderbook left shared memory behind"
grep -Eq '^trading: updates=[1-9][0-9]* .* orders=[1-9]' "$T/trading.out" ||
  qp_fail "trading submitted no orders"
grep -Eq '^ecommerce: requests=[1-9][0-9]* ok=[1-9]' "$T/ecommerce.out" ||
  qp_fail "ecommerce completed no request"

# Options are honoured, and a bad one is refused with status 2.
run_example trading 1 --rate 2000 --colo
run_example ecommerce 1 --threads 2 --db-pool 2 --rate 100
for ex in trading ecommerce; do
  rc=0; "$EXAMPLES/$ex" --no-such-option >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || qp_fail "$ex accepted an unknown option (status $rc)"
done

# SIGTERM ends a long run early, cleanly, with the summary.
for ex in trading ecommerce; do
  "$EXAMPLES/$ex" 600 >"$T/$ex.out" 2>"$T/$ex.err" &
  pid=$!
  QP_PIDS="$QP_PIDS $pid"
  qp_wait_for 30 has_segment || qp_fail "$ex never created its segment"
  kill -TERM "$pid"
  rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || qp_fail "$ex exited with status $rc after SIGTERM"
  grep -q " recorded=" "$T/$ex.out" || qp_fail "$ex printed no summary after SIGTERM"
  [ "$(qp_shm_count)" -eq 0 ] || qp_fail "$ex left shared memory behind after SIGTERM"
done

# Compiled with -DQPULSE_DISABLE: runs, records nothing, needs no libqpulse.
run_example trading-disabled 1
[ "$(recorded trading-disabled)" -eq 0 ] || qp_fail "the disabled build recorded samples"
[ "$(qp_shm_count)" -eq 0 ] || qp_fail "the disabled build created shared memory"
if command -v readelf >/dev/null; then
  ! readelf -d "$EXAMPLES/trading-disabled" | grep -q 'NEEDED.*libqpulse' ||
    qp_fail "trading-disabled is linked against libqpulse"
fi
exit 0
