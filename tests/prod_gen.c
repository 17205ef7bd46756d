/*
 * prod_gen.c — an instrumented test producer for qpulsed's tests and
 * benchmark: THREADS threads each record SAMPLES durations drawn from a
 * chosen distribution with QPULSE_RECORD (so the daemon must see exactly
 * these values), optionally nested inside a scope, in phases separated by
 * SIGUSR1, and it reports what it recorded.
 *
 *   prod_gen [-t THREADS] [-n SAMPLES] [-D DIST] [-S SEED] [-o FILE]
 *            [-p PHASES] [-m MULT] [-r RATE] [-N] [-k] [-q]
 *
 *   DIST  const:NS | uniform:LO:HI | lognormal:MEDIAN:SIGMA |
 *         bimodal:FAST:SLOW[:PCT] (PCT % slow, default 1, each +-10 %) |
 *         loguniform:LO:HI (log-uniform) | extremes (1 ns and 1 h)
 *   -o    write every recorded value to FILE, one per line
 *   -p    record SAMPLES per thread PHASES times; between phases print
 *         "phase K" and wait for SIGUSR1
 *   -r    at most RATE samples per second per thread (paced)
 *   -m    multiply the values of phase K by MULT^K
 *   -N    record each sample inside QPULSE_SCOPE(gen, Outer): Outer gets
 *         child Work
 *   -k    after the last phase, print "done" and sleep until killed
 *   At exit prints "recorded=N dropped=M" (the library's own counters).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qpulse.h"
#include "testutil.h"

#define GEN_OPS(X)                                                  \
    X(Work, "compute", "Generated work of a known duration", 1)     \
    X(Outer, "compute", "Encloses Work when run with -N", 2)        \
    X(Other, "misc", "Recorded once by every thread", 3)

QPULSE_DECLARE_SET(gen, GEN_OPS)
QPULSE_DEFINE_SET(gen, GEN_OPS)

enum dist_kind { D_CONST, D_UNIFORM, D_LOGNORMAL, D_BIMODAL, D_LOGUNIFORM, D_EXTREMES };

static struct {
    unsigned threads;
    unsigned long samples;
    enum dist_kind dist;
    double a, b, c;
    unsigned seed;
    const char *out;
    unsigned phases;
    double rate;
    int nested, hang, quiet;
    double mult;
} opt = { 1, 1000, D_CONST, 1000, 0, 1, 1, NULL, 1, 0, 0, 0, 0, 1 };

static FILE *out_f;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t go;

static uint64_t draw(uint64_t *s, unsigned long i)
{
    double v;
    switch (opt.dist) {
    case D_UNIFORM:
        v = opt.a + (opt.b - opt.a) * tu_u01(s);
        break;
    case D_LOGNORMAL:
        v = opt.a * exp(opt.b * tu_gauss(s));
        break;
    case D_BIMODAL:
        v = (tu_u01(s) < opt.c / 100 ? opt.b : opt.a) * (0.9 + 0.2 * tu_u01(s));
        break;
    case D_LOGUNIFORM:
        v = opt.a * pow(opt.b / opt.a, tu_u01(s));
        break;
    case D_EXTREMES:
        return i % 2 ? 3600000000000ull : 1;
    default:
        v = opt.a;
    }
    return v < 1 ? 1 : (uint64_t)v;
}

static void sleep_ns(long ns)
{
    struct timespec ts = { ns / 1000000000, ns % 1000000000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

struct thr {
    unsigned id;
    unsigned phase;
    uint64_t *vals;
};

static void *worker(void *arg)
{
    struct thr *t = arg;
    uint64_t s = 0x9e3779b97f4a7c15ull ^ ((uint64_t)opt.seed << 32) ^ (t->id + 1) ^
                 ((uint64_t)t->phase << 16);
    for (int k = 0; k < 8; k++)
        tu_u01(&s);
    if (t->phase == 0)
        QPULSE_RECORD(gen, Other, 1000 + t->id);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double scale = pow(opt.mult, t->phase);
    for (unsigned long i = 0; i < opt.samples; i++) {
        uint64_t v = (uint64_t)((double)draw(&s, i) * scale);
        if (opt.nested) {
            QPULSE_SCOPE(gen, Outer);
            QPULSE_RECORD(gen, Work, v);
        } else {
            QPULSE_RECORD(gen, Work, v);
        }
        if (t->vals)
            t->vals[i] = v;
        if (opt.rate > 0 && (i & 63) == 63) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
            double due = (double)(i + 1) / opt.rate;
            if (due > el)
                sleep_ns((long)((due - el) * 1e9));
        }
    }
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    go = 1;
}

static int parse_dist(const char *s)
{
    if (sscanf(s, "const:%lf", &opt.a) == 1)
        opt.dist = D_CONST;
    else if (sscanf(s, "uniform:%lf:%lf", &opt.a, &opt.b) == 2)
        opt.dist = D_UNIFORM;
    else if (sscanf(s, "lognormal:%lf:%lf", &opt.a, &opt.b) == 2)
        opt.dist = D_LOGNORMAL;
    else if (sscanf(s, "bimodal:%lf:%lf:%lf", &opt.a, &opt.b, &opt.c) >= 2)
        opt.dist = D_BIMODAL;
    else if (sscanf(s, "loguniform:%lf:%lf", &opt.a, &opt.b) == 2 && opt.a > 0)
        opt.dist = D_LOGUNIFORM;
    else if (!strcmp(s, "extremes"))
        opt.dist = D_EXTREMES;
    else
        return -1;
    return 0;
}

static void run_phase(unsigned phase)
{
    pthread_t *tid = calloc(opt.threads, sizeof *tid);
    struct thr *th = calloc(opt.threads, sizeof *th);
    if (!tid || !th) {
        perror("calloc");
        exit(1);
    }
    for (unsigned i = 0; i < opt.threads; i++) {
        th[i].id = i;
        th[i].phase = phase;
        if (out_f) {
            th[i].vals = malloc(opt.samples * sizeof(uint64_t));
            if (!th[i].vals) {
                perror("malloc");
                exit(1);
            }
        }
        if (pthread_create(&tid[i], NULL, worker, &th[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    for (unsigned i = 0; i < opt.threads; i++) {
        pthread_join(tid[i], NULL);
        if (out_f) {
            pthread_mutex_lock(&out_lock);
            for (unsigned long k = 0; k < opt.samples; k++)
                fprintf(out_f, "%llu\n", (unsigned long long)th[i].vals[k]);
            pthread_mutex_unlock(&out_lock);
            free(th[i].vals);
        }
    }
    free(tid);
    free(th);
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "t:n:D:S:o:p:m:r:Nkq")) != -1) {
        switch (c) {
        case 't': opt.threads = (unsigned)atoi(optarg); break;
        case 'n': opt.samples = strtoul(optarg, NULL, 10); break;
        case 'D':
            if (parse_dist(optarg) < 0) {
                fprintf(stderr, "prod_gen: bad distribution '%s'\n", optarg);
                return 2;
            }
            break;
        case 'S': opt.seed = (unsigned)atoi(optarg); break;
        case 'o': opt.out = optarg; break;
        case 'p': opt.phases = (unsigned)atoi(optarg); break;
        case 'm': opt.mult = atof(optarg); break;
        case 'r': opt.rate = atof(optarg); break;
        case 'N': opt.nested = 1; break;
        case 'k': opt.hang = 1; break;
        case 'q': opt.quiet = 1; break;
        default:
            return tu_usage("see the top of tests/prod_gen.c");
        }
    }
    if (opt.threads < 1)
        opt.threads = 1;
    if (opt.out && !(out_f = fopen(opt.out, "w"))) {
        perror(opt.out);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    for (unsigned ph = 0; ph < opt.phases; ph++) {
        if (ph > 0) {
            /* wait for SIGUSR1 without losing one sent early */
            sigprocmask(SIG_BLOCK, &block, &old);
            while (!go)
                sigsuspend(&old);
            go = 0;
            sigprocmask(SIG_SETMASK, &old, NULL);
        }
        run_phase(ph);
        if (ph + 1 < opt.phases) {
            printf("phase %u\n", ph + 1);
            fflush(stdout);
        }
    }
    if (out_f)
        fclose(out_f);
    printf("recorded=%llu dropped=%llu\n", (unsigned long long)qpulse_recorded(),
           (unsigned long long)qpulse_dropped());
    fflush(stdout);
    if (opt.hang) {
        printf("done\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    return 0;
}
