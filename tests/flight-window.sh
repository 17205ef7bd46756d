#!/bin/sh
# Windows count samples in the second they were recorded: a daemon stopped
# for 6 s while a producer records 1000 samples a second shows, once it
# runs again, a 3 s window of about 3000 samples at about 1000/s (filed by
# drain time it would be 6000+ in one second), and every sample since start.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon-common.sh"
qp_setup flight-window

qp_start_daemon --window 3
qp_bg "$PROD" -t 1 -n 14000 -r 1000 -k > "$T/prod.out"
P=$!
started() { snap cumulative && [ "$(field $P gen Work count)" -ge 1000 ]; }
qp_wait_for 20 started || qp_fail "the producer did not start"
kill -STOP $QP_DAEMON_PID
sleep 6   # the stall under test
before=$(date +%s%N)
kill -CONT $QP_DAEMON_PID
# caught up: the cumulative count holds the stalled seconds
caught_up() { snap cumulative && [ "$(field $P gen Work count)" -ge 7000 ]; }
qp_wait_for 10 caught_up || qp_fail "the daemon did not catch up"
snap window
after=$(date +%s%N)
c=$(field $P gen Work count)
r=$(field $P gen Work rate_per_s)
qp_log "window after the stall: $c samples, $r/s (asked $(( (after - before) / 1000000 )) ms after SIGCONT)"
[ "$c" -ge 1500 ] && [ "$c" -le 3600 ] || qp_fail "window count $c after a 6 s stall (want 1500..3600)"
awk -v r="$r" 'BEGIN { exit !(r >= 600 && r <= 1400) }' || qp_fail "window rate $r/s (want ~1000)"
exit 0
