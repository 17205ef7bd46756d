## tools/: the `qpulse` command.  Each subcommand lives in its own file.
bin_PROGRAMS += tools/qpulse
tools_qpulse_SOURCES = tools/qpulse.c tools/tools.h tools/cmd_run.c tools/cmd_check.c tools/cmd_reset.c \
	tools/cmd_trace.c
tools_qpulse_LDADD = lib/libqpulse-internal.la $(JANSSON_LIBS) $(LIBM)
tools_qpulse_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_qpulse_CPPFLAGS = $(AM_CPPFLAGS)
## Static where possible (configure --enable-static-qpulse): `qpulse run`
## execs the command it starts, and every shared library qpulse itself
## loads would add to that command's start-up time.
if STATIC_QPULSE
tools_qpulse_LDFLAGS = $(AM_LDFLAGS) -all-static
if RUN_FAST
## ... and `qpulse run` starts before the C library does (tools/run_fast.c).
tools_qpulse_SOURCES += tools/run_fast.c
tools_qpulse_LDFLAGS += -Wl,-e,qp_run_entry
tools_qpulse_CPPFLAGS += -DQP_RUN_FAST
endif
endif
## qpulse-run's and qpulse-check's own additions follow in tools/run.mk and tools/check.mk
include $(srcdir)/tools/run.mk
include $(srcdir)/tools/check.mk
dist_man_MANS += man/qpulse.1 man/qpulse-trace.1
