/*
 * test_viewer_batch.c — `qptop -b` checked field by field against a
 * producer with exactly known samples (tests/viewer_prod.c "known"), with
 * the real qpulsed and real shared memory in a namespace of the test's own.
 *
 * JSON is read with jansson, CSV with a small RFC 4180 splitter, text by
 * its columns.
 *
 * Nothing is left behind however a test ends: the daemon and the producer
 * die with the Criterion worker that started them (PR_SET_PDEATHSIG: a
 * failed setup, a crash or a time-out skip the .fini), and the runner
 * removes, once all tests are done, the /dev/shm objects and runtime
 * directories of the namespaces its workers used (t-vbatch-RUNNER-WORKER).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char ns[64], rundir[128], bdir[512];
static pid_t daemon_pid, prod_pid;

/* In a child just forked: die with the parent (the Criterion worker). */
static void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(127);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv, returns its exit status and its stdout (and stderr when err
 * is given) as malloc'd strings. */
static int run(char *const argv[], char **out, char **err)
{
    int po[2], pe[2];
    cr_assert(pipe(po) == 0 && pipe(pe) == 0, "pipe");
    pid_t parent = getpid();
    pid_t p = fork();
    cr_assert(p >= 0, "fork");
    if (p == 0) {
        die_with_parent(parent);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t cap[2] = { 4096, 4096 }, len[2] = { 0, 0 };
    char *buf[2] = { malloc(cap[0]), malloc(cap[1]) };
    struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, 20000) <= 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            if (len[i] + 4096 > cap[i])
                buf[i] = realloc(buf[i], cap[i] *= 2);
            ssize_t n = read(fds[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
            if (n > 0) {
                len[i] += (size_t)n;
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    buf[0][len[0]] = 0;
    buf[1][len[1]] = 0;
    int st = 0;
    waitpid(p, &st, 0);
    *out = buf[0];
    if (err)
        *err = buf[1];
    else
        free(buf[1]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *qptop_path(void)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/viewer/qptop", bdir);
    return p;
}

/* qptop -b with extra arguments; returns stdout (exit status must be 0). */
static char *qptop(const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = { qptop_path(), "-b", "--ns", ns, (char *)a1, (char *)a2, (char *)a3,
                     (char *)a4, NULL };
    char *out, *err;
    int st = run(argv, &out, &err);
    cr_assert_eq(st, 0, "qptop -b %s %s exited %d: %s", a1 ? a1 : "", a2 ? a2 : "", st, err);
    free(err);
    return out;
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        json_t *k = json_object_get(v, key);
        if (json_is_string(k) && strcmp(json_string_value(k), val) == 0)
            return v;
    }
    return NULL;
}

static json_t *our_proc(json_t *snap)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(snap, "processes"), i, p)
        if (json_integer_value(json_object_get(p, "pid")) == prod_pid)
            return p;
    return NULL;
}

static json_t *op_of(json_t *snap, const char *op)
{
    json_t *p = our_proc(snap);
    return p ? find_by(json_object_get(p, "ops"), "op", op) : NULL;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "field %s is a number", k);
    return json_number_value(v);
}

/* Cumulative snapshot until the producer's samples are all in. */
static int samples_in(void)
{
    char *argv[] = { qptop_path(), "-b", "--ns", ns, "--format", "json", "--cumulative", NULL };
    char *out;
    int st = run(argv, &out, NULL);
    int ok = 0;
    if (st == 0) {
        json_t *s = json_loads(out, 0, NULL);
        json_t *f = s ? op_of(s, "Fast") : NULL, *sl = s ? op_of(s, "Slow") : NULL;
        json_t *o = s ? op_of(s, "Outer") : NULL;
        ok = f && sl && o && num(f, "count") == 100 && num(sl, "count") == 10 &&
             num(o, "count") == 4;
        json_decref(s);
    }
    free(out);
    return ok;
}

