/*
 * bench_attach.c — how soon qpulsed attaches to a new process, measured on
 * the real daemon: a short-lived child records its first sample and then
 * watches its own segment until the daemon has marked it as attached (the
 * daemon's pid in the segment's consumer region).  The attach delay is the
 * time from just before that first sample (segment creation included) to
 * the moment the child sees the mark.
 *
 * Between runs the bench waits until the daemon has removed the previous
 * child's segment and then a random 0-300 ms, so that each child arrives
 * at a random moment of an idle daemon's cycle (the case that used to cost
 * up to a whole idle tick, 250 ms).
 *
 *   idle      the child records one sample and waits (polling every 20 us)
 *   flat out  the child records as fast as it can until attached, then
 *             stops: its drops are the samples lost to a late attach
 *             (with -r RECORDS as the ring size; default the library's)
 *   100 ms    the child records as fast as it can for 100 ms and exits
 *             (a short-lived program that starts flat out): its drops,
 *             before and after the attach
 *
 * Prints the median, 90th percentile and maximum attach delay of each kind,
 * and the maximum's ratio to the target (5 ms: "within a few milliseconds").
 *
 * Usage (from the build directory):
 *   bench/bench_attach [-d QPULSED] [-n RUNS] [-r RING_RECORDS]
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "atomics.h"
#include "client.h"
#include "common.h"
#include "layout.h"
#include "qpulse.h"

#define ATTACH_OPS(X) X(Burst, "bench", "a short-lived process's samples", 1)
QPULSE_DECLARE_SET(attach, ATTACH_OPS)
QPULSE_DEFINE_SET(attach, ATTACH_OPS)

#define TARGET_NS 5e6
#define GIVE_UP_NS 3e9

static const char *ns;

/* The daemon's mark in this process's segment: 1 attached, 0 not yet,
 * -1 no segment to look at. */
static int attached(const struct qp_consumer **c)
{
    if (!*c) {
        char name[128];
        if (qp_seg_name(name, sizeof name, ns, getpid(), qp_proc_starttime(getpid()), 0) < 0)
            return -1;
        int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct qp_seg_header h;
        if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
            close(fd);
            return -1;
        }
        void *p = mmap(NULL, h.consumer_size, PROT_READ, MAP_SHARED, fd, (off_t)h.consumer_off);
        close(fd);
        if (p == MAP_FAILED)
            return -1;
        *c = p;
    }
    return qp_load_acquire(&(*c)->daemon_pid) > 0;
}

/* The child: one run.  Writes "delay_ns recorded dropped" to fd.  flat:
 * 0 idle, 1 flat out until attached, 2 flat out for 100 ms. */
static void child(int fd, int flat)
{
    const struct qp_consumer *c = NULL;
    double t0 = bench_now_ns();
    QPULSE_RECORD(attach, Burst, 1000);
    double t = t0, at = -1;
    int a = 0;
    unsigned long n = 1;
    while (flat == 2 && t - t0 < 100e6) {
        for (int k = 0; k < 64; k++, n++)
            QPULSE_RECORD(attach, Burst, 1000 + (n & 1023));
        if (at < 0 && attached(&c) == 1)
            at = bench_now_ns() - t0;
        t = bench_now_ns();
    }
    if (flat == 2)
        a = at >= 0;
    while (!a && t - t0 < GIVE_UP_NS) {
        if (flat) {
            for (int k = 0; k < 64; k++, n++)
                QPULSE_RECORD(attach, Burst, 1000 + (n & 1023));
        } else {
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
        }
        a = attached(&c) == 1;
        t = bench_now_ns();
    }
    char buf[128];
    int len = snprintf(buf, sizeof buf, "%.0f %llu %llu\n", !a ? -1.0 : at >= 0 ? at : t - t0,
                       (unsigned long long)qpulse_recorded(),
                       (unsigned long long)qpulse_dropped());
    if (write(fd, buf, (size_t)len) != len)
        _exit(1);
    _exit(0);
}

