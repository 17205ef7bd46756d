## tests/lib.mk: the recording library and the reader (issue 2).
if ENABLE_TESTS
check_PROGRAMS += tests/test_record
TESTS += tests/test_record
tests_test_record_SOURCES = tests/test_record.c
tests_test_record_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_record_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_record_LDADD = $(QPTEST_LIBS_)
endif

TESTS += tests/api-compile.sh
EXTRA_DIST += tests/api-compile.sh

if ENABLE_TESTS
check_PROGRAMS += tests/test_reader_shrink
TESTS += tests/test_reader_shrink
tests_test_reader_shrink_SOURCES = tests/test_reader_shrink.c
tests_test_reader_shrink_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_reader_shrink_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_reader_shrink_LDADD = $(QPTEST_LIBS_)
endif
