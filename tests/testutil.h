/*
 * testutil.h — small helpers the test programs share: a check that reports
 * and goes on, a reproducible random stream (uniform and normal), the
 * monotonic clock and a busy wait, a usage message, a comparison for sorting uint64_t
 * values, a stop flag set by SIGTERM and SIGINT, and the namespaces of
 * Criterion workers with the sweep of what they leave in /dev/shm.  Header-only, C and C++; include it as
 * "testutil.h" from tests/.
 */
#ifndef QPULSE_TESTUTIL_H
#define QPULSE_TESTUTIL_H

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* When cond is false: "PROG: message" (printf-style) on stderr, and failed
 * set to 1; the program goes on to its next check. */
#define TU_CHECK(failed, prog, cond, ...)                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, prog ": " __VA_ARGS__);                            \
            fputc('\n', stderr);                                               \
            (failed) = 1;                                                      \
        }                                                                      \
    } while (0)

/* "usage: <fmt>" on stderr; returns 2, the exit status of a test program
 * given arguments it does not take: `return tu_usage("prog N FILE");`. */
static inline int tu_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tu_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("usage: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* Uniform in [0, 1), xorshift64* on the state *s (any non-zero seed):
 * the same seed, the same stream. */
static inline double tu_u01(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Standard normal (Box-Muller) from the same stream. */
static inline double tu_gauss(uint64_t *s)
{
    double u = tu_u01(s), v = tu_u01(s);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v)   /* 2 pi v */;
}

/* qsort comparison of uint64_t values, ascending. */
static inline int tu_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t tu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy for ns nanoseconds (a sleep would add the scheduler's wake-up). */
static inline void tu_spin_ns(uint64_t ns)
{
    uint64_t end = tu_now_ns() + ns;
    while (tu_now_ns() < end)
        ;
}

/* Set once SIGTERM or SIGINT came, after tu_catch_stop_signals(): how a
 * producer that runs until it is told to stop learns that it is. */
static volatile sig_atomic_t tu_stop __attribute__((unused));

static inline void tu_on_stop_signal(int sig)
{
    (void)sig;
    tu_stop = 1;
}

/* SIGTERM and SIGINT set tu_stop instead of ending the process (children
 * forked later inherit this). */
static inline void tu_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tu_on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Sleeps until tu_stop is set. */
static inline void tu_wait_for_stop(void)
{
    while (!tu_stop)
        pause();
}

/* Removes the /dev/shm objects whose names start with prefix. */
static inline void tu_unlink_shm(const char *prefix)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            char path[512];
            snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
}

/* A Criterion worker's namespace, "BASE-RUNNER-WORKER" (its parent is the
 * runner), so that TU_SWEEP_SHM(BASE) finds what the workers left. */
static inline void tu_worker_ns(char *buf, size_t len, const char *base)
{
    snprintf(buf, len, "%s-%d-%d", base, (int)getppid(), (int)getpid());
}

/* In a Criterion program: after the last test, the runner removes the
 * /dev/shm objects of its workers' namespaces (tu_worker_ns), which a
 * worker that died before its .fini left behind. */
#define TU_SWEEP_SHM(base)                                                     \
    ReportHook(POST_ALL)(struct criterion_global_stats * tu_stats)             \
    {                                                                          \
        char tu_prefix[128];                                                   \
        (void)tu_stats;                                                        \
        snprintf(tu_prefix, sizeof tu_prefix, "qpulse.%s-%d-", base, (int)getpid()); \
        tu_unlink_shm(tu_prefix);                                              \
    }

#endif /* QPULSE_TESTUTIL_H */
