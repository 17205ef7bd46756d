/*
 * slow_check.c — checks for the flight recorder's tests.
 *
 *   slow_check tree SNAPSHOT PID EXPECT [TOL_NS]
 *       The slowest samples of sp.Request of PID (a snapshot file) hold
 *       every outlier slow_prod wrote to EXPECT, each with Parse and Risk
 *       inside it and Db inside Risk, their offsets and durations within
 *       TOL_NS (default 30000) of what the producer measured, and at every
 *       level the children's durations plus the self time equal the
 *       duration (within rounding).
 *   slow_check trace TRACE PID COUNT
 *       TRACE is a Trace Event Format object whose complete events of PID
 *       number exactly COUNT, each well formed, nesting properly on each
 *       thread (an event either ends before the next begins or holds it),
 *       with process_name and thread_name metadata for them.
 *
 * Exit 0 when the check holds, 1 (with the reason) when not, 2 on misuse.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common.h"
#include "snapshot.h"

#include <stdarg.h>

#include "testutil.h"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "slow_check: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* children + self == dur at every level (1 ns of rounding per child). */
static int sums_ok(const qp_snap_span_t *v, size_t n, uint64_t dur, uint64_t self)
{
    uint64_t sum = self;
    for (size_t i = 0; i < n; i++) {
        sum += v[i].dur_ns;
        if (!sums_ok(v[i].children, v[i].nchildren, v[i].dur_ns, v[i].self_ns))
            return 0;
    }
    uint64_t d = sum > dur ? sum - dur : dur - sum;
    return d <= 4 + 4 * n;
}

static int near(uint64_t got, uint64_t want, uint64_t tol)
{
    return got + tol >= want && got <= want + tol;
}

static int cmp_desc(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return QP_CMP(y[0], x[0]);
}

static int cmp_slow_desc(const void *a, const void *b)
{
    const qp_snap_slow_t *x = *(const qp_snap_slow_t *const *)a;
    const qp_snap_slow_t *y = *(const qp_snap_slow_t *const *)b;
    return QP_CMP(y->dur_ns, x->dur_ns);
}

static int check_tree(const char *snapfile, long pid, const char *expfile, uint64_t tol)
{
    char err[256];
    qp_snapshot_t *s = qp_snapshot_load(snapfile, err, sizeof err);
    if (!s)
        return fail("%s: %s", snapfile, err);
    const qp_snap_op_t *req = NULL;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            for (size_t j = 0; j < s->procs[i].nops; j++)
                if (!strcmp(s->procs[i].ops[j].set, "sp") &&
                    !strcmp(s->procs[i].ops[j].op, "Request"))
                    req = &s->procs[i].ops[j];
    if (!req)
        return fail("no sp.Request of pid %ld in the snapshot", pid);
    FILE *f = fopen(expfile, "r");
    if (!f)
        return fail("cannot read %s", expfile);
    uint64_t exp[64][7];
    size_t ne = 0;
    unsigned long long v[7];
    while (ne < 64 && fscanf(f, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                             &v[4], &v[5], &v[6]) == 7) {
        for (int k = 0; k < 7; k++)
            exp[ne][k] = v[k];
        ne++;
    }
    fclose(f);
    if (!ne)
        return fail("no outlier in %s", expfile);
    /* The outliers are the slowest samples with the outlier's shape (a
     * normal request preempted once may be slower, but it lacks the shape). */
    const qp_snap_slow_t *got[128];
    size_t ng = 0;
    for (size_t i = 0; i < req->nslowest && ng < 128; i++) {
        const qp_snap_slow_t *sl = &req->slowest[i];
        if (sl->nchildren == 2 && !strcmp(sl->children[0].op, "Parse") &&
            !strcmp(sl->children[1].op, "Risk") && sl->children[1].nchildren == 1 &&
            !strcmp(sl->children[1].children[0].op, "Db") && sl->children[0].dur_ns >= 50000 &&
            sl->children[0].offset_ns >= 20000 && sl->children[1].offset_ns >= 80000 &&
            sl->children[1].children[0].dur_ns >= 100000 &&
            sl->children[1].children[0].offset_ns >= 30000)
            got[ng++] = sl;
    }
    if (ng != ne) {
        fprintf(stderr, "slow_check: %zu outliers recorded, %zu found among the %zu slowest:\n",
                ne, ng, req->nslowest);
        for (size_t i = 0; i < req->nslowest; i++)
            fprintf(stderr, "  %llu ns, %zu children\n",
                    (unsigned long long)req->slowest[i].dur_ns, req->slowest[i].nchildren);
        return 1;
    }
    qsort(exp, ne, sizeof exp[0], cmp_desc);
    qsort(got, ng, sizeof got[0], cmp_slow_desc);
    for (size_t i = 0; i < ne; i++) {
        const qp_snap_slow_t *g = got[i];
        const qp_snap_span_t *pa = &g->children[0], *ri = &g->children[1],
                             *db = &ri->children[0];
        const uint64_t *e = exp[i];
        char what[64];
        snprintf(what, sizeof what, "outlier %zu", i);
        if (!near(g->dur_ns, e[0], tol))
            return fail("%s: duration %.0f ns, the producer measured %.0f", what,
                        (double)g->dur_ns, (double)e[0]);
        if (!near(pa->offset_ns, e[1], tol) || !near(pa->dur_ns, e[2], tol))
            return fail("%s: Parse at +%.0f ns lasting %.0f (see EXPECT)", what,
                        (double)pa->offset_ns, (double)pa->dur_ns);
        if (!near(ri->offset_ns, e[3], tol) || !near(ri->dur_ns, e[4], tol))
            return fail("%s: Risk at +%.0f ns lasting %.0f (see EXPECT)", what,
                        (double)ri->offset_ns, (double)ri->dur_ns);
        if (!near(db->offset_ns, e[5], tol) || !near(db->dur_ns, e[6], tol))
            return fail("%s: Db at +%.0f ns lasting %.0f (see EXPECT)", what,
                        (double)db->offset_ns, (double)db->dur_ns);
        if (!sums_ok(g->children, g->nchildren, g->dur_ns, g->self_ns))
            return fail("%s: children + self != duration (%.0f ns, self %.0f)", what,
                        (double)g->dur_ns, (double)g->self_ns);
        if (pa->offset_ns + pa->dur_ns > ri->offset_ns)
            return fail("%s: Parse ends after Risk starts", what);
        if (ri->offset_ns + ri->dur_ns > g->dur_ns || db->offset_ns + db->dur_ns > ri->dur_ns)
            return fail("%s: a child ends after its parent", what);
    }
    printf("%zu outliers found with their trees\n", ne);
    qp_snapshot_free(s);
    return 0;
}

