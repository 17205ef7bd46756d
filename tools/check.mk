## tools/check.mk: `qpulse check` and `qpulse reset`, and the
## shared readers they bring into the internal library: the snapshot JSON
## reader (also used by qptop) and the budget-file parser (also used by
## qpulsed and qptop).
lib_libqpulse_internal_la_SOURCES += lib/snapshot.c lib/budget.c lib/budget.h
lib_libqpulse_internal_la_CFLAGS += $(JANSSON_CFLAGS)
lib_libqpulse_internal_la_LIBADD += $(JANSSON_LIBS)

## `qpulse check` is split: options and inputs in cmd_check.c, the two checks
## in their own files.
tools_qpulse_SOURCES += tools/check.h tools/check_budgets.c tools/check_baseline.c

dist_man_MANS += man/qpulse-check.1 man/qpulse-reset.1
EXTRA_DIST += docs/CI.md
