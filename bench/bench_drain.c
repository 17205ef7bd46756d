/*
 * bench_drain.c — qpulsed's throughput, measured on the real daemon:
 *
 *  1. drain rate: THREADS producer threads (this process) each record
 *     SAMPLES samples into 1 Mi-record rings as fast as they can, ROUNDS
 *     times; the daemon's CPU time (/proc/<pid>/schedstat) per sample
 *     aggregated gives samples per second per core (all its threads'
 *     CPU).  Target >= 20 M/s.
 *  2. drops at 5 M samples/s: one producer (a child, default ring size)
 *     records at 5 M/s, paced, for SECONDS; the drops are its own count.
 *     Target 0.
 *  3. drain threads: PRODUCERS processes record flat out (one thread
 *     each, 1 Mi-record rings) for SECONDS under a daemon started with
 *     --threads 1, then --threads N; the samples aggregated per second of
 *     wall time (snapshots at both ends) and the daemon's CPU, and the
 *     ratio N threads / 1 thread.
 *  4. a producer's scope cost while the daemon drains it: a child process
 *     (default ring) alternates batches of the bare floor (as in
 *     bench_record: two rdtsc, a 16-byte store, a release store; no
 *     consumer) and of QPULSE_SCOPE, flat out and paced (bursts, about
 *     4 M scopes/s on average), with 1 and 2 threads; the median of each
 *     as a ratio to the floor.  Target <= 1.25.
 *  5. the same without the daemon, a consumer thread draining the
 *     segment three ways: as soon as anything is there (right behind the
 *     writer), only once a block of 1/8 of a ring waits, every 1 ms.
 *
 *   bench_drain [-d QPULSED] [-t THREADS] [-n SAMPLES] [-r ROUNDS] [-s SECONDS]
 *               [--threads N] [-P PRODUCERS] [-p PHASES]
 *
 * PHASES: which phases to run, e.g. "345" (default all).
 *
 * Prints the figures and their ratio to the targets.  Not part of make check
 * (it measures speed); run it on an otherwise idle machine.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "common.h"
#include "reader.h"
#include "qpulse.h"
#include "snapshot.h"

#define BENCH_OPS(X)                                      \
    X(A, "bench", "first op", 1) X(B, "bench", "second op", 1) \
    X(C, "bench", "third op", 1) X(D, "bench", "fourth op", 1)
QPULSE_DECLARE_SET(bench, BENCH_OPS)
QPULSE_DEFINE_SET(bench, BENCH_OPS)

static const char *ns;
static unsigned long samples = 1000000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of pid in seconds, all its threads (the scheduler's
 * nanosecond account). */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    unsigned long long total = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sp[300];
        snprintf(sp, sizeof sp, "/proc/%ld/task/%s/schedstat", (long)pid, de->d_name);
        FILE *f = fopen(sp, "r");
        unsigned long long ns_run = 0;
        if (f) {
            if (fscanf(f, "%llu", &ns_run) != 1)
                ns_run = 0;
            fclose(f);
        }
        total += ns_run;
    }
    if (d)
        closedir(d);
    return (double)total / 1e9;
}

/* Samples the daemon aggregated for process pid, or for every process
 * when pid is 0 (cumulative), or -1; *dropped (if not NULL): pid's drops. */
static long long aggregated(pid_t pid, unsigned long long *dropped)
{
    char *out = NULL;
    size_t len;
    if (qp_client_request(ns, "SNAPSHOT cumulative", &out, &len, 10000) < 0)
        return -1;
    char err[128];
    qp_snapshot_t *s = qp_snapshot_parse(out, len, err, sizeof err);
    free(out);
    if (!s)
        return -1;
    long long n = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        if (pid && s->procs[i].pid != pid)
            continue;
        for (size_t j = 0; j < s->procs[i].nops; j++)
            n += (long long)s->procs[i].ops[j].count;
        if (dropped)
            *dropped = s->procs[i].dropped;
    }
    qp_snapshot_free(s);
    return n;
}

