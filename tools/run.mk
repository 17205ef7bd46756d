## tools/run.mk: qpulse run.  The installed preload library's
## path is compiled in; the build tree's is found next to the binary.
## (Added to CFLAGS with +=: tools/local.mk owns the target's variables.)
tools_qpulse_CFLAGS += -I$(top_srcdir)/preload \
	-DQP_PRELOAD_INSTALLED='"$(libdir)/libqpulse-preload.so"'
