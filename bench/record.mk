## bench/record.mk: the cost of a recorded scope against the bare floor.
noinst_PROGRAMS += bench/bench_record
bench_bench_record_SOURCES = bench/bench_record.c
bench_bench_record_LDADD = lib/libqpulse-internal.la lib/libqpulse.la $(PTHREAD_LIBS) $(LIBM)

## What recording costs a process at its start: the first sample, and a
## short command under `qpulse run --hooks all` against the plain command.
noinst_PROGRAMS += bench/bench_start
bench_bench_start_SOURCES = bench/bench_start.c
bench_bench_start_LDADD = lib/libqpulse.la $(PTHREAD_LIBS)
