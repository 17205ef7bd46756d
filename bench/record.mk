## bench/record.mk: the cost of a recorded scope against the bare floor.
noinst_PROGRAMS += bench/bench_record
bench_bench_record_SOURCES = bench/bench_record.c
bench_bench_record_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)
