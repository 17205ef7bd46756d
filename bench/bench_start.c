/*
 * bench_start.c — what recording costs a process at its start, as figures
 * and ratios measured in the same run:
 *
 *   first sample   a fresh process (fork + exec of this program) times its
 *                  very first QPULSE_SCOPE: segment creation, set binding,
 *                  slot claim, ring reservation (target <= 300 us)
 *   short command  `qpulse run --hooks all -- ls -l /usr/lib` against plain
 *                  `ls -l /usr/lib` (stdout to /dev/null), runs alternating,
 *                  ratio of the medians (target <= 1.5)
 *
 * Usage: bench_start [RUNS [QPULSE [DIR]]]
 *   RUNS    runs of each kind (default 21)
 *   QPULSE  the qpulse program (default tools/qpulse next to this bench)
 *   DIR     the directory ls lists (default /usr/lib)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qpulse.h"

#define START_OPS(X) X(First, "bench", "the process's first sample", 1)
QPULSE_DECLARE_SET(start, START_OPS)
QPULSE_DEFINE_SET(start, START_OPS)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* Runs argv with stdout (and stderr when quiet) to /dev/null; wall ns. */
static double run(char *const argv[], int quiet)
{
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        if (quiet)
            dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    double t = now_ns() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_start: %s failed (status %#x)\n", argv[0], st);
        exit(1);
    }
    return t;
}

/* The child: time the first scope, print ns. */
static int child(void)
{
    double t0 = now_ns();
    {
        QPULSE_SCOPE(start, First);
    }
    double t = now_ns() - t0;
    printf("%.0f\n", t);
    return qpulse_recorded() == 1 ? 0 : 1;
}

static double first_sample(const char *self)
{
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(self, self, "--child", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[64] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_start: child failed\n");
        exit(1);
    }
    return atof(buf);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--child"))
        return child();
    int runs = argc > 1 ? atoi(argv[1]) : 21;
    if (runs < 3)
        runs = 3;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    char qpulse[PATH_MAX];
    if (argc > 2) {
        snprintf(qpulse, sizeof qpulse, "%s", argv[2]);
    } else {
        /* bench/.libs/bench_start or bench/bench_start -> tools/qpulse */
        char *s = strstr(self, "/bench/");
        snprintf(qpulse, sizeof qpulse, "%.*s/tools/qpulse", s ? (int)(s - self) : 0, self);
    }
    char *dir = argc > 3 ? argv[3] : "/usr/lib";
    char ns[64];
    snprintf(ns, sizeof ns, "bench-start-%ld", (long)getpid());
    setenv("QPULSE_NS", ns, 1);

    double *first = calloc((size_t)runs, sizeof *first);
    for (int i = 0; i < runs; i++)
        first[i] = first_sample(self);
    double f = median(first, runs);

    char *plain[] = { "ls", "-l", dir, NULL };
    char *hooked[] = { qpulse, "run", "--hooks", "all", "--", "ls", "-l", dir, NULL };
    double *tp = calloc((size_t)runs, sizeof *tp), *th = calloc((size_t)runs, sizeof *th);
    run(plain, 0);
    run(hooked, 0);   /* warm the page cache */
    for (int i = 0; i < runs; i++) {
        tp[i] = run(plain, 0);
        th[i] = run(hooked, 0);
    }
    double p = median(tp, runs), h = median(th, runs);

    printf("bench_start: %d runs of each, clock %s\n", runs,
           qpulse__use_tsc ? "tsc" : "monotonic");
    printf("  first sample of a process (median)              %8.1f us   (target <= 300 us)\n",
           f / 1e3);
    printf("  ls -l %-20s                       %8.2f ms\n", dir, p / 1e6);
    printf("  qpulse run --hooks all -- ls -l %-12s    %8.2f ms   ratio %.2f  (target <= 1.5)\n",
           dir, h / 1e6, h / p);
    return 0;
}