static pid_t spawn(char *const argv[], int out_fd)
{
    pid_t parent = getpid();
    pid_t p = fork();
    if (p == 0) {
        die_with_parent(parent);
        int dn = open("/dev/null", O_RDWR);
        dup2(out_fd >= 0 ? out_fd : dn, 1);
        dup2(dn, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static void setup(void)
{
    const char *b = getenv("top_builddir");
    if (!b)
        cr_skip_test("top_builddir is not set: run through make check");
    snprintf(bdir, sizeof bdir, "%s", b);
    char qpulsed[600], prod[600];
    snprintf(qpulsed, sizeof qpulsed, "%s/daemon/qpulsed", bdir);
    snprintf(prod, sizeof prod, "%s/tests/viewer_prod", bdir);
    if (access(qpulsed, X_OK) != 0)
        cr_skip_test("qpulsed is not built");
    /* The worker's parent is the runner (see the runner's cleanup below). */
    snprintf(ns, sizeof ns, "t-vbatch-%d-%d", (int)getppid(), (int)getpid());
    snprintf(rundir, sizeof rundir, "/tmp/qpulse-test-vbatch-%d-XXXXXX", (int)getppid());
    cr_assert(mkdtemp(rundir), "mkdtemp");
    chmod(rundir, 0700);
    setenv("QPULSE_NS", ns, 1);
    setenv("QPULSE_RUNTIME_DIR", rundir, 1);
    char *dargv[] = { qpulsed, "--ns", ns, NULL };
    daemon_pid = spawn(dargv, -1);
    char sock[256];
    snprintf(sock, sizeof sock, "%s/%s.sock", rundir, ns);
    double end = now_s() + 20;
    while (access(sock, F_OK) != 0 && now_s() < end)
        usleep(50000);
    cr_assert(access(sock, F_OK) == 0, "qpulsed did not start");
    int pp[2];
    cr_assert(pipe(pp) == 0);
    char *pargv[] = { prod, "known", NULL };
    prod_pid = spawn(pargv, pp[1]);
    close(pp[1]);
    char line[16] = { 0 };
    cr_assert(read(pp[0], line, sizeof line - 1) > 0 && strncmp(line, "ready", 5) == 0,
              "the producer recorded its samples");
    close(pp[0]);
    end = now_s() + 30;
    while (!samples_in() && now_s() < end)
        usleep(100000);
    cr_assert(samples_in(), "qpulsed aggregated all the producer's samples within 30 s");
}

static void stop(pid_t p)
{
    if (p <= 0)
        return;
    kill(p, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(p, NULL, WNOHANG) == p)
            return;
        usleep(50000);
    }
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
}

/* Removes what dir holds whose names start with prefix (a directory with
 * all it holds). */
static void remove_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            char path[512], cmd[600];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) == 0 || errno != EISDIR)
                continue;
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", path);
        }
    if (d)
        closedir(d);
}

static void teardown(void)
{
    stop(prod_pid);
    stop(daemon_pid);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "qpulse.%s.", ns);
    remove_prefixed("/dev/shm", prefix);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rundir);
    if (rundir[0] && system(cmd) != 0)
        cr_log_warn("could not remove %s", rundir);
}

TestSuite(viewer_batch, .init = setup, .fini = teardown, .timeout = 120);

/* In the runner, after every test: what a worker that ended without its
 * .fini left behind (its children are gone: they die with it). */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    char shm_prefix[64], dir_prefix[64];
    snprintf(shm_prefix, sizeof shm_prefix, "qpulse.t-vbatch-%d-", (int)getpid());
    snprintf(dir_prefix, sizeof dir_prefix, "qpulse-test-vbatch-%d-", (int)getpid());
    usleep(200000);   /* SIGTERMed daemons remove their own first */
    remove_prefixed("/dev/shm", shm_prefix);
    remove_prefixed("/tmp", dir_prefix);
}

