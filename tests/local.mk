## tests/: everything `make check` runs.  Each part of the tree keeps its
## tests in its own fragment, included here.
##
## Criterion programs and shell scripts both go in TESTS; shell tests end in
## .sh and run with $(SHELL).  Each test makes its own namespace and runtime
## directory (tests/lib.sh), so tests can run in parallel.

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	QPULSE_BUILDDIR='$(abs_top_builddir)'; export QPULSE_BUILDDIR;
EXTRA_DIST += tests/lib.sh tests/testutil.h

## The test library's own cleanup (every way out) and wait.
TESTS += tests/lib-cleanup.sh
EXTRA_DIST += tests/lib-cleanup.sh tests/wait-lint.awk
EXTRA_DIST += scripts/test-failures.sh

## Criterion programs: each fragment adds its own to UNIT_TESTS (built from
## tests/NAME.c unless it says otherwise) with these flags.
QPTEST_CPPFLAGS_ = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
QPTEST_CFLAGS_ = $(AM_CFLAGS) $(CRITERION_CFLAGS)
QPTEST_LIBS_ = lib/libqpulse-internal.la lib/libqpulse.la $(CRITERION_LIBS) $(PTHREAD_LIBS) $(LIBM)
UNIT_TESTS =
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

include $(srcdir)/tests/lib.mk
include $(srcdir)/tests/daemon.mk
include $(srcdir)/tests/viewer.mk
include $(srcdir)/tests/tools.mk
include $(srcdir)/tests/preload.mk
include $(srcdir)/tests/reliability.mk
include $(srcdir)/tests/system.mk
include $(srcdir)/tests/servers.mk
include $(srcdir)/tests/flight.mk
include $(srcdir)/tests/docs.mk
