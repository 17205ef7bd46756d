## tests/tools.mk: tests of `qpulse check`/`qpulse reset` and of the shared
## snapshot reader and budget parser (budgets issue).
if ENABLE_TESTS
check_PROGRAMS += tests/test_snapshot
tests_test_snapshot_SOURCES = tests/test_snapshot.c
tests_test_snapshot_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_snapshot_CFLAGS = $(QPTEST_CFLAGS_) $(JANSSON_CFLAGS)
tests_test_snapshot_LDADD = $(QPTEST_LIBS_) $(JANSSON_LIBS)
TESTS += tests/test_snapshot
endif
