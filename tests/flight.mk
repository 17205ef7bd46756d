## tests/flight.mk: the flight recorder, the slowest samples with their
## trees, windows by sample time, `qpulse trace` and dumps on a breach.

check_PROGRAMS += tests/slow_prod tests/slow_check
tests_slow_prod_SOURCES = tests/slow_prod.c
tests_slow_prod_LDADD = lib/libqpulse.la $(PTHREAD_LIBS)
tests_slow_check_SOURCES = tests/slow_check.c
tests_slow_check_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_slow_check_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_slow_check_LDADD = lib/libqpulse-internal.la $(JANSSON_LIBS) $(LIBM)

FLIGHT_TESTS = tests/flight-slowest.sh tests/flight-window.sh tests/flight-dump.sh \
	tests/flight-waterfall.sh \
	tests/flight-bound.sh tests/flight-trace-busy.sh
TESTS += $(FLIGHT_TESTS)
EXTRA_DIST += $(FLIGHT_TESTS)
