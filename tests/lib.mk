## tests/lib.mk: the recording library and the reader (issue 2).
if ENABLE_TESTS
check_PROGRAMS += tests/test_record
TESTS += tests/test_record
tests_test_record_SOURCES = tests/test_record.c
tests_test_record_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_record_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_record_LDADD = $(QPTEST_LIBS_)

## Signal handlers, longjmp, limits, slotless threads, clocks.
check_PROGRAMS += tests/test_safety
TESTS += tests/test_safety
tests_test_safety_SOURCES = tests/test_safety.c
tests_test_safety_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_safety_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_safety_LDADD = $(QPTEST_LIBS_)
endif

TESTS += tests/api-compile.sh
EXTRA_DIST += tests/api-compile.sh