/* Records the i-th sample of a producer: ops A, B, C, D in turn, a
 * duration from 200 ns to 65 us drawn from the generator state *x. */
static inline void record_one(uint64_t *x, unsigned long i)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t v = 200 + ((*x >> 33) & 0xffff);
    switch (i & 3) {
    case 0: QPULSE_RECORD(bench, A, v); break;
    case 1: QPULSE_RECORD(bench, B, v); break;
    case 2: QPULSE_RECORD(bench, C, v); break;
    default: QPULSE_RECORD(bench, D, v); break;
    }
}

static void *producer(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t x = 1000 + id;
    for (unsigned long i = 0; i < samples; i++)
        record_one(&x, i);
    return NULL;
}

static pid_t start_daemon_t(const char *path, const char *rundir, unsigned dthreads)
{
    char tb[16];
    snprintf(tb, sizeof tb, "%u", dthreads);
    char *argv[] = { (char *)path, "--ns", (char *)ns, "--threads", tb, NULL };
    if (!dthreads)
        argv[3] = NULL;   /* the daemon's own default */
    pid_t pid = bench_start_daemon(argv, ns, 200);
    if (pid < 0) {
        fprintf(stderr, "bench_drain: %s did not start (runtime dir %s)\n", path, rundir);
        exit(1);
    }
    return pid;
}

static pid_t start_daemon(const char *path, const char *rundir)
{
    return start_daemon_t(path, rundir, 0);
}

static void stop_daemon(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
}

/* ---- phase 3: drain threads ---------------------------------------- */

/* A producer process: records flat out until `until` (monotonic s). */
static void flat_child(double until, unsigned id)
{
    uint64_t x = 1000 + id;
    unsigned long i = 0;
    while (now_s() < until) {
        for (int k = 0; k < 4096; k++, i++)
            record_one(&x, i);
    }
    qpulse_shutdown();
    _exit(0);
}

/* Aggregated samples per second with `dthreads` drain threads and
 * `nprod` flat-out producer processes over `secs`; *cpu_per_s: the
 * daemon's CPU seconds per second. */
static double drain_rate(const char *path, const char *rundir, unsigned dthreads, unsigned nprod,
                         double secs, double *cpu_per_s)
{
    pid_t d = start_daemon_t(path, rundir, dthreads);
    const double warm = 0.5;
    double until = now_s() + warm + secs + 0.3;
    pid_t kids[64];
    for (unsigned i = 0; i < nprod && i < 64; i++)
        if ((kids[i] = fork()) == 0)
            flat_child(until, i);
    usleep((useconds_t)(warm * 1e6));
    long long a0 = aggregated(0, NULL);
    double t0 = now_s(), c0 = cpu_s(d);
    usleep((useconds_t)(secs * 1e6));
    long long a1 = aggregated(0, NULL);
    double t1 = now_s(), c1 = cpu_s(d);
    for (unsigned i = 0; i < nprod && i < 64; i++) {
        int st;
        waitpid(kids[i], &st, 0);
    }
    stop_daemon(d);
    *cpu_per_s = (c1 - c0) / (t1 - t0);
    return (double)(a1 - a0) / (t1 - t0);
}

/* ---- phases 4 and 5: a producer's scope cost ------------------------ */

BENCH_DEFINE_SCOPE_RUN(run_scope, bench, A)

#define COST_ROUNDS 301
struct cost_thread {
    double rate;                  /* scopes/s on average, 0: flat out */
    double fl[COST_ROUNDS], sc[COST_ROUNDS];
};

static void *cost_worker(void *arg)
{
    struct cost_thread *c = arg;
    struct bench_floor *fr = aligned_alloc(4096, sizeof *fr);
    memset(fr, 0, sizeof *fr);
    for (int w = 0; w < 20; w++) {
        bench_run_floor(fr);
        run_scope();
    }
    double t0 = now_s();
    for (int r = 0; r < COST_ROUNDS; r++) {
        c->fl[r] = bench_run_floor(fr);
        c->sc[r] = run_scope();
        if (c->rate > 0) {   /* a burst, then quiet until the average is the rate */
            double due = t0 + (double)(r + 1) * BENCH_BATCH / c->rate;
            while (now_s() < due)
                usleep(200);
        }
    }
    free(fr);
    return NULL;
}

