## tests/preload.mk: libqpulse-preload and qpulse run.
## Preloading cannot work in a sanitizer build (the sanitizer runtime must
## come first in the process), so these run only in ordinary builds.
if !SANITIZERS
if ENABLE_TESTS
check_PROGRAMS += tests/test_preload_boot tests/test_preload_guard
TESTS += tests/test_preload_boot tests/test_preload_guard

tests_test_preload_boot_SOURCES = tests/test_preload_boot.c preload/bootstrap.c preload/preload.h
tests_test_preload_boot_CPPFLAGS = $(QPTEST_CPPFLAGS_) -I$(top_srcdir)/preload
tests_test_preload_boot_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_preload_boot_LDADD = $(CRITERION_LIBS) $(PTHREAD_LIBS)

## The hooks themselves are linked into this test program, where they
## interpose libc just as the preloaded library does.
tests_test_preload_guard_SOURCES = tests/test_preload_guard.c preload/hooks.c preload/guard.c \
	preload/bootstrap.c preload/groups.c preload/reap.c preload/preload.h
tests_test_preload_guard_CPPFLAGS = $(QPTEST_CPPFLAGS_) -I$(top_srcdir)/preload
tests_test_preload_guard_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_preload_guard_LDADD = $(QPTEST_LIBS_)
endif

TESTS += tests/preload-programs.sh
endif
EXTRA_DIST += tests/preload-programs.sh
