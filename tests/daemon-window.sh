#!/bin/sh
# The live window slides: samples leave it after --window seconds while the
# cumulative view keeps them; p99_prev_ns carries the previous window's p99.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup daemon-window

qp_start_daemon --window 2
# phase 0: 1000 samples of 1000 ns; then (SIGUSR1) phase 1: 1000 of 5000 ns
qp_bg "$PROD" -t 1 -n 1000 -D const:1000 -p 2 -m 5 -k > "$T/prod.out"
P=$!
qp_wait_for 20 grep -q "phase 1" "$T/prod.out" || qp_fail "producer phase 0"

in_window() { snap window && [ "$(field $P gen Work count)" = "$1" ]; }
qp_wait_for 10 in_window 1000 || qp_fail "phase 0 samples never showed in the window"
expect "window max" "$(field $P gen Work max_ns)" 1000

# The window ends; the cumulative view and the previous-window p99 remain.
qp_wait_for 15 in_window 0 || qp_fail "phase 0 samples never left the 2 s window"
snap cumulative
expect "cumulative count" "$(field $P gen Work count)" 1000
prev_is() { snap cumulative && [ "$(field $P gen Work p99_prev_ns)" = "$1" ]; }
qp_wait_for 10 prev_is 1000 || qp_fail "p99_prev_ns never held the previous window's p99"

kill -USR1 $P
qp_wait_for 20 grep -q done "$T/prod.out" || qp_fail "producer phase 1"
qp_wait_for 10 in_window 1000 || qp_fail "phase 1 samples never showed in the window"
expect "window min (only phase 1)" "$(field $P gen Work min_ns)" 5000
snap cumulative
expect "cumulative count" "$(field $P gen Work count)" 2000
expect "cumulative min" "$(field $P gen Work min_ns)" 1000
expect "cumulative max" "$(field $P gen Work max_ns)" 5000
exit 0
