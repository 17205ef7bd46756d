/*
 * check_baseline.c — `qpulse check --baseline OLD.json`: regressions of a
 * snapshot against a saved one.
 *
 * Operations are matched by (process name, set, op): pids change from run to
 * run, names do not.  Several processes of one name (workers) are merged:
 * counts add up, mean is count-weighted, max is the max, and percentiles are
 * count-weighted averages — an approximation (exact merging needs the
 * histograms), good enough to see a shift by the tolerance; the report says
 * when it was used.
 *
 * A stat is judged only when both runs have enough samples for it to mean
 * something: a percentile pQ is estimated from the samples above it, and
 * with fewer than ~10 of them one outlier moves it arbitrarily, so pQ needs
 * 10 / (1 - Q) samples (p50: 20, p90: 100, p99: 1000, p999: 10000).  The
 * mean needs 10, max 1 (max is noisy by nature; ask for it knowingly).
 * "Slower" is strictly more than the tolerance: with 10%, 100us -> 110us
 * holds and 100us -> 110.1us fails.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"

enum { COLS = 8 };

/* The statuses, in report order. */
enum bl_status { BL_SLOWER, BL_VANISHED, BL_FASTER, BL_OK, BL_SKIPPED, BL_NEW };

static const char *const bl_status_text[] = {
    [BL_SLOWER] = "SLOWER", [BL_VANISHED] = "vanished", [BL_FASTER] = "faster",
    [BL_OK] = "ok",         [BL_SKIPPED] = "skipped",   [BL_NEW] = "new",
};

/* One (process name, set, op) of a snapshot, merged over its pids. */
typedef struct bl_op {
    const char *proc, *set, *op;        /* borrowed from the snapshot */
    uint64_t count;
    double v[QP_STAT_COUNT_];
    int nprocs, seen;
} bl_op_t;

typedef struct bl_res {
    enum bl_status status;
    size_t seq;                         /* for a stable sort */
    const bl_op_t *old, *now;
    int stat;                           /* -1 for new/vanished */
    double pct;
    long need;
} bl_res_t;

long chk_min_count(qp_stat_t s)
{
    static const long need[QP_STAT_COUNT_] = {
        [QP_STAT_MEAN] = 10, [QP_STAT_P50] = 20,    [QP_STAT_P90] = 100,
        [QP_STAT_P99] = 1000, [QP_STAT_P999] = 10000, [QP_STAT_MAX] = 1,
    };
    return (unsigned)s < QP_STAT_COUNT_ ? need[s] : 1;
}

static bl_op_t *bl_find(bl_op_t *a, size_t n, const char *proc, const char *set, const char *op)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].proc, proc) && !strcmp(a[i].set, set) && !strcmp(a[i].op, op))
            return &a[i];
    return NULL;
}

/* The snapshot's ops merged by (process name, set, op); NULL on OOM. */
static bl_op_t *bl_collect(const qp_snapshot_t *s, size_t *n)
{
    size_t cap = 1;
    for (size_t i = 0; i < s->nprocs; i++)
        cap += s->procs[i].nops;
    bl_op_t *a = calloc(cap, sizeof *a);
    *n = 0;
    if (!a)
        return NULL;
    for (size_t i = 0; i < s->nprocs; i++) {
        const qp_snap_proc_t *p = &s->procs[i];
        for (size_t j = 0; j < p->nops; j++) {
            const qp_snap_op_t *op = &p->ops[j];
            bl_op_t *e = bl_find(a, *n, p->name, op->set, op->op);
            if (!e) {
                e = &a[(*n)++];
                e->proc = p->name, e->set = op->set, e->op = op->op;
            }
            e->nprocs++;
            e->count += op->count;
            for (int k = 0; k < QP_STAT_COUNT_; k++) {
                double v = qp_snap_op_stat(op, k);
                if (k == QP_STAT_MAX)
                    e->v[k] = fmax(e->v[k], v);
                else
                    e->v[k] += v * (double)op->count;       /* weighted; divided below */
            }
        }
    }
    for (size_t i = 0; i < *n; i++)
        for (int k = 0; k < QP_STAT_COUNT_; k++)
            if (k != QP_STAT_MAX)
                a[i].v[k] = a[i].count ? a[i].v[k] / (double)a[i].count : 0;
    return a;
}

typedef struct bl_state {
    const chk_opts_t *o;
    bl_res_t *res;
    size_t nres, cap;
    size_t n[BL_NEW + 1];               /* results per status */
} bl_state_t;

static void bl_add(bl_state_t *st, enum bl_status s, const bl_op_t *old, const bl_op_t *now,
                   int stat, double pct, long need)
{
    if (st->nres == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 64;
        bl_res_t *nr = realloc(st->res, ncap * sizeof *nr);
        if (!nr)
            return;
        st->res = nr, st->cap = ncap;
    }
    st->res[st->nres] = (bl_res_t){ s, st->nres, old, now, stat, pct, need };
    st->nres++;
    st->n[s]++;
}

