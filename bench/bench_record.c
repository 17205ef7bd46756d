/*
 * bench_record.c — what a recorded scope costs, as a ratio against the bare
 * floor measured in the same process:
 *
 *   floor  = two rdtsc + one 16-byte store + a release store of the head of a
 *            per-thread ring (the least any out-of-process recorder can do)
 *   scope  = QPULSE_SCOPE(set, Op) around an empty block
 *
 * Both write batches of BENCH_BATCH records into rings that are emptied between
 * batches (untimed), so neither ever sees a full ring, and batches of the
 * two kinds alternate so that drift on a noisy machine hits both alike.  The
 * figure is the median over rounds.  Then the same with two threads
 * recording at once (per-thread cost vs one thread: no shared cache line on
 * the hot path), and the cost of a scope with QPULSE_DISABLE-style run-time
 * disabling (one predicted branch).
 *
 * Targets: scope/floor <= 1.25; two threads / one thread <= 1.3.
 * Usage: bench_record [ROUNDS [THREADS]]   (THREADS for the multi-thread phase, default 2)
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"
#include "qpulse.h"
#include "reader.h"

#define BENCH_OPS(X) X(Empty, "bench", "an empty scope", 1)
QPULSE_DECLARE_SET(bench, BENCH_OPS)
QPULSE_DEFINE_SET(bench, BENCH_OPS)

BENCH_DEFINE_SCOPE_RUN(run_scope, bench, Empty)

static qp_reader_t *reader;
static void discard(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ctx; (void)ev; (void)n;
}

static void drain(void)
{
    if (!reader) {
        char name[128], err[256];
        qp_seg_name(name, sizeof name, qp_ns_from_env(), getpid(), qp_proc_starttime(getpid()), 0);
        if (qp_reader_open(&reader, name, QP_READER_CONSUME, err, sizeof err) < 0) {
            fprintf(stderr, "bench_record: cannot open own segment %s: %s\n", name, err);
            exit(1);
        }
    }
    qp_reader_drain(reader, discard, NULL, SIZE_MAX);
}

/* Two-thread phase: each worker alternates floor and scope batches in step
 * with the other, the main thread drains between steps. */
static int rounds;
static pthread_barrier_t bar;
struct worker { struct bench_floor *fr; double *fl, *sc; };

static void *worker(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(&bar);
        w->fl[r] = bench_run_floor(w->fr);
        pthread_barrier_wait(&bar);
        w->sc[r] = run_scope();
        pthread_barrier_wait(&bar);   /* main drains now */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atoi(argv[1]) : 301;
    int nth = argc > 2 ? atoi(argv[2]) : 2;
    if (nth < 2 || nth > 60)
        nth = 2;
    if (rounds < 11)
        rounds = 11;
    char ns[64];
    snprintf(ns, sizeof ns, "bench-rec-%ld", (long)getpid());
    setenv("QPULSE_NS", ns, 1);

    struct bench_floor *fr = aligned_alloc(4096, sizeof *fr);
    memset(fr, 0, sizeof *fr);
    double *fl = calloc((size_t)rounds, sizeof *fl), *sc = calloc((size_t)rounds, sizeof *sc);
    double *dis = calloc((size_t)rounds, sizeof *dis);

    run_scope();   /* first sample: creates the segment, claims the slot */
    drain();
    for (int w = 0; w < 20; w++) {   /* warm up */
        bench_run_floor(fr);
        run_scope();
        drain();
    }
    for (int r = 0; r < rounds; r++) {
        fl[r] = bench_run_floor(fr);
        sc[r] = run_scope();
        drain();
    }
    double f1 = bench_median(fl, rounds), s1 = bench_median(sc, rounds);

    qpulse__enabled = 0;   /* what QPULSE_DISABLE=1 does at load */
    for (int r = 0; r < rounds; r++)
        dis[r] = run_scope();
    qpulse__enabled = 1;
    double d1 = bench_median(dis, rounds);

    /* nth threads at once. */
    pthread_barrier_init(&bar, NULL, (unsigned)nth + 1);
    struct worker w[60];
    pthread_t th[60];
    for (int i = 0; i < nth; i++) {
        w[i].fr = aligned_alloc(4096, sizeof *fr);
        memset(w[i].fr, 0, sizeof *fr);
        w[i].fl = calloc((size_t)rounds, sizeof(double));
        w[i].sc = calloc((size_t)rounds, sizeof(double));
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
        drain();
    }
    double s2 = 0, f2 = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        s2 += bench_median(w[i].sc, rounds) / nth;
        f2 += bench_median(w[i].fl, rounds) / nth;
    }

    printf("bench_record: %d rounds of %d records, clock %s, %lu dropped\n", rounds, BENCH_BATCH,
           qpulse__use_tsc ? "tsc" : "monotonic", (unsigned long)qpulse_dropped());
    printf("  floor (2x rdtsc + 16 B store + release)  1 thread   %6.2f ns\n", f1);
    printf("  QPULSE_SCOPE                              1 thread   %6.2f ns   ratio %.3f  (target <= 1.25)\n",
           s1, s1 / f1);
    printf("  QPULSE_SCOPE, recording off (QPULSE_DISABLE=1)       %6.2f ns   ratio %.3f to floor\n",
           d1, d1 / f1);
    printf("  floor                                     %2d threads %6.2f ns   ratio %.3f to 1 thread\n",
           nth, f2, f2 / f1);
    printf("  QPULSE_SCOPE                              %2d threads %6.2f ns   ratio %.3f to 1 thread (target <= 1.3)\n",
           nth, s2, s2 / s1);
    qp_reader_close(reader);
    qpulse_shutdown();
    return 0;
}
