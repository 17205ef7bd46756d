/*
 * bench_preload.c — what libqpulse-preload adds to one hooked libc call, as
 * a ratio against the same call without the preload, measured in the same
 * run:
 *
 *   malloc+free   a 64-byte malloc and its free (group mem)
 *   mutex         an uncontended pthread_mutex_lock + unlock (group lock)
 *   write         a 1-byte write(2) to /dev/null (group io)
 *
 * The program runs itself as a child three ways — plain, preloaded with
 * QPULSE_HOOKS=all, and preloaded with QPULSE_HOOKS=none (the cost of a
 * hook that is switched off) — ROUNDS times, alternating, and keeps each
 * figure's best round (the machine is shared; the minimum is the least
 * disturbed).  While a preloaded child runs, this parent drains its segment
 * the way qpulsed does, so the child's rings never fill and every sample
 * takes the ordinary fast path.
 *
 * Usage: bench_preload [ROUNDS]   (default 5; QPULSE_PRELOAD overrides the
 * library, otherwise the build tree's is used)
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "reader.h"

enum { B_MALLOC, B_MUTEX, B_WRITE, B_N };
static const char *const b_name[B_N] = { "malloc+free (64 B)", "mutex lock+unlock",
                                         "write 1 B to /dev/null" };
static const long b_iters[B_N] = { 2000000, 2000000, 300000 };

/* ---------------------------------------------------------------------- */
/* The child: the measured loops                                           */
/* ---------------------------------------------------------------------- */

static double loop_malloc(long n)
{
    void *volatile p;   /* volatile: keeps the compiler from eliding the pair */
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        p = malloc(64);
        free(p);
    }
    return (bench_now_ns() - t0) / n;
}

static double loop_mutex(long n)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    return (bench_now_ns() - t0) / n;
}

static double loop_write(long n, int fd)
{
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        if (write(fd, "x", 1) != 1)
            abort();
    return (bench_now_ns() - t0) / n;
}

static int child_main(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        return 1;
    double best[B_N];
    for (int b = 0; b < B_N; b++) {
        best[b] = 1e30;
        for (int rep = 0; rep < 4; rep++) {   /* the first one warms up */
            double v = b == B_MALLOC ? loop_malloc(b_iters[b] / 4)
                     : b == B_MUTEX  ? loop_mutex(b_iters[b] / 4)
                                     : loop_write(b_iters[b] / 4, fd);
            if (rep > 0 && v < best[b])
                best[b] = v;
        }
    }
    printf("%.3f %.3f %.3f\n", best[B_MALLOC], best[B_MUTEX], best[B_WRITE]);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The parent: runs the child and drains its segment                       */
/* ---------------------------------------------------------------------- */

static char g_ns[64];
static unsigned long long g_drained, g_dropped;

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ctx;
    (void)ev;
    g_drained += n;
}

/* Opens the child's segment once it exists. */
static qp_reader_t *attach(pid_t pid)
{
    char prefix[128], name[400], err[256];
    snprintf(prefix, sizeof prefix, "qpulse.%s.%ld.", g_ns, (long)pid);
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    qp_reader_t *r = NULL;
    while (d && !r && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)))
            continue;
        snprintf(name, sizeof name, "/%.300s", de->d_name);
        if (qp_reader_open(&r, name, QP_READER_CONSUME, err, sizeof err) < 0)
            r = NULL;
        else
            qp_reader_set_daemon(r, getpid());   /* the child leaves it to us at exit */
    }
    if (d)
        closedir(d);
    return r;
}

static void drain(qp_reader_t *r)
{
    char err[256];
    qp_reader_refresh(r, err, sizeof err);
    while (qp_reader_drain(r, on_events, NULL, 1u << 16) > 0)
        ;
}

/* Runs one child with LD_PRELOAD = preload (NULL: plain) and QPULSE_HOOKS =
 * hooks; reads its three figures. */
