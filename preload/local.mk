## preload/: libqpulse-preload.so, the LD_PRELOAD library behind `qpulse run`.
## One shared object, the recorder (lib/record.c) compiled in: every program
## it starts loads it, and a second library (libqpulse.so.1 as a dependency)
## cost each of them one more open, mapping and relocation pass.  It exports
## libqpulse's API, so a program that also uses the macros (and loads
## libqpulse.so.1 itself) binds to this copy, first in the search order:
## one recorder, one segment.

lib_LTLIBRARIES += preload/libqpulse-preload.la
preload_libqpulse_preload_la_SOURCES = preload/hooks.c preload/bootstrap.c preload/guard.c \
	preload/groups.c preload/reap.c preload/privs.c preload/preload.h lib/record.c \
	lib/common.c
preload_libqpulse_preload_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS)
## -module -avoid-version: installed as plain libqpulse-preload.so, the name
## LD_PRELOAD and qpulse run use.
preload_libqpulse_preload_la_LDFLAGS = -module -avoid-version -shared -no-undefined $(NOW_LDFLAGS) $(AM_LDFLAGS)
preload_libqpulse_preload_la_LIBADD = $(PTHREAD_LIBS) $(LIBM)

## The group parser is shared with `qpulse run --hooks`.
lib_libqpulse_internal_la_SOURCES += preload/groups.c preload/preload.h

dist_man_MANS += man/qpulse-run.1 man/libqpulse-preload.7
