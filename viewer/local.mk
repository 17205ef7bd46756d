## viewer/: qptop, the live viewer and its batch reports (qptop(1)).

bin_PROGRAMS += viewer/qptop
viewer_qptop_SOURCES = viewer/qptop.c viewer/view.h viewer/model.c viewer/columns.c \
	viewer/source.c viewer/remote.c viewer/batch.c viewer/ui.h viewer/ui.c viewer/colors.c \
	viewer/panel_header.c viewer/panel_table.c viewer/panel_detail.c \
	viewer/panel_help.c viewer/panel_prompt.c viewer/panel_waterfall.c
viewer_qptop_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS) $(JANSSON_CFLAGS)
viewer_qptop_LDADD = lib/libqpulse-internal.la $(NCURSES_LIBS) $(JANSSON_LIBS) $(LIBM)

dist_man_MANS += man/qptop.1
EXTRA_DIST += scripts/demo.sh viewer/bench-qptop.sh
