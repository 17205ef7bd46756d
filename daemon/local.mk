## daemon/: qpulsed, the collector daemon (CONTRACT.md §3, §4, §8).

lib_libqpulse_internal_la_SOURCES += lib/hist.c lib/hist.h

bin_PROGRAMS += daemon/qpulsed
daemon_qpulsed_SOURCES = daemon/main.c daemon/qpulsed.h daemon/access.c \
	daemon/state.c daemon/state.h daemon/restart.c daemon/log.c daemon/log.h \
	daemon/jw.c daemon/jw.h daemon/agg.c daemon/agg.h daemon/procs.c daemon/render.c \
	daemon/server.c daemon/prom.c daemon/budgets.c \
	daemon/history.c daemon/history.h daemon/trace.c daemon/slowest.c daemon/slowest.h
daemon_qpulsed_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
daemon_qpulsed_LDADD = lib/libqpulse-internal.la $(MHD_LIBS) $(PTHREAD_LIBS) $(LIBM)

dist_man_MANS += man/qpulsed.8
EXTRA_DIST += contrib/qpulsed.service