#define NEAR(v, want, pct)                                                           \
    cr_expect(fabs((v) - (want)) <= (want) * (pct) / 100.0, "%s = %.1f, want %.1f ±%g%%", \
              #v, (double)(v), (double)(want), (double)(pct))

Test(viewer_batch, json_cumulative_fields)
{
    char *out = qptop("--format", "json", "--cumulative", NULL);
    cr_assert(strchr(out, '\n') == strrchr(out, '\n'), "one report, one line");
    json_error_t je;
    json_t *s = json_loads(out, 0, &je);
    cr_assert(s, "the report is JSON: %s", je.text);
    cr_expect_eq(num(s, "qpulse"), 1, "\"qpulse\": 1");
    cr_expect(num(s, "time") > 1.6e9, "time is seconds since the epoch");
    cr_expect(json_is_null(json_object_get(s, "window_s")), "window_s is null when cumulative");
    json_t *p = our_proc(s);
    cr_assert(p, "the producer is listed");
    cr_expect_str_eq(json_string_value(json_object_get(p, "name")), "viewer_prod");
    json_t *argv = json_object_get(p, "cmdline");
    cr_expect(json_is_array(argv) && json_array_size(argv) == 2, "cmdline: its 2 arguments");
    cr_expect(strstr(json_string_value(json_array_get(argv, 0)), "viewer_prod") != NULL,
              "cmdline[0] is the program");
    cr_expect_str_eq(json_string_value(json_array_get(argv, 1)), "known");
    cr_expect(json_is_true(json_object_get(p, "alive")), "alive");
    cr_expect_eq(num(p, "dropped"), 0, "nothing dropped");

    json_t *f = op_of(s, "Fast");
    cr_expect_str_eq(json_string_value(json_object_get(f, "set")), "vt");
    cr_expect_str_eq(json_string_value(json_object_get(f, "group")), "g1");
    cr_expect_str_eq(json_string_value(json_object_get(f, "description")),
                     "Fast operation, 1..100 us");
    cr_expect_eq(num(f, "priority"), 1);
    cr_expect_eq(num(f, "count"), 100, "count is exact when cumulative");
    cr_expect_eq(num(f, "min_ns"), 1000);
    cr_expect_eq(num(f, "max_ns"), 100000);
    cr_expect_eq(num(f, "total_ns"), 5050000);
    cr_expect_eq(num(f, "self_ns"), 5050000);
    NEAR(num(f, "mean_ns"), 50500, 0.01);
    /* percentiles within 1% of a nearest-rank or interpolated value */
    cr_expect(num(f, "p50_ns") >= 49500 && num(f, "p50_ns") <= 51005, "p50 %f",
              num(f, "p50_ns"));
    cr_expect(num(f, "p90_ns") >= 89100 && num(f, "p90_ns") <= 91910, "p90 %f",
              num(f, "p90_ns"));
    cr_expect(num(f, "p99_ns") >= 98010 && num(f, "p99_ns") <= 101000, "p99 %f",
              num(f, "p99_ns"));
    cr_expect(num(f, "p999_ns") >= 98910 && num(f, "p999_ns") <= 101000, "p999 %f",
              num(f, "p999_ns"));
    cr_expect(num(f, "stddev_ns") > 28000 && num(f, "stddev_ns") < 29500, "stddev %f",
              num(f, "stddev_ns"));
    cr_expect(num(f, "rate_per_s") >= 0, "rate_per_s is a number");

    json_t *sl = op_of(s, "Slow");
    cr_expect_eq(num(sl, "count"), 10);
    cr_expect_eq(num(sl, "total_ns"), 50000000);
    cr_expect_eq(num(sl, "min_ns"), 5000000);
    cr_expect_eq(num(sl, "max_ns"), 5000000);
    NEAR(num(sl, "mean_ns"), 5000000, 0.01);
    NEAR(num(sl, "p50_ns"), 5000000, 1);
    NEAR(num(sl, "p99_ns"), 5000000, 1);
    NEAR(num(sl, "p999_ns"), 5000000, 1);
    cr_expect_str_eq(json_string_value(json_object_get(sl, "group")), "g2");
    cr_expect_eq(num(sl, "priority"), 2);

    /* Inner ran nested in Outer: it is Outer's child, and Outer's self time
     * excludes it */
    json_t *o = op_of(s, "Outer"), *in = op_of(s, "Inner");
    cr_assert(o && in, "Outer and Inner are listed");
    json_t *ch = find_by(json_object_get(o, "children"), "op", "Inner");
    cr_assert(ch, "Inner is a child of Outer");
    cr_expect_eq(num(ch, "count"), 4);
    cr_expect(num(o, "self_ns") < num(o, "total_ns"), "Outer's self time excludes Inner");
    json_decref(s);
    free(out);
}

Test(viewer_batch, json_window_and_count)
{
    double t0 = now_s();
    char *out = qptop("--format", "json", "-n", "3");
    int lines = 0;
    double prev = 0;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        json_t *s = json_loads(l, 0, NULL);
        cr_assert(s, "line %d is one JSON report", lines + 1);
        cr_expect(json_is_number(json_object_get(s, "window_s")), "window_s is a number");
        cr_expect(num(s, "time") >= prev, "reports in time order");
        prev = num(s, "time");
        json_t *f = op_of(s, "Fast");
        if (f)
            cr_expect(num(f, "count") <= 100, "the window holds at most what was recorded");
        json_decref(s);
        lines++;
    }
    cr_expect_eq(lines, 3, "-n 3 prints 3 reports");
    cr_expect(now_s() - t0 >= 1.9, "reports are -d (default 1 s) apart");
    free(out);
}

