## preload/: libqpulse-preload.so, the LD_PRELOAD library behind `qpulse run`.
## It links libqpulse (not a second copy of the recorder), so a program that
## also uses the macros records both into one segment.

lib_LTLIBRARIES += preload/libqpulse-preload.la
## lib/common.c is compiled in again: libqpulse exports only its API.
preload_libqpulse_preload_la_SOURCES = preload/hooks.c preload/bootstrap.c preload/guard.c \
	preload/groups.c preload/reap.c preload/privs.c preload/preload.h lib/common.c
preload_libqpulse_preload_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS)
## -module -avoid-version: installed as plain libqpulse-preload.so, the name
## LD_PRELOAD and qpulse run use.
preload_libqpulse_preload_la_LDFLAGS = -module -avoid-version -shared -no-undefined $(NOW_LDFLAGS) $(AM_LDFLAGS)
preload_libqpulse_preload_la_LIBADD = lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)

## The group parser is shared with `qpulse run --hooks`.
lib_libqpulse_internal_la_SOURCES += preload/groups.c preload/preload.h

dist_man_MANS += man/qpulse-run.1 man/libqpulse-preload.7