/* In this process: nth threads measure floor and scope (median, ns);
 * returns scope / floor, the worst of the threads. */
static double scope_cost(unsigned nth, double rate, double *floor_ns, double *scope_ns)
{
    struct cost_thread *c = calloc(nth, sizeof *c);
    pthread_t th[8];
    for (unsigned i = 0; i < nth; i++) {
        c[i].rate = rate;
        pthread_create(&th[i], NULL, cost_worker, &c[i]);
    }
    double worst = 0;
    *floor_ns = *scope_ns = 0;
    for (unsigned i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        double f = bench_median(c[i].fl, COST_ROUNDS), sc = bench_median(c[i].sc, COST_ROUNDS);
        *floor_ns += f / nth;
        *scope_ns += sc / nth;
        if (sc / f > worst)
            worst = sc / f;
    }
    free(c);
    return worst;
}

/* Phase 4, in a child: its own segment, drained by the daemon. */
static int cost_child(void)
{
    unsetenv("QPULSE_RING_RECORDS");
    static const struct { unsigned nth; double rate; const char *what; } runs[] = {
        { 1, 0, "1 thread, flat out" },
        { 1, 4e6, "1 thread, paced 4 M/s" },
        { 2, 0, "2 threads, flat out" },
        { 2, 2e6, "2 threads, paced 2 M/s each" },
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        double f, sc;
        uint64_t d0 = qpulse_dropped();
        double worst = scope_cost(runs[i].nth, runs[i].rate, &f, &sc);
        printf("  %-28s floor %6.2f ns  scope %6.2f ns  ratio %.3f (worst thread %.3f, "
               "target <= 1.25), %llu dropped\n",
               runs[i].what, f, sc, sc / f, worst,
               (unsigned long long)(qpulse_dropped() - d0));
        fflush(stdout);
    }
    qpulse_shutdown();
    return 0;
}

/* Phase 5: a consumer thread in this process drains its own segment. */
static volatile int consumer_stop;
static int consumer_mode;          /* 0 tight, 1 blocks of 1/8 ring, 2 every 1 ms */
static void discard(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ev;
    *(uint64_t *)ctx += n;
}

static void *consumer(void *arg)
{
    qp_reader_t *r = arg;
    uint64_t n = 0;
    const qp_proc_info_t *in = qp_reader_info(r);
    uint64_t block = in->ring_records / 8;
    while (!__atomic_load_n(&consumer_stop, __ATOMIC_ACQUIRE)) {
        if (consumer_mode == 2) {
            usleep(1000);
        } else if (consumer_mode == 1) {
            if (qp_reader_pending(r) < block) {
                __builtin_ia32_pause();
                continue;
            }
        }
        qp_reader_drain(r, discard, &n, SIZE_MAX);
    }
    qp_reader_drain(r, discard, &n, SIZE_MAX);
    return NULL;
}

static int consumer_child(void)
{
    unsetenv("QPULSE_RING_RECORDS");
    /* Run after the daemons stopped: nobody else drains the segment. */
    QPULSE_RECORD(bench, A, 1);    /* creates the segment */
    char name[128], err[256];
    qp_seg_name(name, sizeof name, ns, getpid(), qp_proc_starttime(getpid()), 0);
    qp_reader_t *r;
    if (qp_reader_open(&r, name, QP_READER_CONSUME, err, sizeof err) < 0) {
        fprintf(stderr, "bench_drain: cannot open own segment %s: %s\n", name, err);
        return 1;
    }
    static const char *const modes[] = { "right behind the writer", "blocks of 1/8 ring",
                                         "every 1 ms" };
    for (int m = 0; m < 3; m++) {
        consumer_mode = m;
        consumer_stop = 0;
        pthread_t th;
        pthread_create(&th, NULL, consumer, r);
        double f, sc;
        uint64_t d0 = qpulse_dropped();
        double worst = scope_cost(1, 0, &f, &sc);
        __atomic_store_n(&consumer_stop, 1, __ATOMIC_RELEASE);
        pthread_join(th, NULL);
        printf("  consumer %-24s floor %6.2f ns  scope %6.2f ns  ratio %.3f (%.3f), "
               "%llu dropped\n", modes[m], f, sc, sc / f, worst,
               (unsigned long long)(qpulse_dropped() - d0));
        fflush(stdout);
    }
    qp_reader_close(r);
    qpulse_shutdown();
    shm_unlink(name);
    return 0;
}

