/*
 * qpd_tool.c — the shell tests' window into qpulsed: asks the daemon for a
 * snapshot and reads fields out of it (through lib/snapshot.c, the one
 * snapshot reader), and checks percentiles against exact values.
 *
 *   qpd_tool req LINE                    send LINE, print the reply
 *   qpd_tool hold TEXT                   connect, send TEXT without a newline,
 *                                        print what comes back and how long
 *                                        the daemon kept the connection open
 *   qpd_tool get FILE PID SET OP FIELD   print one op field (count, p50_ns, ...)
 *   qpd_tool get FILE PID - - FIELD      print a process field (alive, dropped,
 *                                        threads, nops, cpu_pct, rss_bytes)
 *   qpd_tool kid FILE PID SET OP CHILD   print "count total_ns" of a child
 *   qpd_tool pct FILE PID SET OP VALUES  compare count, min, max, mean and
 *                                        p50/p90/p99/p99.9 with the exact
 *                                        values in VALUES (one per line);
 *                                        exit 1 beyond 1 %
 *
 * PID may be "name:NAME" to pick the first process called NAME.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "snapshot.h"
#include "testutil.h"

static qp_snapshot_t *load(const char *path)
{
    char err[256];
    qp_snapshot_t *s = qp_snapshot_load(path, err, sizeof err);
    if (!s) {
        fprintf(stderr, "qpd_tool: %s: %s\n", path, err);
        exit(2);
    }
    return s;
}

static qp_snap_proc_t *find_proc(qp_snapshot_t *s, const char *pid)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        qp_snap_proc_t *p = &s->procs[i];
        if (!strncmp(pid, "name:", 5) ? !strcmp(p->name, pid + 5) : p->pid == atol(pid))
            return p;
    }
    return NULL;
}

static qp_snap_op_t *find_op(qp_snap_proc_t *p, const char *set, const char *op)
{
    for (size_t i = 0; p && i < p->nops; i++)
        if (!strcmp(p->ops[i].set, set) && !strcmp(p->ops[i].op, op))
            return &p->ops[i];
    return NULL;
}

static int get_field(qp_snapshot_t *s, char **argv)
{
    qp_snap_proc_t *p = find_proc(s, argv[3]);
    const char *f = argv[6];
    if (!p) {
        printf("none\n");
        return 1;
    }
    if (!strcmp(argv[4], "-")) {
        if (!strcmp(f, "alive")) printf("%d\n", p->alive);
        else if (!strcmp(f, "dropped")) printf("%llu\n", (unsigned long long)p->dropped);
        else if (!strcmp(f, "lost")) printf("%llu\n", (unsigned long long)p->lost);
        else if (!strcmp(f, "threads")) printf("%u\n", p->threads);
        else if (!strcmp(f, "nops")) printf("%zu\n", p->nops);
        else if (!strcmp(f, "cpu_pct")) printf("%g\n", p->cpu_pct);
        else if (!strcmp(f, "rss_bytes")) printf("%llu\n", (unsigned long long)p->rss_bytes);
        else if (!strcmp(f, "pid")) printf("%ld\n", p->pid);
        else return 2;
        return 0;
    }
    qp_snap_op_t *o = find_op(p, argv[4], argv[5]);
    if (!o) {
        printf("0\n");   /* an op without samples is not listed */
        return 0;
    }
#define U(name) else if (!strcmp(f, #name)) printf("%llu\n", (unsigned long long)o->name)
    if (0) {}
    U(count); U(min_ns); U(max_ns); U(p50_ns); U(p90_ns); U(p99_ns); U(p999_ns);
    U(total_ns); U(self_ns); U(p99_prev_ns); U(nhist); U(nbudgets); U(dropped);
    else if (!strcmp(f, "mean_ns")) printf("%.3f\n", o->mean_ns);
    else if (!strcmp(f, "rate_per_s")) printf("%.3f\n", o->rate_per_s);
    else if (!strcmp(f, "stddev_ns")) printf("%.3f\n", o->stddev_ns);
    else if (!strcmp(f, "broken")) {
        int b = 0;
        for (size_t i = 0; i < o->nbudgets; i++)
            b |= o->budgets[i].broken;
        printf("%d\n", b);
    } else if (!strcmp(f, "histsum")) {
        unsigned long long n = 0;
        for (size_t i = 0; i < o->nhist; i++)
            n += o->hist[i].count;
        printf("%llu\n", n);
    } else return 2;
#undef U
    return 0;
}

/* The commands on a snapshot file (argv[2], loaded and freed by main). */
static int cmd_get(qp_snapshot_t *s, char **argv)
{
    return get_field(s, argv);
}

