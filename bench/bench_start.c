/*
 * bench_start.c — what recording costs a process at its start, as figures
 * and ratios measured in the same run:
 *
 *   first sample   a fresh process (fork + exec of this program) times its
 *                  very first QPULSE_SCOPE: segment creation, set binding,
 *                  slot claim, ring reservation (target <= 300 us)
 *   short commands `qpulse run --hooks all -- CMD` against plain CMD
 *                  (stdout to /dev/null), runs alternating, ratio of the
 *                  medians (target <= 1.5), for CMD = `ls -l DIR`, `ls`,
 *                  `/bin/true` and the pipeline `sh -c 'ls DIR | wc -l'`;
 *                  and a shell loop that runs /bin/true 1000 times under
 *                  one `qpulse run` (fewer runs: it takes about a second):
 *                  what each profiled process pays for the preload alone.
 *                  Both the wall time and the CPU time (user + system, from
 *                  wait4) are shown: on a shared machine the CPU time is the
 *                  steadier of the two.  A command shorter than 3 ms runs
 *                  more times (up to 5 x RUNS), as many as fit in what 3 ms
 *                  commands take.
 *
 * Where it may (root, or CAP_SYS_ADMIN), the bench runs in a mount
 * namespace of its own with a fresh tmpfs on /dev/shm: the qpulsed of other
 * namespaces watch /dev/shm, and each object created there would wake them
 * (their work lands on the profiled command's CPU time as wake-ups).  The
 * first line says which /dev/shm was used, and the load average.
 *
 * Usage: bench_start [RUNS [QPULSE [DIR]]]
 *   RUNS    runs of each kind (default 21)
 *   QPULSE  the qpulse program (default tools/qpulse next to this bench)
 *   DIR     the directory ls lists (default /usr/lib)
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "qpulse.h"

#define START_OPS(X) X(First, "bench", "the process's first sample", 1)
QPULSE_DECLARE_SET(start, START_OPS)
QPULSE_DEFINE_SET(start, START_OPS)

/* Runs argv with stdout (and stderr when quiet) to /dev/null; wall ns, and
 * the child's CPU time (user + system) in *cpu. */
static double run(char *const argv[], int quiet, double *cpu)
{
    double t0 = bench_now_ns();
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
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    double t = bench_now_ns() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_start: %s failed (status %#x)\n", argv[0], st);
        exit(1);
    }
    if (cpu)
        *cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    return t;
}

/* The child: time the first scope, print ns. */
static int child(void)
{
    double t0 = bench_now_ns();
    {
        QPULSE_SCOPE(start, First);
    }
    double t = bench_now_ns() - t0;
    printf("%.0f %d\n", t, qpulse__use_tsc);
    return qpulse_recorded() == 1 ? 0 : 1;
}

/* The clock the children chose (the first sample chooses it). */
static int g_child_tsc;

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
    char *end;
    double ns = strtod(buf, &end);
    g_child_tsc = atoi(end);
    return ns;
}

/* Removes what this run's processes left in /dev/shm: with no qpulsed
 * running, a shell that ends with _exit() (dash does) skips its exit path
 * and leaves its segment for a daemon to remove. */
