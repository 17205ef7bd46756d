## bench/preload.mk: the cost libqpulse-preload adds to a hooked libc call,
## as ratios against the plain call in the same run (bench/bench_preload.c).
noinst_PROGRAMS += bench/bench_preload
bench_bench_preload_SOURCES = bench/bench_preload.c
bench_bench_preload_LDADD = lib/libqpulse-internal.la $(PTHREAD_LIBS) $(LIBM)