static pid_t start_daemon(const char *path)
{
    char *argv[] = { (char *)path, "--ns", (char *)ns, "--state", "none", NULL };
    pid_t pid = bench_start_daemon(argv, ns, 500);
    if (pid < 0) {
        fprintf(stderr, "bench_attach: %s did not start\n", path);
        exit(1);
    }
    return pid;
}

/* Until no segment of the namespace is left (the daemon finished the last
 * child), at most 5 s. */
static void wait_no_segments(void)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "qpulse.%s.", ns);
    size_t pl = strlen(prefix);
    for (int i = 0; i < 5000; i++) {
        int found = 0;
        DIR *dir = opendir("/dev/shm");
        struct dirent *de;
        while (dir && (de = readdir(dir)) != NULL)
            if (!strncmp(de->d_name, prefix, pl) && strcmp(de->d_name + pl, "daemon") != 0)
                found = 1;
        if (dir)
            closedir(dir);
        if (!found)
            return;
        usleep(1000);
    }
}

static void run_kind(const char *label, int flat, int runs)
{
    double *d = calloc((size_t)runs, sizeof *d);
    unsigned long long rec = 0, drop = 0, drop_max = 0;
    int ok = 0, missed = 0;
    for (int r = 0; r < runs; r++) {
        wait_no_segments();
        usleep((useconds_t)(rand() % 300000));
        int p[2];
        if (pipe(p) < 0)
            exit(1);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(p[1], flat);
        }
        close(p[1]);
        char buf[128] = "";
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        waitpid(pid, NULL, 0);
        double delay;
        unsigned long long cr, cd;
        if (n <= 0 || sscanf(buf, "%lf %llu %llu", &delay, &cr, &cd) != 3 || delay < 0) {
            missed++;
            continue;
        }
        d[ok++] = delay;
        rec += cr;
        drop += cd;
        if (cd > drop_max)
            drop_max = cd;
    }
    if (!ok) {
        printf("  %-9s no run was attached within %.0f s\n", label, GIVE_UP_NS / 1e9);
        free(d);
        return;
    }
    qsort(d, (size_t)ok, sizeof *d, bench_cmp_double);
    printf("  %-9s %3d runs: attach delay median %7.3f ms, p90 %7.3f ms, max %7.3f ms; "
           "max/target %.2f",
           label, ok, d[ok / 2] / 1e6, d[ok * 9 / 10] / 1e6, d[ok - 1] / 1e6,
           d[ok - 1] / TARGET_NS);
    if (flat)
        printf("; %s: %.0f recorded + %.0f dropped a run (max dropped %llu)",
               flat == 1 ? "before attach" : "in all", (double)rec / ok, (double)drop / ok,
               drop_max);
    if (missed)
        printf("; %d not attached", missed);
    printf("\n");
    fflush(stdout);
    free(d);
}

int main(int argc, char **argv)
{
    const char *daemon_path = "daemon/qpulsed";
    int runs = 50;
    const char *ring = NULL;
    int c;
    while ((c = getopt(argc, argv, "d:n:r:")) != -1) {
        switch (c) {
        case 'd': daemon_path = optarg; break;
        case 'n': runs = atoi(optarg); break;
        case 'r': ring = optarg; break;
        default:
            fprintf(stderr, "usage: bench_attach [-d QPULSED] [-n RUNS] [-r RING_RECORDS]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    const char *rundir;
    bench_own_ns("attach", &ns, &rundir);
    if (ring)
        setenv("QPULSE_RING_RECORDS", ring, 1);
    srand((unsigned)getpid());
    pid_t dpid = start_daemon(daemon_path);
    printf("qpulsed attach delay: first sample of a new process -> daemon attached "
           "(target <= %.0f ms, runs at random moments of an idle daemon)\n",
           TARGET_NS / 1e6);
    fflush(stdout);
    run_kind("idle", 0, runs);
    run_kind("flat out", 1, runs);
    run_kind("100 ms", 2, runs);
    kill(dpid, SIGTERM);
    waitpid(dpid, NULL, 0);
    bench_remove_rundir(rundir);
    return 0;
}
