## tests/lib.mk: the recording library and the reader.
## Criterion programs (each built from tests/NAME.c): recording and
## reading; signal handlers, longjmp, limits, slotless threads, clocks; a
## segment that shrinks under the reader.
if ENABLE_TESTS
UNIT_TESTS += tests/test_record tests/test_safety tests/test_reader_shrink
tests_test_record_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_record_LDADD = $(QPTEST_LIBS_)
tests_test_safety_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_safety_LDADD = $(QPTEST_LIBS_)
tests_test_reader_shrink_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_reader_shrink_LDADD = $(QPTEST_LIBS_)
endif

TESTS += tests/api-compile.sh
EXTRA_DIST += tests/api-compile.sh

## Plugins, constructors, dlclose, unloading libqpulse, C++ and the case
## label (tests/safety.sh and tests/cxx-compile.sh).
check_LTLIBRARIES += tests/plug_net1.la tests/plug_net2.la
## One source, built twice: two plugins that define a set of the same name.
PLUG_LDFLAGS_ = -module -avoid-version -shared -rpath $(abs_builddir)/tests
tests_plug_net1_la_SOURCES = tests/plug_net.c
tests_plug_net1_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NET=1
tests_plug_net1_la_LDFLAGS = $(PLUG_LDFLAGS_)
tests_plug_net1_la_LIBADD = lib/libqpulse.la
tests_plug_net2_la_SOURCES = tests/plug_net.c
tests_plug_net2_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NET=2
tests_plug_net2_la_LDFLAGS = $(PLUG_LDFLAGS_)
tests_plug_net2_la_LIBADD = lib/libqpulse.la
check_PROGRAMS += tests/qp_safety tests/qp_unload
tests_qp_safety_SOURCES = tests/qp_safety.c
tests_qp_safety_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)
tests_qp_unload_SOURCES = tests/qp_unload.c
tests_qp_unload_LDADD = $(PTHREAD_LIBS)
TESTS += tests/safety.sh
EXTRA_DIST += tests/safety.sh
TESTS += tests/cxx-compile.sh
EXTRA_DIST += tests/cxx-compile.sh tests/cxx_api.cpp