/* Compares one op present in both snapshots, stat by stat. */
static void bl_compare(bl_state_t *st, const bl_op_t *old, const bl_op_t *now)
{
    const chk_opts_t *o = st->o;
    double tol = o->tolerance_pct;
    for (size_t i = 0; i < o->nstats; i++) {
        int k = o->stats[i];
        long need = o->min_count >= 0 ? o->min_count : chk_min_count(k);
        if (old->count < (uint64_t)need || now->count < (uint64_t)need) {
            bl_add(st, BL_SKIPPED, old, now, k, 0, need);
            continue;
        }
        double a = old->v[k], b = now->v[k];
        double pct = a > 0 ? (b - a) / a * 100 : (b > 0 ? INFINITY : 0);
        /* Compared as b*100 against a*(100+tol) so that the edge is exact for
         * integer nanoseconds and percentages: 110 vs 100 at 10% holds. */
        enum bl_status s = b * 100 > a * (100 + tol) ? BL_SLOWER :
                           b * 100 < a * (100 - tol) ? BL_FASTER : BL_OK;
        bl_add(st, s, old, now, k, pct, need);
    }
}

static int bl_cmp(const void *x, const void *y)
{
    const bl_res_t *a = x, *b = y;
    if (a->status != b->status)
        return (int)a->status - (int)b->status;
    return QP_CMP(a->seq, b->seq);
}

/* The note column of one result. */
static void bl_note(const bl_res_t *r, char *buf, size_t len)
{
    const bl_op_t *e = r->now ? r->now : r->old;
    int merged = (r->old && r->old->nprocs > 1) || (r->now && r->now->nprocs > 1);
    switch (r->status) {
    case BL_SKIPPED:
        snprintf(buf, len, "%llu/%llu samples, %ld needed",
                 (unsigned long long)r->old->count, (unsigned long long)r->now->count, r->need);
        return;
    case BL_NEW:
        snprintf(buf, len, "not in the baseline (%llu samples)", (unsigned long long)e->count);
        return;
    case BL_VANISHED:
        snprintf(buf, len, "not in the new snapshot (%llu samples before)",
                 (unsigned long long)e->count);
        return;
    default:
        snprintf(buf, len, "%s", merged ? "processes of one name merged: approximate" : "");
    }
}

static void bl_row(const bl_state_t *st, chk_table_t *t, const bl_res_t *r)
{
    const bl_op_t *e = r->now ? r->now : r->old;
    char name[160], a[32], b[32], d[32], change[64], note[128];
    snprintf(name, sizeof name, "%s.%s", e->set, e->op);
    a[0] = b[0] = change[0] = '\0';
    if (r->stat >= 0) {
        qp_format_ns(r->old->v[r->stat], a, sizeof a);
        qp_format_ns(r->now->v[r->stat], b, sizeof b);
        if (r->status != BL_SKIPPED)
            snprintf(change, sizeof change, "%+.2f%% (%s)", r->pct,
                     chk_format_diff(r->now->v[r->stat] - r->old->v[r->stat], d, sizeof d));
    }
    bl_note(r, note, sizeof note);
    const char *cells[COLS] = { bl_status_text[r->status], e->proc, name,
                                r->stat >= 0 ? qp_stat_name(r->stat) : "", a, b, change,
                                note };
    if (!st->o->quiet || r->status == BL_SLOWER ||
        (r->status == BL_VANISHED && st->o->strict))
        chk_table_add(t, cells);
}

static json_t *bl_json(const bl_res_t *r)
{
    const bl_op_t *e = r->now ? r->now : r->old;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "status", bl_status_text[r->status],
                          "process", e->proc, "set", e->set, "op", e->op);
    if (r->stat >= 0)
        json_object_set_new(j, "stat", json_string(qp_stat_name(r->stat)));
    if (r->old)
        json_object_set_new(j, "baseline_count", json_integer((json_int_t)r->old->count));
    if (r->now)
        json_object_set_new(j, "count", json_integer((json_int_t)r->now->count));
    if (r->stat >= 0) {
        json_object_set_new(j, "baseline_ns", json_real(r->old->v[r->stat]));
        json_object_set_new(j, "value_ns", json_real(r->now->v[r->stat]));
    }
    if (r->status == BL_SKIPPED)
        json_object_set_new(j, "needed", json_integer(r->need));
    else if (r->stat >= 0 && isfinite(r->pct))
        json_object_set_new(j, "change_pct", json_real(r->pct));
    return j;
}

