## tests/tools.mk: tests of `qpulse check`/`qpulse reset` and of the shared
## snapshot reader and budget parser.
if ENABLE_TESTS
UNIT_TESTS += tests/test_snapshot tests/test_budget
tests_test_snapshot_CFLAGS = $(QPTEST_CFLAGS_) $(JANSSON_CFLAGS)
tests_test_snapshot_LDADD = $(QPTEST_LIBS_) $(JANSSON_LIBS)
tests_test_budget_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_budget_LDADD = $(QPTEST_LIBS_)
endif

## Shell tests: qpulse check against snapshot files the tests write, and
## end to end with the real daemon and a program made slow on purpose
## (-no-install: no libtool wrapper, so its process name is check_slow).
check_PROGRAMS += tests/check_slow
tests_check_slow_SOURCES = tests/check_slow.c
tests_check_slow_LDADD = lib/libqpulse.la
tests_check_slow_LDFLAGS = -no-install $(AM_LDFLAGS)
CHECK_TESTS = tests/check-budgets.sh tests/check-baseline.sh tests/check-e2e.sh \
	tests/check-contrib.sh
TESTS += $(CHECK_TESTS)
EXTRA_DIST += $(CHECK_TESTS)
