/*
 * bench.h — the few helpers the benchmarks share: the monotonic clock in
 * nanoseconds, the median of a sample, a reproducible random stream, the
 * loops that time a scope and its floor, and starting the daemon under
 * test.  Header-only (each benchmark is one program).
 */
#ifndef QPULSE_BENCH_H
#define QPULSE_BENCH_H

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The floor a recorded scope is measured against: two rdtsc, one 16-byte
 * store into a ring and a release store of its head - what a scope must
 * do at the least.  Returns ns per iteration over BENCH_BATCH. */
#define BENCH_BATCH 16384
#define BENCH_FLOOR_RECORDS 65536
struct bench_floor {
    uint64_t head __attribute__((aligned(128)));
    uint64_t local;
    struct { uint64_t start, dur; } rec[BENCH_FLOOR_RECORDS] __attribute__((aligned(128)));
};

#if defined(__x86_64__)
static __attribute__((noinline, unused)) double bench_run_floor(struct bench_floor *fr)
{
    double t0 = bench_now_ns();
    for (int i = 0; i < BENCH_BATCH; i++) {
        uint64_t a = __builtin_ia32_rdtsc();
        __asm__ volatile("" ::: "memory");
        uint64_t b = __builtin_ia32_rdtsc();
        uint64_t h = fr->local;
        fr->rec[h & (BENCH_FLOOR_RECORDS - 1)].start = a;
        fr->rec[h & (BENCH_FLOOR_RECORDS - 1)].dur = b - a;
        fr->local = h + 1;
        __atomic_store_n(&fr->head, h + 1, __ATOMIC_RELEASE);
    }
    return (bench_now_ns() - t0) / BENCH_BATCH;
}
#endif

/* Defines `static double fn(void)`: ns per iteration of an empty
 * QPULSE_SCOPE(set, op) over BENCH_BATCH, what a recorded scope costs its
 * caller.  The file that uses it includes qpulse.h and defines the set. */
#define BENCH_DEFINE_SCOPE_RUN(fn, set, op)                                  \
    static __attribute__((noinline)) double fn(void)                         \
    {                                                                        \
        double t0 = bench_now_ns();                                          \
        for (int i = 0; i < BENCH_BATCH; i++) {                              \
            QPULSE_SCOPE(set, op);                                           \
            __asm__ volatile("" ::: "memory");                               \
        }                                                                    \
        return (bench_now_ns() - t0) / BENCH_BATCH;                          \
    }

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v[0..n) and returns its median (the upper one when n is even). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

/* xorshift64 on the state *s: from BENCH_RNG_SEED, the same stream in
 * every run. */
#define BENCH_RNG_SEED 88172645463325252ull
static inline uint64_t bench_rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Uniform in [0, 1), from bench_rnd(s). */
static inline double bench_u01(uint64_t *s)
{
    return (double)(bench_rnd(s) >> 11) / 9007199254740992.0;
}

/* Gives this run a namespace of its own, "bench-NAME-PID", and a runtime
 * directory, /tmp/qpulse-bench-PID (made here, removed by the caller with
 * bench_remove_rundir), both exported for the daemon and the producers;
 * *ns and *rundir point at them. */
static inline void bench_own_ns(const char *name, const char **ns, const char **rundir)
{
    static char nsbuf[64], dirbuf[128];
    snprintf(nsbuf, sizeof nsbuf, "bench-%s-%ld", name, (long)getpid());
    snprintf(dirbuf, sizeof dirbuf, "/tmp/qpulse-bench-%ld", (long)getpid());
    mkdir(dirbuf, 0700);
    setenv("QPULSE_NS", nsbuf, 1);
    setenv("QPULSE_RUNTIME_DIR", dirbuf, 1);
    *ns = nsbuf;
    *rundir = dirbuf;
}

/* Removes the runtime directory of bench_own_ns() and what the daemons
 * left in it (a pid file, saved statistics). */
static inline void bench_remove_rundir(const char *rundir)
{
    DIR *d = opendir(rundir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", rundir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(rundir);
}

/* Runs argv (argv[0] the daemon's path) and waits, up to tries x 20 ms,
 * until the daemon of namespace ns answers PING: its pid, or -1 (the
 * process killed) when it did not. */
static inline pid_t bench_start_daemon(char *const argv[], const char *ns, int tries)
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    char *out = NULL;
    size_t len;
    for (int i = 0; i < tries; i++) {
        if (qp_client_request(ns, "PING", &out, &len, 1000) == 0) {
            free(out);
            return pid;
        }
        usleep(20000);
    }
    kill(pid, SIGKILL);
    return -1;
}

#endif /* QPULSE_BENCH_H */
