## bench/daemon.mk: qpulsed's drain throughput and drops at 5 M samples/s
## (run: bench/bench_drain -d daemon/qpulsed from the build directory).
noinst_PROGRAMS += bench/bench_drain
bench_bench_drain_SOURCES = bench/bench_drain.c
bench_bench_drain_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(JANSSON_LIBS) \
	$(PTHREAD_LIBS) $(LIBM)
