## bench/daemon.mk: qpulsed's drain throughput, drops at 5 M samples/s, drain threads
## (1 vs --threads N) and a producer's scope cost while it is drained
## (run: bench/bench_drain -d daemon/qpulsed from the build directory).
noinst_PROGRAMS += bench/bench_drain
bench_bench_drain_SOURCES = bench/bench_drain.c
bench_bench_drain_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(JANSSON_LIBS) \
	$(PTHREAD_LIBS) $(LIBM)

## On the daemon's statistics core alone: bench_window_mem, its memory
## (100 processes x 50 ops, 10 s window); bench_slowest, the flight recorder
## and slowest samples: exactness with injected outliers, cost per sample
## against the statistics alone, memory.
noinst_PROGRAMS += bench/bench_window_mem bench/bench_slowest
bench_bench_window_mem_SOURCES = bench/bench_window_mem.c $(DAEMON_STATS_SOURCES)
bench_bench_window_mem_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
bench_bench_window_mem_LDADD = lib/libqpulse-internal.la $(LIBM)
bench_bench_slowest_SOURCES = bench/bench_slowest.c $(DAEMON_STATS_SOURCES)
bench_bench_slowest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
bench_bench_slowest_LDADD = lib/libqpulse-internal.la $(LIBM)

## The same with real producers: bench/mem_real.sh BUILDDIR [PROCS] [RATE] [SECONDS].
noinst_PROGRAMS += bench/mem_prod
bench_mem_prod_SOURCES = bench/mem_prod.c
bench_mem_prod_LDADD = lib/libqpulse.la $(LIBM)
EXTRA_DIST += bench/mem_real.sh

## What an exited (retained) process costs against a live one, with 1000
## short `qpulse run` processes: bench/retain_mem.sh BUILDDIR [N] [OPTIONS].
EXTRA_DIST += bench/retain_mem.sh

## Daemon CPU and memory against processes x operations x rate, with real
## producers: bench/daemon_cost.sh BUILDDIR [SECONDS] [PROCSxRATE ...].
EXTRA_DIST += bench/daemon_cost.sh

## How soon the daemon attaches to a new process (run: bench/bench_attach
## -d daemon/qpulsed from the build directory).
noinst_PROGRAMS += bench/bench_attach
bench_bench_attach_SOURCES = bench/bench_attach.c
bench_bench_attach_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(PTHREAD_LIBS)