/* Splits one CSV line (RFC 4180) in place into at most max fields. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *w = line, *r = line;
    while (n < max) {
        f[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else if (!*r) {
                    break;
                } else {
                    *w++ = *r++;
                }
            }
        }
        while (*r && *r != ',')
            *w++ = *r++;
        if (!*r) {
            *w = 0;
            break;
        }
        *w++ = 0;
        r++;
    }
    return n;
}

Test(viewer_batch, csv_header_and_rows)
{
    char *out = qptop("--format", "csv", "--cumulative", NULL);
    char *save = NULL, *l = strtok_r(out, "\n", &save);
    cr_assert(l, "a header row");
    char *h[64];
    int nh = csv_split(l, h, 64);
    int ci = -1, cpid = -1, cop = -1, cmin = -1, cmax = -1, ctot = -1, cdesc = -1, cset = -1;
    int ccmd = -1;
    for (int i = 0; i < nh; i++) {
        ci = strcmp(h[i], "count") == 0 ? i : ci;
        cpid = strcmp(h[i], "pid") == 0 ? i : cpid;
        cop = strcmp(h[i], "op") == 0 ? i : cop;
        cset = strcmp(h[i], "set") == 0 ? i : cset;
        cmin = strcmp(h[i], "min_ns") == 0 ? i : cmin;
        cmax = strcmp(h[i], "max_ns") == 0 ? i : cmax;
        ctot = strcmp(h[i], "total_ns") == 0 ? i : ctot;
        cdesc = strcmp(h[i], "description") == 0 ? i : cdesc;
        ccmd = strcmp(h[i], "cmdline") == 0 ? i : ccmd;
    }
    cr_expect_eq(ccmd, nh - 1, "cmdline, added last");
    cr_assert(ci >= 0 && cpid >= 0 && cop >= 0 && cmin >= 0 && cmax >= 0 && ctot >= 0 &&
              cdesc >= 0 && cset >= 0, "the header names its columns");
    int ours = 0, fast = 0;
    while ((l = strtok_r(NULL, "\n", &save))) {
        char *f[64];
        int n = csv_split(l, f, 64);
        cr_assert_eq(n, nh, "every row has the header's %d fields: %s", nh, l);
        if (atol(f[cpid]) != prod_pid)
            continue;
        ours++;
        cr_expect_str_eq(f[cset], "vt");
        if (strcmp(f[cop], "Fast") == 0) {
            fast = 1;
            cr_expect_str_eq(f[ci], "100");
            cr_expect_str_eq(f[cmin], "1000");
            cr_expect_str_eq(f[cmax], "100000");
            cr_expect_str_eq(f[ctot], "5050000");
            cr_expect_str_eq(f[cdesc], "Fast operation, 1..100 us", "a quoted field with a comma");
            cr_expect(strstr(f[ccmd], "viewer_prod known") != NULL, "cmdline: %s", f[ccmd]);
        }
        if (strcmp(f[cop], "Slow") == 0)
            cr_expect_str_eq(f[ci], "10");
    }
    cr_expect_eq(ours, 4, "one row per operation of the producer");
    cr_expect(fast, "the Fast row is there");
    free(out);
}

Test(viewer_batch, text_is_the_table)
{
    char *out = qptop("--format", "text", "--cumulative", "--sort=count");
    cr_expect(strstr(out, "namespace t-vbatch-"), "the header names the namespace");
    cr_expect(strstr(out, "cumulative"), "the header says cumulative");
    const char *cols[] = { "PID", "PROCESS", "OPERATION", "COUNT", "RATE/s", "TOTAL", "SHARE",
                           "MEAN", "P50", "P99", "P99.9", "MAX", "SELF", "CPU%", "RSS" };
    char *hdr = strstr(out, " PID ");
    cr_assert(hdr, "a column header");
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        cr_expect(strstr(hdr, cols[i]), "column %s", cols[i]);
    cr_expect(strstr(out, "viewer_prod known "), "PROCESS: the name and its first argument");
    char *fast = strstr(out, "vt.Fast"), *slow = strstr(out, "vt.Slow");
    cr_assert(fast && slow, "a row per op");
    cr_expect(fast < slow, "--sort count: Fast (100) before Slow (10)");
    char line[512];
    char *eol = strchr(fast, '\n');
    snprintf(line, sizeof line, "%.*s", (int)(eol ? eol - fast : 200), fast);
    /* vt.Fast 100 <rate> 5.05ms <share> 50.5us <p50> <p99> <p999> 100us 50.5us */
    char *tok[16];
    int n = 0;
    for (char *t = strtok(line, " "); t && n < 16; t = strtok(NULL, " "))
        tok[n++] = t;
    cr_assert(n >= 11, "the Fast row has its cells: %d", n);
    cr_expect_str_eq(tok[1], "100", "COUNT");
    cr_expect_str_eq(tok[3], "5.05ms", "TOTAL: 100 x 50.5us");
    cr_expect(tok[4][strlen(tok[4]) - 1] == '%', "SHARE is a percentage: %s", tok[4]);
    cr_expect_str_eq(tok[5], "50.5us", "MEAN");
    cr_expect_str_eq(tok[9], "100us", "MAX");
    cr_expect_str_eq(tok[10], "50.5us", "SELF");
    free(out);
}