/* Phase 2, in a child with the default ring size: 5 M samples/s, paced. */
static int paced_child(double rate, double secs)
{
    unsetenv("QPULSE_RING_RECORDS");
    double t0 = now_s();
    unsigned long n = 0;
    uint64_t total = (uint64_t)(rate * secs);
    while (n < total) {
        for (int k = 0; k < 256; k++, n++)
            QPULSE_RECORD(bench, A, 1000 + (n & 1023));
        double due = t0 + (double)n / rate;
        while (now_s() < due)
            ;   /* spin: sleeping would burst */
    }
    double el = now_s() - t0;
    printf("  producer: %lu samples in %.2f s = %.2f M/s, recorded %llu, dropped %llu\n", n, el,
           (double)n / el / 1e6, (unsigned long long)qpulse_recorded(),
           (unsigned long long)qpulse_dropped());
    fflush(stdout);
    return qpulse_dropped() ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *daemon_path = "daemon/qpulsed";
    unsigned threads = 4, rounds = 5, dthreads = 2, nprod = 2;
    const char *phases = "12345";
    double secs = 3;
    int c;
    static const struct option lopts[] = { { "threads", required_argument, NULL, 'T' },
                                           { NULL, 0, NULL, 0 } };
    while ((c = getopt_long(argc, argv, "d:t:n:r:s:P:p:", lopts, NULL)) != -1) {
        switch (c) {
        case 'T': dthreads = (unsigned)atoi(optarg); break;
        case 'P': nprod = (unsigned)atoi(optarg); break;
        case 'p': phases = optarg; break;
        case 'd': daemon_path = optarg; break;
        case 't': threads = (unsigned)atoi(optarg); break;
        case 'n': samples = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = (unsigned)atoi(optarg); break;
        case 's': secs = atof(optarg); break;
        default:
            fprintf(stderr, "usage: bench_drain [-d QPULSED] [-t THREADS] [-n SAMPLES] "
                            "[-r ROUNDS] [-s SECONDS] [--threads N] [-P PRODUCERS] "
                            "[-p PHASES]\n");
            return 2;
        }
    }
    const char *rundir;
    bench_own_ns("drain", &ns, &rundir);
    setenv("QPULSE_RING_RECORDS", "1048576", 1);
    char tmax[16];
    snprintf(tmax, sizeof tmax, "%u", threads + 2);
    setenv("QPULSE_THREADS", tmax, 1);
    pid_t dpid = start_daemon(daemon_path, rundir);
    int st;

    /* 1. drain rate */
    if (strchr(phases, '1')) {
    printf("qpulsed drain benchmark: %u producer threads x %lu samples x %u rounds\n", threads,
           samples, rounds);
    double cpu0 = cpu_s(dpid), w0 = now_s();
    long long want = 0, got = 0;
    for (unsigned r = 0; r < rounds; r++) {
        pthread_t t[64];
        for (unsigned i = 0; i < threads && i < 64; i++)
            pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)i);
        for (unsigned i = 0; i < threads && i < 64; i++)
            pthread_join(t[i], NULL);
        want += (long long)threads * (long long)samples;
        for (int k = 0; k < 1000 && (got = aggregated(getpid(), NULL)) < want; k++)
            usleep(5000);
    }
    double cpu = cpu_s(dpid) - cpu0, wall = now_s() - w0;
    unsigned long long dropped = qpulse_dropped();
    double rate = (double)got / cpu;
    printf("  aggregated %lld of %lld recorded (%llu dropped by the producer)\n", got,
           (long long)qpulse_recorded(), dropped);
    printf("  daemon CPU %.3f s over %.3f s wall: %.1f M samples/s per core; "
           "ratio to the 20 M/s target: %.2f\n",
           cpu, wall, rate / 1e6, rate / 20e6);
    }

    /* 2. drops at 5 M/s with the default ring */
    if (strchr(phases, '2')) {
    printf("one producer at 5 M samples/s for %.0f s, default settings:\n", secs);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(paced_child(5e6, secs));
    waitpid(child, &st, 0);
    unsigned long long cd = 0;
    long long cgot = -1;
    for (int k = 0; k < 400; k++) {   /* until the daemon has it all */
        cgot = aggregated(child, &cd);
        if (cgot >= (long long)(5e6 * secs) - (long long)cd)
            break;
        usleep(10000);
    }
    printf("  daemon aggregated %lld, dropped %llu (target 0): %s\n", cgot, cd,
           cd == 0 ? "met" : "MISSED");
    }

    /* 4. scope cost with the daemon draining (1 drain thread's daemon is
     * the one started above unless -d names another). */
    if (strchr(phases, '4')) {
        printf("a producer's scope cost while qpulsed drains it (%d rounds of %d scopes, "
               "median):\n", COST_ROUNDS, BENCH_BATCH);
        fflush(stdout);
        pid_t k = fork();
        if (k == 0)
            _exit(cost_child());
        waitpid(k, &st, 0);
    }

    /* 3. memory: the daemon's peak resident set against its flight
     * recorder's bound (qpulsed --history-mb, default 64 MiB) */
    char sp[64], line[256];
    long hwm_kb = -1, rss_kb = -1;
    snprintf(sp, sizeof sp, "/proc/%ld/status", (long)dpid);
    FILE *sf = fopen(sp, "r");
    while (sf && fgets(line, sizeof line, sf)) {
        sscanf(line, "VmHWM: %ld", &hwm_kb);
        sscanf(line, "VmRSS: %ld", &rss_kb);
    }
    if (sf)
        fclose(sf);
    printf("memory: daemon peak RSS %.1f MiB (now %.1f MiB); the flight recorder's bound is "
           "64 MiB unless -d names a daemon started with another --history-mb\n",
           (double)hwm_kb / 1024, (double)rss_kb / 1024);

    stop_daemon(dpid);

    /* 3. drain threads */
    if (strchr(phases, '3')) {
        printf("drain threads: %u producer processes flat out for %.0f s, %ld online cores\n",
               nprod, secs, sysconf(_SC_NPROCESSORS_ONLN));
        double cpu1, cpun;
        double r1 = drain_rate(daemon_path, rundir, 1, nprod, secs, &cpu1);
        printf("  --threads 1: %.1f M samples/s aggregated, daemon CPU %.2f cores\n", r1 / 1e6,
               cpu1);
        fflush(stdout);
        double rn = drain_rate(daemon_path, rundir, dthreads, nprod, secs, &cpun);
        printf("  --threads %u: %.1f M samples/s aggregated, daemon CPU %.2f cores\n", dthreads,
               rn / 1e6, cpun);
        printf("  ratio --threads %u / --threads 1: %.2f\n", dthreads, rn / r1);
        fflush(stdout);
    }

    /* 5. consumer strategies, no daemon */
    if (strchr(phases, '5')) {
        printf("the same scope, 1 thread flat out, a consumer thread draining it:\n");
        fflush(stdout);
        pid_t k = fork();
        if (k == 0)
            _exit(consumer_child());
        waitpid(k, &st, 0);
    }

    bench_remove_rundir(rundir);
    return 0;
}
