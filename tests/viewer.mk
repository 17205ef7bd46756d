## tests/viewer.mk — qptop: batch reports checked field by field against a
## producer with known samples (real daemon, real shm), and the live screen
## driven under tmux.

check_PROGRAMS += tests/viewer_prod
tests_viewer_prod_SOURCES = tests/viewer_prod.c
tests_viewer_prod_LDADD = lib/libqpulse.la
# a real binary, not a libtool wrapper: its process name is what qptop shows
tests_viewer_prod_LDFLAGS = -no-install

if ENABLE_TESTS
check_PROGRAMS += tests/test_viewer_batch tests/test_viewer_model
TESTS += tests/test_viewer_batch tests/test_viewer_model
tests_test_viewer_batch_SOURCES = tests/test_viewer_batch.c
tests_test_viewer_batch_CPPFLAGS = $(QPTEST_CPPFLAGS_)
tests_test_viewer_batch_CFLAGS = $(QPTEST_CFLAGS_) $(JANSSON_CFLAGS)
tests_test_viewer_batch_LDADD = $(QPTEST_LIBS_) $(JANSSON_LIBS)
tests_test_viewer_model_SOURCES = tests/test_viewer_model.c viewer/model.c viewer/columns.c
tests_test_viewer_model_CPPFLAGS = $(QPTEST_CPPFLAGS_) -I$(top_srcdir)/viewer
tests_test_viewer_model_CFLAGS = $(QPTEST_CFLAGS_)
tests_test_viewer_model_LDADD = $(QPTEST_LIBS_) $(JANSSON_LIBS)
endif

TESTS += tests/viewer-screen.sh tests/viewer-restart.sh tests/viewer-demo.sh tests/viewer-paging.sh
EXTRA_DIST += tests/viewer-screen.sh tests/viewer-restart.sh tests/viewer-demo.sh tests/viewer-paging.sh \
	tests/viewer-sample.json tests/viewer-common.sh