struct ev {
    long tid;
    double ts, end;
};

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    int c;
    if ((c = QP_CMP(x->tid, y->tid)) || (c = QP_CMP(x->ts, y->ts)))
        return c;
    return QP_CMP(y->end, x->end);
}

static int check_trace(const char *file, long pid, long want)
{
    json_error_t je;
    json_t *root = json_load_file(file, 0, &je);
    if (!root)
        return fail("%s: not JSON (%s)", file, je.text);
    json_t *evs = json_object_get(root, "traceEvents");
    if (!json_is_array(evs))
        return fail("%s: no traceEvents array", file);
    size_t n = json_array_size(evs), nx = 0;
    struct ev *v = calloc(n ? n : 1, sizeof *v);
    long tids[1024];
    size_t ntids = 0;
    int pname = 0;
    size_t nthread_names = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(evs, i);
        const char *ph = json_string_value(json_object_get(e, "ph"));
        json_t *jp = json_object_get(e, "pid");
        if (!ph || !json_is_integer(jp))
            return fail("event %zu has no ph or pid", i);
        if (json_integer_value(jp) != pid)
            continue;
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!strcmp(ph, "M")) {
            if (name && !strcmp(name, "process_name"))
                pname = 1;
            if (name && !strcmp(name, "thread_name"))
                nthread_names++;
            continue;
        }
        if (strcmp(ph, "X"))
            return fail("unexpected event phase '%s'", ph);
        json_t *ts = json_object_get(e, "ts"), *dur = json_object_get(e, "dur"),
               *tid = json_object_get(e, "tid"), *args = json_object_get(e, "args");
        json_t *self = json_object_get(args, "self_ns");
        if (!name || !strchr(name, '.') || !json_is_string(json_object_get(e, "cat")) ||
            !json_is_number(ts) || !json_is_number(dur) || !json_is_integer(tid) ||
            !json_is_integer(self))
            return fail("malformed complete event '%s'", name ? name : "?");
        if ((double)json_integer_value(self) > json_number_value(dur) * 1000 + 1)
            return fail("%s: self_ns %.0f above its duration %.3f us", name,
                        (double)json_integer_value(self), json_number_value(dur));
        v[nx].tid = (long)json_integer_value(tid);
        v[nx].ts = json_number_value(ts);
        v[nx].end = v[nx].ts + json_number_value(dur);
        nx++;
        size_t k;
        for (k = 0; k < ntids && tids[k] != v[nx - 1].tid; k++)
            ;
        if (k == ntids && ntids < 1024)
            tids[ntids++] = v[nx - 1].tid;
    }
    if ((long)nx != want)
        return fail("%zu complete events of the process, %ld recorded", nx, want);
    if (!pname || nthread_names < ntids)
        return fail("process_name or thread_name metadata missing (%zu threads, %zu names)",
                    ntids, nthread_names);
    qsort(v, nx, sizeof *v, ev_cmp);
    /* A stack of the open events' ends, per thread. */
    double *stack = calloc(nx ? nx : 1, sizeof *stack);
    size_t depth = 0, maxdepth = 0;
    const double eps = 0.0045;   /* rounding of the producer's tick conversion */
    for (size_t i = 0; i < nx; i++) {
        if (i == 0 || v[i].tid != v[i - 1].tid)
            depth = 0;
        while (depth && stack[depth - 1] <= v[i].ts + eps)
            depth--;
        if (depth && v[i].end > stack[depth - 1] + eps)
            return fail("on thread %ld an event at %.3f us overlaps one ending at %.3f us",
                        v[i].tid, v[i].ts, stack[depth - 1]);
        stack[depth++] = v[i].end;
        if (depth > maxdepth)
            maxdepth = depth;
    }
    printf("%zu events on %zu threads, nested %zu deep\n", nx, ntids, maxdepth);
    free(stack);
    free(v);
    json_decref(root);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "tree"))
        return check_tree(argv[2], atol(argv[3]), argv[4],
                          argc > 5 ? strtoull(argv[5], NULL, 10) : 30000);
    if (argc == 5 && !strcmp(argv[1], "trace"))
        return check_trace(argv[2], atol(argv[3]), atol(argv[4]));
    return tu_usage("slow_check tree SNAPSHOT PID EXPECT [TOL_NS] | trace TRACE PID COUNT");
}
