/*
 * viewer_prod.c — an instrumented producer with exactly known samples, for
 * qptop's tests and benchmark.
 *
 *   viewer_prod known        records the samples below, then waits for
 *                            SIGTERM/SIGINT (so it stays "alive")
 *   viewer_prod many N SECS  records one sample of each of N ops of a large
 *                            set every second for SECS seconds (0 = until
 *                            signalled): the load of qptop's benchmark
 *   viewer_prod fleet P N [once]
 *                            forks P processes, each of which does "many N"
 *                            (or, with once, records a fixed set of samples
 *                            of N ops that differs from process to process
 *                            and then waits); their first argument becomes
 *                            one of seven names (alpha, bravo, ...), so they
 *                            show as seven programs.  Prints "ready" once
 *                            all are started; SIGTERM ends them all.
 *
 * "known" samples (set vt):
 *   Fast  (group g1, priority 1): 100 samples of 1, 2, ..., 100 us
 *   Slow  (group g2, priority 2): 10 samples of exactly 5 ms
 *   Outer (group g1, priority 3): 4 samples of 1 ms with Inner nested once
 *                                 in each (a real nested scope, for the tree)
 */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qpulse.h>

#include "testutil.h"

#define VT_OPS(X)                                                  \
    X(Fast, "g1", "Fast operation, 1..100 us", 1)                  \
    X(Slow, "g2", "Slow operation, exactly 5 ms", 2)               \
    X(Outer, "g1", "Outer scope with Inner nested inside", 3)      \
    X(Inner, "g3", "Inner scope, runs inside Outer", 3)

QPULSE_DECLARE_SET(vt, VT_OPS)
QPULSE_DEFINE_SET(vt, VT_OPS)

/* 50 ops for the benchmark's "many" mode */
#define BIG_OPS(X)                                                                  \
    X(Op00, "a", "op", 1) X(Op01, "a", "op", 1) X(Op02, "a", "op", 1)              \
    X(Op03, "a", "op", 1) X(Op04, "a", "op", 1) X(Op05, "a", "op", 1)              \
    X(Op06, "a", "op", 1) X(Op07, "a", "op", 1) X(Op08, "a", "op", 1)              \
    X(Op09, "a", "op", 1) X(Op10, "b", "op", 2) X(Op11, "b", "op", 2)              \
    X(Op12, "b", "op", 2) X(Op13, "b", "op", 2) X(Op14, "b", "op", 2)              \
    X(Op15, "b", "op", 2) X(Op16, "b", "op", 2) X(Op17, "b", "op", 2)              \
    X(Op18, "b", "op", 2) X(Op19, "b", "op", 2) X(Op20, "c", "op", 3)              \
    X(Op21, "c", "op", 3) X(Op22, "c", "op", 3) X(Op23, "c", "op", 3)              \
    X(Op24, "c", "op", 3) X(Op25, "c", "op", 3) X(Op26, "c", "op", 3)              \
    X(Op27, "c", "op", 3) X(Op28, "c", "op", 3) X(Op29, "c", "op", 3)              \
    X(Op30, "d", "op", 4) X(Op31, "d", "op", 4) X(Op32, "d", "op", 4)              \
    X(Op33, "d", "op", 4) X(Op34, "d", "op", 4) X(Op35, "d", "op", 4)              \
    X(Op36, "d", "op", 4) X(Op37, "d", "op", 4) X(Op38, "d", "op", 4)              \
    X(Op39, "d", "op", 4) X(Op40, "e", "op", 5) X(Op41, "e", "op", 5)              \
    X(Op42, "e", "op", 5) X(Op43, "e", "op", 5) X(Op44, "e", "op", 5)              \
    X(Op45, "e", "op", 5) X(Op46, "e", "op", 5) X(Op47, "e", "op", 5)              \
    X(Op48, "e", "op", 5) X(Op49, "e", "op", 5)

QPULSE_DECLARE_SET(big, BIG_OPS)
QPULSE_DEFINE_SET(big, BIG_OPS)

static void known(void)
{
    for (int i = 1; i <= 100; i++)
        QPULSE_RECORD(vt, Fast, (uint64_t)i * 1000);
    for (int i = 0; i < 10; i++)
        QPULSE_RECORD(vt, Slow, 5000000);
    for (int i = 0; i < 4; i++) {
        QPULSE_SCOPE(vt, Outer);
        tu_spin_ns(200000);
        {
            QPULSE_SCOPE(vt, Inner);
            tu_spin_ns(100000);
        }
    }
}

/* One sample of each big op per second, with made-up but varied durations. */
static void many(int nops, double secs)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned tick = 0; !tu_stop; tick++) {
        for (int i = 0; i < nops && i < 50; i++)
            qpulse__record_ns(&qpulse_set_big, (uint32_t)i,
                              (uint64_t)(1000 + 37 * i + (tick * 131 + (unsigned)i * 17) % 5000));
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (secs > 0 && now.tv_sec - t0.tv_sec >= secs)
            break;
        struct timespec d = { 1, 0 };
        nanosleep(&d, NULL);
    }
}

/* A fixed set of samples for process i of a fleet: op k gets 1..5
 * samples of a duration that differs from process to process. */
static void fleet_once(int i, int nops)
{
    for (int k = 0; k < nops && k < 50; k++) {
        int count = 1 + (i * 7 + k) % 5;
        uint64_t dur = 1000 + (uint64_t)((i * 7919 + k * 104729) % 100000);
        for (int c = 0; c < count; c++)
            qpulse__record_ns(&qpulse_set_big, (uint32_t)k, dur + (uint64_t)c);
    }
}

static int fleet(int nprocs, int nops, int once, char *arg1)
{
    static const char *const names[] = { "alpha", "bravo", "delta", "gamma", "kappa", "omega",
                                         "sigma" };
    pid_t *kids = calloc((size_t)nprocs, sizeof *kids);
    if (!kids)
        return 1;
    pid_t parent = getpid();
    int n = 0;
    for (; n < nprocs && !tu_stop; n++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            /* "fleet" -> a name of the same length: /proc shows the new one */
            if (strlen(arg1) == 5)
                memcpy(arg1, names[n % 7], 5);
            if (once) {
                fleet_once(n, nops);
                tu_wait_for_stop();
            } else {
                many(nops, 0);
            }
            exit(0);    /* the library's exit path: the segment is left to the daemon */
        }
        kids[n] = pid;
    }
    printf("ready %d\n", n);
    fflush(stdout);
    tu_wait_for_stop();
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGTERM);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    free(kids);
    return 0;
}

int main(int argc, char **argv)
{
    tu_catch_stop_signals();
    if (argc >= 2 && strcmp(argv[1], "known") == 0) {
        known();
        printf("ready\n");
        fflush(stdout);
        tu_wait_for_stop();
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "many") == 0) {
        many(atoi(argv[2]), argc >= 4 ? atof(argv[3]) : 0);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "fleet") == 0)
        return fleet(atoi(argv[2]), atoi(argv[3]), argc >= 5 && strcmp(argv[4], "once") == 0,
                     argv[1]);
    fprintf(stderr, "usage: viewer_prod known | many NOPS [SECONDS] | fleet PROCS NOPS [once]\n");
    return 2;
}
