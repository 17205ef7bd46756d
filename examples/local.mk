## examples/: the demo programs (a trading loop, a web service, a C++ order
## book), and a build
## of the trading one with -DQPULSE_DISABLE that links without libqpulse.

EX_COMMON_SOURCES = examples/ex_common.c examples/ex_common.h
# Real executables, not libtool wrapper scripts: they find libqpulse in the
# build tree by their rpath, so `_build/examples/trading` runs as it is, and
# under gdb, perf, valgrind or `qpulse run` too, with no LD_LIBRARY_PATH.
EX_NO_INSTALL = -no-install

noinst_PROGRAMS += examples/trading examples/ecommerce examples/trading-disabled

examples_trading_SOURCES = examples/trading.c examples/trading_ops.c \
	examples/trading_ops.h $(EX_COMMON_SOURCES)
examples_trading_LDADD = lib/libqpulse.la $(LIBM)
examples_trading_LDFLAGS = $(AM_LDFLAGS) $(EX_NO_INSTALL)

examples_ecommerce_SOURCES = examples/ecommerce.c examples/ecommerce_ops.h \
	$(EX_COMMON_SOURCES)
examples_ecommerce_LDADD = lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)
examples_ecommerce_LDFLAGS = $(AM_LDFLAGS) $(EX_NO_INSTALL)

# The same trading program compiled with every qpulse form turned off: it
# must build and link with no libqpulse at all (tests/examples-smoke.sh also
# checks that the binary does not ask for it).
examples_trading_disabled_SOURCES = $(examples_trading_SOURCES)
examples_trading_disabled_CPPFLAGS = $(AM_CPPFLAGS) -DQPULSE_DISABLE
examples_trading_disabled_LDADD = $(LIBM)
examples_trading_disabled_LDFLAGS = $(AM_LDFLAGS) $(EX_NO_INSTALL)

# The C++ example: RAII scopes and timers, QPULSE_PROFILE on move-only
# results, a scope left by an exception.
noinst_PROGRAMS += examples/orderbook
examples_orderbook_SOURCES = examples/orderbook.cpp
examples_orderbook_LDADD = lib/libqpulse.la $(PTHREAD_LIBS)

EXTRA_DIST += examples/README.md
TESTS += tests/examples-smoke.sh
EXTRA_DIST += tests/examples-smoke.sh
