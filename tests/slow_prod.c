/*
 * slow_prod.c — an instrumented producer for the flight recorder's tests:
 * requests with real nested scopes, a few of them injected outliers whose
 * inside is known.
 *
 *   slow_prod [-t THREADS] [-n NORMAL] [-o OUTLIERS] [-r RATE] [-k] [-e FILE]
 *
 * Each thread records NORMAL requests (default 100000) and OUTLIERS
 * outliers (default 5) spread evenly among them:
 *
 *   sp.Request                        a normal one takes well under 10 us
 *     sp.Parse                        an outlier: spins 20 us before Parse,
 *     sp.Risk                           Parse spins 50 us, 10 us more, then
 *       sp.Db                           Risk spins 30 us, Db 100 + 20*i us,
 *                                       and Risk 20 us after it
 *
 * -r paces each thread to RATE requests a second.  -e writes one line per
 * outlier: "dur_ns parse_off parse_dur risk_off risk_dur db_off db_dur"
 * (offsets from the parent's start, measured here with CLOCK_MONOTONIC
 * inside the scopes, so a little shorter than what qpulse measures around
 * them).  Prints "recorded=N" (samples) at the end; with -k then "done" and
 * waits for SIGTERM.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qpulse.h>

#include "testutil.h"

#define SP_OPS(X)                                                  \
    X(Request, "req", "One request, with what it runs inside", 1)  \
    X(Parse, "req", "Parses the request", 2)                       \
    X(Risk, "risk", "Risk check", 2)                               \
    X(Db, "db", "Database call inside the risk check", 3)

QPULSE_DECLARE_SET(sp, SP_OPS)
QPULSE_DEFINE_SET(sp, SP_OPS)

static long normal = 100000, outliers = 5, rate = 0;
static FILE *expect;
static pthread_mutex_t expect_lock = PTHREAD_MUTEX_INITIALIZER;

static void request(long outlier)
{
    if (outlier < 0) {
        QPULSE_SCOPE(sp, Request);
        {
            QPULSE_SCOPE(sp, Parse);
        }
        {
            QPULSE_SCOPE(sp, Risk);
            {
                QPULSE_SCOPE(sp, Db);
            }
        }
        return;
    }
    uint64_t t0, p0, p1, r0, r1, d0, d1, t1;
    {
        QPULSE_SCOPE(sp, Request);
        t0 = tu_now_ns();
        tu_spin_ns(20000);
        {
            QPULSE_SCOPE(sp, Parse);
            p0 = tu_now_ns();
            tu_spin_ns(50000);
            p1 = tu_now_ns();
        }
        tu_spin_ns(10000);
        {
            QPULSE_SCOPE(sp, Risk);
            r0 = tu_now_ns();
            tu_spin_ns(30000);
            {
                QPULSE_SCOPE(sp, Db);
                d0 = tu_now_ns();
                tu_spin_ns(100000 + 20000 * (uint64_t)outlier);
                d1 = tu_now_ns();
            }
            tu_spin_ns(20000);
            r1 = tu_now_ns();
        }
        t1 = tu_now_ns();
    }
    if (expect) {
        pthread_mutex_lock(&expect_lock);
        fprintf(expect, "%llu %llu %llu %llu %llu %llu %llu\n", (unsigned long long)(t1 - t0),
                (unsigned long long)(p0 - t0), (unsigned long long)(p1 - p0),
                (unsigned long long)(r0 - t0), (unsigned long long)(r1 - r0),
                (unsigned long long)(d0 - r0), (unsigned long long)(d1 - d0));
        pthread_mutex_unlock(&expect_lock);
    }
}

static void *run(void *arg)
{
    long tno = (long)arg;
    long total = normal + outliers;
    long every = outliers ? total / outliers : 0;
    long next_out = 0;
    uint64_t start = tu_now_ns();
    for (long i = 0; i < total && !tu_stop; i++) {
        long o = -1;
        if (every && i % every == every / 2 && next_out < outliers)
            o = tno * outliers + next_out++;
        request(o);
        if (rate > 0) {
            uint64_t due = start + (uint64_t)((double)(i + 1) * 1e9 / (double)rate);
            uint64_t t = tu_now_ns();
            if (due > t) {
                struct timespec ts = { (time_t)((due - t) / 1000000000u),
                                       (long)((due - t) % 1000000000u) };
                nanosleep(&ts, NULL);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = 1;
    int keep = 0, c;
    while ((c = getopt(argc, argv, "t:n:o:r:ke:")) != -1) {
        switch (c) {
        case 't': threads = atol(optarg); break;
        case 'n': normal = atol(optarg); break;
        case 'o': outliers = atol(optarg); break;
        case 'r': rate = atol(optarg); break;
        case 'k': keep = 1; break;
        case 'e':
            expect = fopen(optarg, "w");
            if (!expect) {
                perror(optarg);
                return 2;
            }
            break;
        default:
            return tu_usage("slow_prod [-t THREADS] [-n NORMAL] [-o OUTLIERS] [-r RATE] [-k] "
                            "[-e FILE]");
        }
    }
    if (threads < 1 || threads > 64 || normal < 0 || outliers < 0)
        return 2;
    tu_catch_stop_signals();
    pthread_t th[64];
    for (long i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, run, (void *)i);
    for (long i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    if (expect)
        fclose(expect);
    printf("recorded=%llu\n", (unsigned long long)qpulse_recorded());
    fflush(stdout);
    if (keep) {
        printf("done\n");
        fflush(stdout);
        tu_wait_for_stop();
    }
    return 0;
}