static void cleanup(const char *ns)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "qpulse.%s.", ns);
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strncmp(de->d_name, prefix, strlen(prefix))) {
            char path[400];
            snprintf(path, sizeof path, "/dev/shm/%.300s", de->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
}

/* A private /dev/shm (see the top); 1 when this process now has one. */
static int private_shm(void)
{
    if (unshare(CLONE_NEWNS) < 0)
        return 0;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) {
        fprintf(stderr, "bench_start: no private /dev/shm (%s); using the shared one\n",
                strerror(errno));
        return 0;
    }
    return 1;
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
    int priv = private_shm();
    double load[3] = { 0, 0, 0 };
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1;
    char ns[64];
    snprintf(ns, sizeof ns, "bench-start-%ld", (long)getpid());
    setenv("QPULSE_NS", ns, 1);

    double *first = calloc((size_t)runs, sizeof *first);
    for (int i = 0; i < runs; i++)
        first[i] = first_sample(self);
    double f = bench_median(first, runs);

    /* The commands, plain and under qpulse run (which prepends its own
     * arguments); hooked runs are quiet: no qpulsed runs in this namespace,
     * and qpulse run says so on stderr. */
    char pipeline[PATH_MAX + 64];
    snprintf(pipeline, sizeof pipeline, "ls %s | wc -l", dir);
    char loop[] = "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done";
    char *cmds[][5] = {
        { "ls", "-l", dir, NULL },
        { "ls", NULL },
        { "/bin/true", NULL },
        { "sh", "-c", pipeline, NULL },
        { "sh", "-c", loop, NULL },
    };
    enum { NCMD = sizeof cmds / sizeof cmds[0] };
    double wall[NCMD][2], cpu[NCMD][2];
    double *tw[2], *tc[2];
    int nruns[NCMD];
    for (int k = 0; k < 2; k++) {
        tw[k] = calloc((size_t)runs * 5, sizeof(double));
        tc[k] = calloc((size_t)runs * 5, sizeof(double));
    }
    for (int c = 0; c < NCMD; c++) {
        char *hooked[16] = { qpulse, "run", "--hooks", "all", "--" };
        int m = 5;
        for (int j = 0; cmds[c][j]; j++)
            hooked[m++] = cmds[c][j];
        hooked[m] = NULL;
        double t = run(cmds[c], 0, NULL);   /* warm the page cache */
        run(hooked, 1, NULL);
        int nr = c == NCMD - 1 ? (runs / 5 < 3 ? 3 : runs / 5) : runs;
        if (c != NCMD - 1 && t < 3e6) {
            /* Short commands vary the most from run to run: more runs. */
            double k = 3e6 / (t > 1e5 ? t : 1e5);
            nr = (int)(runs * (k < 5 ? k : 5));
        }
        nruns[c] = nr;
        for (int i = 0; i < nr; i++) {
            tw[0][i] = run(cmds[c], 0, &tc[0][i]);
            tw[1][i] = run(hooked, 1, &tc[1][i]);
        }
        for (int k = 0; k < 2; k++) {
            wall[c][k] = bench_median(tw[k], nr);
            cpu[c][k] = bench_median(tc[k], nr);
        }
    }

    printf("bench_start: %d runs of each (more of a short command), clock %s, %s, "
           "load average %.2f %.2f %.2f\n",
           runs, g_child_tsc ? "tsc" : "monotonic",
           priv ? "private /dev/shm" : "shared /dev/shm", load[0], load[1], load[2]);
    printf("  first sample of a process (median)              %8.1f us   (target <= 300 us)\n",
           f / 1e3);
    printf("  ls -l %-20s                       %8.2f ms\n", dir, wall[0][0] / 1e6);
    printf("  qpulse run --hooks all -- ls -l %-12s    %8.2f ms   ratio %.2f  (target <= 1.5)\n",
           dir, wall[0][1] / 1e6, wall[0][1] / wall[0][0]);
    printf("  qpulse run --hooks all -- CMD against CMD (medians; target <= 1.5):\n");
    printf("  %-28s %9s %9s %6s   %9s %9s %6s\n", "CMD", "wall", "run", "ratio", "cpu", "run",
           "ratio");
    for (int c = 0; c < NCMD; c++) {
        char name[64] = "";
        for (int j = 0; cmds[c][j]; j++)
            snprintf(name + strlen(name), sizeof name - strlen(name), j ? " %s" : "%s",
                     c == 3 && j == 2   ? "'ls DIR | wc -l'"
                     : c == 4 && j == 2 ? "'1000 x /bin/true'"
                                        : cmds[c][j]);
        const char *unit = c == NCMD - 1 ? "ms" : "us";
        double div = c == NCMD - 1 ? 1e6 : 1e3;
        printf("  %-28.28s %7.0f%s %7.0f%s %5.2fx   %7.0f%s %7.0f%s %5.2fx   (%d runs)\n", name,
               wall[c][0] / div, unit, wall[c][1] / div, unit, wall[c][1] / wall[c][0],
               cpu[c][0] / div, unit, cpu[c][1] / div, unit, cpu[c][1] / cpu[c][0], nruns[c]);
    }
    cleanup(ns);
    return 0;
}