static int run_child(const char *preload, const char *hooks, double out[B_N])
{
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        setenv("QPULSE_BENCH_CHILD", "1", 1);
        setenv("QPULSE_NS", g_ns, 1);
        if (preload) {
            /* Rings of 32 MiB: a tight loop of hooked calls outruns a
             * consumer that wakes every millisecond with the default size. */
            setenv("QPULSE_RING_RECORDS", "1048576", 1);
            setenv("LD_PRELOAD", preload, 1);
            setenv("QPULSE_HOOKS", hooks, 1);
        } else {
            unsetenv("LD_PRELOAD");
        }
        execl("/proc/self/exe", "bench_preload", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    qp_reader_t *r = NULL;
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (preload && !r)
            r = attach(pid);
        if (r)
            drain(r);
        if (w == pid)
            break;
        usleep(1000);
    }
    if (r) {
        drain(r);
        g_dropped += qp_reader_dropped(r);
        char name[128];
        snprintf(name, sizeof name, "%s", qp_reader_info(r)->shm_name);
        qp_reader_close(r);
        shm_unlink(name);
    }
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -EIO;
    buf[n] = 0;
    return sscanf(buf, "%lf %lf %lf", &out[0], &out[1], &out[2]) == 3 ? 0 : -EIO;
}

/* The build tree's preload (and its libqpulse, which an uninstalled
 * library cannot find on its own), or $QPULSE_PRELOAD. */
static int find_preload(char *buf, size_t len)
{
    const char *e = getenv("QPULSE_PRELOAD");
    if (e && *e)
        return snprintf(buf, len, "%s", e) < (int)len ? 0 : -ENAMETOOLONG;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -errno;
    exe[n] = 0;
    char *s = strrchr(exe, '/');
    if (!s)
        return -ENOENT;
    *s = 0;   /* <top>/bench */
    int r = snprintf(buf, len, "%s/../preload/.libs/libqpulse-preload.so", exe);
    if (r < 0 || (size_t)r >= len || access(buf, R_OK) != 0)
        return -ENOENT;
    r = snprintf(buf, len, "%s/../lib/.libs/libqpulse.so.1 %s/../preload/.libs/libqpulse-preload.so",
                 exe, exe);
    return r > 0 && (size_t)r < len ? 0 : -ENAMETOOLONG;
}

int main(int argc, char **argv)
{
    if (getenv("QPULSE_BENCH_CHILD"))
        return child_main();
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1)
        rounds = 1;
    char lib[2 * PATH_MAX];
    if (find_preload(lib, sizeof lib) < 0) {
        fprintf(stderr, "bench_preload: cannot find libqpulse-preload.so (set QPULSE_PRELOAD)\n");
        return 2;
    }
    snprintf(g_ns, sizeof g_ns, "bench-preload-%ld", (long)getpid());

    double plain[B_N], on[B_N], off[B_N], v[B_N];
    for (int b = 0; b < B_N; b++)
        plain[b] = on[b] = off[b] = 1e30;
    for (int i = 0; i < rounds; i++) {
        if (run_child(NULL, NULL, v) < 0)
            return 1;
        for (int b = 0; b < B_N; b++)
            plain[b] = v[b] < plain[b] ? v[b] : plain[b];
        if (run_child(lib, "all", v) < 0)
            return 1;
        for (int b = 0; b < B_N; b++)
            on[b] = v[b] < on[b] ? v[b] : on[b];
        if (run_child(lib, "none", v) < 0)
            return 1;
        for (int b = 0; b < B_N; b++)
            off[b] = v[b] < off[b] ? v[b] : off[b];
    }
    printf("libqpulse-preload: cost of one hooked call (best of %d rounds, ns/op)\n", rounds);
    printf("%-24s %9s %9s %8s %9s %8s\n", "call", "plain", "hooked", "ratio", "hook-off", "ratio");
    for (int b = 0; b < B_N; b++)
        printf("%-24s %9.1f %9.1f %7.2fx %9.1f %7.2fx\n", b_name[b], plain[b], on[b],
               on[b] / plain[b], off[b], off[b] / plain[b]);
    printf("(hooked: QPULSE_HOOKS=all, samples drained as by qpulsed: %llu drained, %llu dropped;\n"
           " the mutex is uncontended, so it is never recorded: the hook adds a trylock)\n",
           g_drained, g_dropped);
    return 0;
}
