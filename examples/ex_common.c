/*
 * ex_common.c — the helpers of ex_common.h: clock, simulated latency, random
 * numbers, the stop flag and the command line of the example programs.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "ex_common.h"

/* Below this a wait spins; above it the thread sleeps and spins the rest. */
#define EX_SPIN_NS 100000u
/* What nanosleep overshoots by, roughly, with the 1 us timer slack that
 * ex_init() sets: the wake-up latency of an idle machine. */
#define EX_SLEEP_SLACK_NS 20000u
/* Above this a wait only sleeps. */
#define EX_SPIN_ALL_NS 2000000u

/* Set from a signal handler and read by every thread: a lock-free atomic
 * is both async-signal-safe and race-free. */
static atomic_int ex_stop;

static __thread uint64_t ex_rng;

uint64_t ex_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ex_spin_until(uint64_t end)
{
    while (ex_now_ns() < end) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();   /* be kind to the sibling hyper-thread */
#endif
    }
}

void ex_delay_ns(uint64_t ns)
{
    uint64_t end = ex_now_ns() + ns;
    if (ns > EX_SPIN_NS) {
        /* Long waits (a payment gateway) just sleep: their overshoot is noise. */
        uint64_t nap = ns > EX_SPIN_ALL_NS ? ns : ns - EX_SLEEP_SLACK_NS;
        struct timespec ts = { (time_t)(nap / 1000000000u), (long)(nap % 1000000000u) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    ex_spin_until(end);
}

void ex_sleep_until(uint64_t deadline_ns)
{
    struct timespec ts = { (time_t)(deadline_ns / 1000000000u),
                           (long)(deadline_ns % 1000000000u) };
    /* EINTR means a signal came: the caller looks at the stop flag. */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

uint64_t ex_rand(void)
{
    uint64_t x = ex_rng;
    if (x == 0) {
        /* Distinct per thread and per run; reproducibility is not a goal. */
        x = ex_now_ns() ^ ((uint64_t)(uintptr_t)&ex_rng << 17) ^ 0x9e3779b97f4a7c15u;
        if (x == 0)
            x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ex_rng = x;
    return x * 0x2545f4914f6cdd1du;
}

double ex_uniform(void)
{
    return (double)(ex_rand() >> 11) * 0x1.0p-53;
}

uint64_t ex_lognormal_ns(double median_ns, double sigma)
{
    /* Box-Muller; 1 - u keeps log() away from zero. */
    double u1 = 1.0 - ex_uniform(), u2 = ex_uniform();
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    return (uint64_t)(median_ns * exp(sigma * z));
}

static void ex_on_signal(int sig)
{
    (void)sig;
    atomic_store(&ex_stop, 1);
}

void ex_init(const char *prog)
{
    /* The default 50 us timer slack would make every simulated wait 50 us
     * too long; threads created later inherit the setting. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ex_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a sleeping main loop wakes up and sees the flag. */
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
        fprintf(stderr, "%s: init: %s\n", prog, strerror(errno));
        exit(1);
    }
}

int ex_stop_requested(void)
{
    return atomic_load_explicit(&ex_stop, memory_order_relaxed);
}

void ex_request_stop(void)
{
    atomic_store(&ex_stop, 1);
}

int ex_parse_positive(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

int ex_parse_seconds(const char *s, double *out)
{
    int r = ex_parse_positive(s, out);
    /* A day is plenty for a demo; beyond it the deadline arithmetic is silly. */
    if (r == 0 && *out > 86400)
        return -EINVAL;
    return r;
}

#define EX_OPTS_MAX 8

/* The value of option o, from optarg, into its number or flag; -EINVAL. */
static int ex_set_option(const struct ex_opt *o)
{
    if (!o->number) {
        *o->flag = 1;
        return 0;
    }
    double v;
    if (ex_parse_positive(optarg, &v) < 0 || v > o->max || (o->whole && v != floor(v)))
        return -EINVAL;
    *o->number = v;
    return 0;
}

/* 0 when argv is a good command line; -EINVAL. */
static int ex_parse(int argc, char **argv, const struct ex_opt *opts, size_t nopts,
                    double *seconds, void (*usage)(FILE *f))
{
    struct option longopts[EX_OPTS_MAX + 2];
    char shorts[2 * EX_OPTS_MAX + 2], *sp = shorts;
    size_t n = nopts < EX_OPTS_MAX ? nopts : EX_OPTS_MAX;
    for (size_t i = 0; i < n; i++) {
        longopts[i] = (struct option){ opts[i].name,
                                       opts[i].number ? required_argument : no_argument,
                                       NULL, opts[i].key };
        *sp++ = opts[i].key;
        if (opts[i].number)
            *sp++ = ':';
    }
    longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
    longopts[n + 1] = (struct option){ NULL, 0, NULL, 0 };
    *sp++ = 'h';
    *sp = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        size_t i = 0;
        while (i < n && opts[i].key != c)
            i++;
        if (i == n || ex_set_option(&opts[i]) < 0)
            return -EINVAL;
    }
    if (optind < argc && ex_parse_seconds(argv[optind++], seconds) < 0)
        return -EINVAL;
    return optind == argc ? 0 : -EINVAL;
}

void ex_parse_args(int argc, char **argv, const struct ex_opt *opts, size_t nopts,
                   double *seconds, void (*usage)(FILE *f))
{
    if (ex_parse(argc, argv, opts, nopts, seconds, usage) < 0) {
        usage(stderr);
        exit(2);
    }
}
