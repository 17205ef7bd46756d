## daemon/: qpulsed, the collector daemon (qpulsed(8), docs/PROTOCOL.md).

lib_libqpulse_internal_la_SOURCES += lib/hist.c lib/hist.h

bin_PROGRAMS += daemon/qpulsed
daemon_qpulsed_SOURCES = daemon/main.c daemon/qpulsed.h daemon/access.c \
	daemon/state.c daemon/state.h daemon/restart.c daemon/log.c daemon/log.h \
	daemon/jw.c daemon/jw.h daemon/agg.c daemon/agg.h daemon/procs.c daemon/procs.h \
	daemon/discover.c daemon/drain.c daemon/procstat.c daemon/tick.c daemon/render.c \
	daemon/server.c daemon/prom.c daemon/prom.h daemon/prom_fmt.c \
	daemon/prom_native.c daemon/prom_native.h daemon/budgets.c \
	daemon/history.c daemon/history.h daemon/trace.c daemon/slowest.c daemon/slowest.h \
	daemon/view.c viewer/model.c viewer/columns.c viewer/view.h
daemon_qpulsed_SOURCES += daemon/jw_buf.c daemon/jw_esc.c daemon/bg.c daemon/bg.h
# VIEW (daemon/view.c) builds qptop's rows with qptop's own model and columns
daemon_qpulsed_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/viewer
nodist_daemon_qpulsed_SOURCES = $(PROM_PB_SOURCES)
daemon_qpulsed_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(PROTOBUF_C_CFLAGS)
daemon_qpulsed_LDADD = lib/libqpulse-internal.la $(MHD_LIBS) $(PROTOBUF_C_LIBS) $(PTHREAD_LIBS) $(LIBM)

# The Prometheus protobuf exposition messages, compiled by protoc-c at
# build time (the generated C is not distributed).
PROM_PB_SOURCES = daemon/prom_metrics.pb-c.c daemon/prom_metrics.pb-c.h
BUILT_SOURCES += $(PROM_PB_SOURCES)
CLEANFILES += $(PROM_PB_SOURCES)
EXTRA_DIST += daemon/prom_metrics.proto
daemon/prom_metrics.pb-c.c: $(srcdir)/daemon/prom_metrics.proto
	$(AM_V_GEN)$(MKDIR_P) daemon && \
	$(PROTOC_C) --c_out=. -I$(srcdir) $(srcdir)/daemon/prom_metrics.proto
daemon/prom_metrics.pb-c.h: daemon/prom_metrics.pb-c.c
	@test -f $@ || { rm -f daemon/prom_metrics.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) daemon/prom_metrics.pb-c.c; }

dist_man_MANS += man/qpulsed.8
EXTRA_DIST += contrib/qpulsed.service

# The statistics core (per-operation windows, slowest samples, history),
# which the unit tests and benchmarks build on their own.
DAEMON_STATS_SOURCES = daemon/agg.c daemon/agg.h daemon/slowest.c daemon/slowest.h \
	daemon/history.c daemon/history.h