static int cmd_kid(qp_snapshot_t *s, char **argv)
{
    qp_snap_op_t *o = find_op(find_proc(s, argv[3]), argv[4], argv[5]);
    for (size_t i = 0; o && i < o->nchildren; i++)
        if (!strcmp(o->children[i].op, argv[6])) {
            printf("%llu %llu\n", (unsigned long long)o->children[i].count,
                   (unsigned long long)o->children[i].total_ns);
            return 0;
        }
    printf("0 0\n");
    return 1;
}

/* The p-th percentile by the nearest-rank definition. */
static uint64_t exact_pct(const uint64_t *v, size_t n, double p)
{
    double r = p / 100.0 * (double)n;
    size_t rank = (size_t)ceil(r - 1e-9);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static int close_enough(const char *what, double got, double want, double tol)
{
    double err = want == 0 ? fabs(got) : fabs(got - want) / want;
    int ok = err <= tol;
    printf("%-6s daemon %-16.3f exact %-16.3f error %.4f%% %s\n", what, got, want,
           err * 100.0, ok ? "ok" : "TOO FAR");
    return ok;
}

static int cmd_pct(qp_snapshot_t *s, char **argv)
{
    qp_snap_op_t *o = find_op(find_proc(s, argv[3]), argv[4], argv[5]);
    if (!o) {
        fprintf(stderr, "qpd_tool: no op %s.%s for %s\n", argv[4], argv[5], argv[3]);
        return 1;
    }
    FILE *f = fopen(argv[6], "r");
    if (!f) {
        perror(argv[6]);
        return 2;
    }
    size_t n = 0, cap = 1 << 16;
    uint64_t *v = malloc(cap * sizeof *v);
    unsigned long long x;
    double sum = 0;
    while (v && fscanf(f, "%llu", &x) == 1) {
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        if (!v)
            break;
        v[n++] = x;
        sum += (double)x;
    }
    fclose(f);
    if (!v || !n) {
        fprintf(stderr, "qpd_tool: no values\n");
        free(v);
        return 2;
    }
    qsort(v, n, sizeof *v, tu_cmp_u64);
    int ok = 1;
    ok &= close_enough("count", (double)o->count, (double)n, 0);
    ok &= close_enough("min", (double)o->min_ns, (double)v[0], 0);
    ok &= close_enough("max", (double)o->max_ns, (double)v[n - 1], 0);
    ok &= close_enough("mean", o->mean_ns, sum / (double)n, 1e-6);
    ok &= close_enough("p50", (double)o->p50_ns, (double)exact_pct(v, n, 50), 0.01);
    ok &= close_enough("p90", (double)o->p90_ns, (double)exact_pct(v, n, 90), 0.01);
    ok &= close_enough("p99", (double)o->p99_ns, (double)exact_pct(v, n, 99), 0.01);
    ok &= close_enough("p99.9", (double)o->p999_ns, (double)exact_pct(v, n, 99.9), 0.01);
    free(v);
    return ok ? 0 : 1;
}

static int cmd_req(char **argv)
{
    const char *ns = qp_ns_from_env();
    char *out = NULL;
    size_t len = 0;
    int r = qp_client_request(ns ? ns : "default", argv[2], &out, &len, 10000);
    if (r < 0) {
        fprintf(stderr, "qpd_tool: %s\n", strerror(-r));
        return 1;
    }
    fwrite(out, 1, len, stdout);
    if (len && out[len - 1] != '\n')
        putchar('\n');
    free(out);
    return 0;
}

static int cmd_hold(char **argv)
{
    const char *ns = qp_ns_from_env();
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (qp_socket_path(sa.sun_path, sizeof sa.sun_path, ns ? ns : "default") < 0)
        return 1;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (write(fd, argv[2], strlen(argv[2])) < 0)
        return 1;
    char buf[4096];
    ssize_t n, total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        fwrite(buf, 1, (size_t)n, stdout);
        total += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("closed after %.2f s, %zd bytes\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, total);
    close(fd);
    return 0;
}

static const struct {
    const char *name;
    int argc;
    int (*on_snapshot)(qp_snapshot_t *s, char **argv);   /* or: */
    int (*run)(char **argv);
} cmds[] = {
    { "get", 7, cmd_get, NULL },
    { "kid", 7, cmd_kid, NULL },
    { "pct", 7, cmd_pct, NULL },
    { "req", 3, NULL, cmd_req },
    { "hold", 3, NULL, cmd_hold },
};

int main(int argc, char **argv)
{
    int r = 2;
    for (size_t i = 0; argc >= 2 && i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (argc != cmds[i].argc)
            break;
        if (cmds[i].run) {
            r = cmds[i].run(argv);
        } else {
            qp_snapshot_t *s = load(argv[2]);
            r = cmds[i].on_snapshot(s, argv);
            qp_snapshot_free(s);
        }
        break;
    }
    if (r == 2)
        fprintf(stderr, "qpd_tool: bad usage or field (see tests/qpd_tool.c)\n");
    return r;
}
