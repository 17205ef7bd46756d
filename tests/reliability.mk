## tests/reliability.mk — fault injection and security tests.
##
## Two small programs drive them: reliability-producer (an instrumented
## program that records numbered samples and keeps a kill-proof progress
## count) and reliability-drain (a minimal consumer built on lib/reader.c
## that checks balance and torn records).  The scripts kill, starve and
## fence these (and qpulsed) and check that every sample is either
## aggregated or counted as dropped.

check_PROGRAMS += tests/reliability-producer tests/reliability-drain
tests_reliability_producer_SOURCES = tests/reliability-producer.c
tests_reliability_producer_CPPFLAGS = $(AM_CPPFLAGS)
tests_reliability_producer_LDADD = lib/libqpulse.la $(PTHREAD_LIBS)
tests_reliability_drain_SOURCES = tests/reliability-drain.c
tests_reliability_drain_CPPFLAGS = $(AM_CPPFLAGS)
tests_reliability_drain_LDADD = lib/libqpulse-internal.la $(LIBM)

## The ring protocol with a same-address consumer thread: meaningful under
## -fsanitize=thread (see the file's comment), a stress test otherwise.
check_PROGRAMS += tests/test_reliability_ring
tests_test_reliability_ring_SOURCES = tests/test_reliability_ring.c
tests_test_reliability_ring_LDADD = lib/libqpulse.la $(PTHREAD_LIBS)
TESTS += tests/test_reliability_ring

RELIABILITY_TESTS = \
	tests/reliability-kill.sh \
	tests/reliability-slots.sh \
	tests/reliability-shm.sh \
	tests/reliability-churn.sh \
	tests/reliability-daemon.sh \
	tests/reliability-restart.sh \
	tests/reliability-security.sh \
	tests/reliability-retain.sh \
	tests/reliability-compact.sh
TESTS += $(RELIABILITY_TESTS)
EXTRA_DIST += $(RELIABILITY_TESTS)
EXTRA_DIST += docs/RELIABILITY.md
EXTRA_DIST += scripts/ci-extra.sh
