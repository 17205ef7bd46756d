## lib/: libqpulse (the recording library, installed) and libqpulse-internal
## (the reader and the shared pieces of the daemon, viewer and tools).
## Other fragments add their shared modules to libqpulse-internal with +=.

lib_LTLIBRARIES += lib/libqpulse.la
lib_libqpulse_la_SOURCES = lib/record.c lib/common.c lib/common.h lib/layout.h lib/atomics.h \
	lib/clock.h
lib_libqpulse_la_CPPFLAGS = $(AM_CPPFLAGS) -DQPULSE_BUILDING_LIBRARY
lib_libqpulse_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS)
lib_libqpulse_la_LDFLAGS = -version-info $(QPULSE_LT_VERSION) -no-undefined $(NOW_LDFLAGS) $(AM_LDFLAGS)
lib_libqpulse_la_LIBADD = $(PTHREAD_LIBS)

noinst_LTLIBRARIES += lib/libqpulse-internal.la
lib_libqpulse_internal_la_SOURCES = lib/reader.c lib/reader.h lib/common.c lib/common.h \
	lib/client.c lib/client.h lib/layout.h lib/atomics.h lib/snapshot.h \
	lib/opts.c lib/opts.h lib/clock.h
lib_libqpulse_internal_la_CFLAGS = $(AM_CFLAGS)
lib_libqpulse_internal_la_LIBADD = $(LIBM)
dist_man_MANS += man/qpulse.3