static void bl_print(const bl_state_t *st)
{
    static const char *const head[COLS] = { "STATUS", "PROCESS", "OPERATION", "STAT",
                                            "BASELINE", "NOW", "CHANGE", "NOTE" };
    chk_table_t t;
    chk_table_init(&t, COLS);
    chk_table_add(&t, head);
    for (size_t i = 0; i < st->nres; i++)
        bl_row(st, &t, &st->res[i]);
    if (t.nrows > 1)
        chk_table_print(&t, stdout);
    chk_table_free(&t);
    if (st->n[BL_SKIPPED])
        printf("note: %zu comparisons skipped for too few samples: a percentile pQ is judged "
               "only with about 10 samples above it, 10/(1-Q) in all (p50 20, p90 100, "
               "p99 1000, p999 10000; mean 10, max 1); --min-count N sets one minimum\n",
               st->n[BL_SKIPPED]);
}

static void bl_summary(const bl_state_t *st, const char *path, size_t judged, int rc)
{
    const chk_opts_t *o = st->o;
    char stats[64] = "";
    for (size_t i = 0; i < o->nstats; i++)
        snprintf(stats + strlen(stats), sizeof stats - strlen(stats), "%s%s", i ? "," : "",
                 qp_stat_name(o->stats[i]));
    printf("qpulse check: %s: %zu of %zu comparisons slower by more than %g%% (baseline %s, "
           "%s); %zu faster, %zu skipped, %zu new, %zu vanished%s\n",
           rc == CHK_OK ? "ok" : "FAILED", st->n[BL_SLOWER], judged, o->tolerance_pct, path,
           stats, st->n[BL_FASTER], st->n[BL_SKIPPED], st->n[BL_NEW], st->n[BL_VANISHED],
           o->strict && st->n[BL_VANISHED] ? " (vanished ones fail under --strict)" : "");
}

static void bl_fill_json(const bl_state_t *st, json_t *res, size_t judged)
{
    const chk_opts_t *o = st->o;
    json_t *stats = json_array(), *arr = json_array();
    for (size_t i = 0; i < o->nstats; i++)
        json_array_append_new(stats, json_string(qp_stat_name(o->stats[i])));
    for (size_t i = 0; i < st->nres; i++)
        json_array_append_new(arr, bl_json(&st->res[i]));
    json_object_set_new(res, "file", json_string(o->baseline));
    json_object_set_new(res, "tolerance_pct", json_real(o->tolerance_pct));
    json_object_set_new(res, "stats", stats);
    json_object_set_new(res, "compared", json_integer((json_int_t)judged));
    json_object_set_new(res, "slower", json_integer((json_int_t)st->n[BL_SLOWER]));
    json_object_set_new(res, "faster", json_integer((json_int_t)st->n[BL_FASTER]));
    json_object_set_new(res, "skipped", json_integer((json_int_t)st->n[BL_SKIPPED]));
    json_object_set_new(res, "new", json_integer((json_int_t)st->n[BL_NEW]));
    json_object_set_new(res, "vanished", json_integer((json_int_t)st->n[BL_VANISHED]));
    json_object_set_new(res, "results", arr);
}

int chk_baseline(const chk_opts_t *o, const qp_snapshot_t *old, const qp_snapshot_t *now,
                 json_t *res)
{
    size_t na, nb;
    bl_op_t *a = bl_collect(old, &na), *b = bl_collect(now, &nb);
    bl_state_t st = { .o = o };
    int rc = CHK_UNUSABLE;
    if (!a || !b)
        goto out;
    for (size_t i = 0; i < nb; i++) {
        bl_op_t *e = bl_find(a, na, b[i].proc, b[i].set, b[i].op);
        if (e) {
            e->seen = 1;
            bl_compare(&st, e, &b[i]);
        } else {
            bl_add(&st, BL_NEW, NULL, &b[i], -1, 0, 0);
        }
    }
    for (size_t i = 0; i < na; i++)
        if (!a[i].seen)
            bl_add(&st, BL_VANISHED, &a[i], NULL, -1, 0, 0);
    qsort(st.res, st.nres, sizeof *st.res, bl_cmp);

    size_t judged = st.n[BL_SLOWER] + st.n[BL_FASTER] + st.n[BL_OK];
    rc = st.n[BL_SLOWER] || (o->strict && st.n[BL_VANISHED]) ? CHK_BROKEN : CHK_OK;
    if (!o->json)
        bl_print(&st);
    if (!judged) {
        fprintf(stderr, "qpulse check: nothing to compare with %s: %s\n", o->baseline,
                st.n[BL_SKIPPED] ? "every operation in common has too few samples "
                                   "(see --min-count)" :
                                   "no operation (process name, set, op) is in both "
                                   "snapshots");
        if (res)
            json_object_set_new(res, "error", json_string("nothing to compare"));
        rc = CHK_UNUSABLE;
    } else if (!o->json) {
        bl_summary(&st, o->baseline, judged, rc);
    }
    if (res)
        bl_fill_json(&st, res, judged);
out:
    free(a);
    free(b);
    free(st.res);
    return rc;
}