/* Without --sort the table opens by total time, what dominates first:
 * Slow (10 x 5 ms = 50 ms) above Fast (100 x 50.5 us = 5.05 ms) although
 * Fast ran ten times as often. */
Test(viewer_batch, text_sorted_by_total_by_default)
{
    char *out = qptop("--format", "text", "--cumulative", NULL);
    char *slow = strstr(out, "vt.Slow"), *fast = strstr(out, "vt.Fast");
    cr_assert(slow && fast);
    cr_expect(slow < fast, "Slow (50 ms in all) before Fast (5.05 ms)");
    cr_expect(strstr(out, "grouped by process"), "the default grouping");
    free(out);
    out = qptop("--format", "text", "--cumulative", "--sort=share");
    slow = strstr(out, "vt.Slow"), fast = strstr(out, "vt.Fast");
    cr_assert(slow && fast);
    cr_expect(slow < fast, "--sort share: the same order");
    free(out);
}

Test(viewer_batch, no_daemon_is_an_error)
{
    char other[80];
    snprintf(other, sizeof other, "%s-none", ns);
    char *argv[] = { qptop_path(), "-b", "--ns", other, NULL };
    char *out, *err;
    int st = run(argv, &out, &err);
    cr_expect_eq(st, 1, "exit 1 without a daemon");
    char want[200];
    snprintf(want, sizeof want, "qpulsed is not running in namespace %s", other);
    cr_expect(strstr(err, want), "says why: %s", err);
    free(out);
    free(err);
}

/* --input: a file of several reports (qptop -b -n 2 --format json > f) is
 * read as its first report, printed as one line; a file without an end is
 * refused instead of read until memory runs out. */
Test(viewer_batch, input_file_first_report_and_bounded)
{
    char path[256];
    snprintf(path, sizeof path, "%s/two.json", rundir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"qpulse\":1,\"time\":1,\"window_s\":null,\"processes\":[]}\n"
          "{\"qpulse\":1,\"time\":2,\"window_s\":null,\"processes\":[]}\n", f);
    fclose(f);
    char *argv[] = { qptop_path(), "-b", "--input", path, "--format", "json", NULL };
    char *out, *err;
    int st = run(argv, &out, &err);
    cr_expect_eq(st, 0, "exit 0: %s", err);
    cr_expect_str_eq(out, "{\"qpulse\":1,\"time\":1,\"window_s\":null,\"processes\":[]}\n",
                     "one report, the first");
    free(out);
    free(err);
    char *zargv[] = { qptop_path(), "-b", "--input", "/dev/zero", NULL };
    st = run(zargv, &out, &err);
    cr_expect_eq(st, 1, "an endless file is an error");
    cr_expect(strstr(err, "/dev/zero"), "says which file: %s", err);
    free(out);
    free(err);
}
