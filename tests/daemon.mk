## tests/daemon.mk: qpulsed and its histogram.  Shell tests start
## the real daemon and real instrumented producers (tests/prod_gen.c) in
## their own namespace; tests/qpd_tool.c reads the snapshots.

check_PROGRAMS += tests/prod_gen tests/qpd_tool tests/qpd_badseg tests/attach_prod
tests_attach_prod_SOURCES = tests/attach_prod.c
tests_attach_prod_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(PTHREAD_LIBS)
tests_qpd_badseg_SOURCES = tests/qpd_badseg.c
tests_qpd_badseg_LDADD = lib/libqpulse-internal.la
tests_prod_gen_SOURCES = tests/prod_gen.c
tests_prod_gen_LDADD = lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)
tests_qpd_tool_SOURCES = tests/qpd_tool.c
tests_qpd_tool_LDADD = lib/libqpulse-internal.la $(JANSSON_LIBS) $(LIBM)

## Criterion programs: the histogram; an exited process's statistics
## compacted into one block, unchanged; Prometheus native histograms, the
## mapping and its error bound.
if ENABLE_TESTS
UNIT_TESTS += tests/test_hist tests/test_compact tests/test_prom_native
tests_test_hist_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_hist_LDADD = $(QPTEST_LIBS_)
tests_test_compact_SOURCES = tests/test_compact.c $(DAEMON_STATS_SOURCES)
tests_test_compact_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_test_compact_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_compact_LDADD = $(QPTEST_LIBS_)
tests_test_prom_native_SOURCES = tests/test_prom_native.c daemon/prom_native.c
tests_test_prom_native_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_prom_native_LDADD = $(QPTEST_LIBS_)
endif

DAEMON_TESTS = tests/daemon-basic.sh tests/daemon-kill.sh tests/daemon-window.sh \
	tests/daemon-restart.sh tests/daemon-malformed.sh tests/daemon-prom.sh \
	tests/daemon-budgets.sh tests/daemon-detach.sh tests/daemon-prom-native.sh \
	tests/daemon-attach.sh tests/daemon-op-drops.sh tests/daemon-threads.sh \
	tests/daemon-cmdline.sh
TESTS += $(DAEMON_TESTS)
## A producer held in the middle of its first sample (daemon-slow-init.sh)
## by a preloaded library: not in a sanitizer build (see tests/preload.mk).
EXTRA_DIST += tests/daemon-slow-init.sh
if !SANITIZERS
TESTS += tests/daemon-slow-init.sh
check_LTLIBRARIES += tests/init_gate.la
tests_init_gate_la_SOURCES = tests/init_gate.c
tests_init_gate_la_LDFLAGS = -module -avoid-version -shared -rpath $(abs_builddir)/tests
tests_init_gate_la_LIBADD = -ldl
endif
EXTRA_DIST += $(DAEMON_TESTS) tests/daemon-common.sh
