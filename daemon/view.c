/*
 * view.c — the VIEW request (docs/PROTOCOL.md): qptop's table computed in
 * the daemon, so that a refresh costs the viewer what its screen shows, not
 * what the host runs.
 *
 * The daemon's tables become an in-memory snapshot (the structs of
 * lib/snapshot.h, strings pointing into the tables: no JSON in between),
 * which goes through qptop's own model (viewer/model.c: units, merging,
 * exited-process hiding, filter, grouping, sort, tree, TOTAL and SHARE),
 * so the rows are exactly the ones qptop builds from a whole snapshot.
 * Only the rows on the viewer's screen are written, with the totals of the
 * header and the widths the text columns need over all the rows.
 *
 * Also here: the selection of a filtered SNAPSHOT (pid=, name=, set=, op=),
 * which the detail view of one row asks for with its histograms.
 *
 * Runs on the main thread with the tables as render.c sees them; the
 * access filter of system mode (access_visible) applies to every process.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qpulsed.h"
#include "view.h"

#define VIEW_ROWS_MAX 100000   /* rows= beyond this is refused */

struct view_req {
    int cumulative;
    view_settings_t set;
    long top, cursor, rows;     /* the screen: first row, cursor, height */
    int has_key;
    uint64_t key;               /* view_key_hash() of the cursor's row */
};

/* ---------------------------------------------------------------------- */
/* Request words                                                           */
/* ---------------------------------------------------------------------- */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* %XX-decodes in into out (len bytes with the NUL); -1 when malformed, too
 * long, or holding a NUL. */
static int pct_decode(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const char *s = in; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
            if (l < 0 || (h == 0 && l == 0))
                return -1;
            c = h * 16 + l;
            s += 2;
        }
        if (o + 1 >= len)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

static int parse_long(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "name=value": value when w starts with name=, else NULL. */
static const char *opt(const char *w, const char *name)
{
    size_t n = strlen(name);
    return strncmp(w, name, n) == 0 && w[n] == '=' ? w + n + 1 : NULL;
}

int view_parse(char **w, int n, struct view_req **out, char *err, size_t errlen)
{
    static const char usage[] =
        "usage: VIEW window|cumulative [sort=COLUMN] [invert] [group=process|set|group|priority] "
        "[merge] [tree] [exited] [filter=TEXT] [top=N] [cursor=N] [rows=N] [key=HASH]";
    struct view_req *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->set.sort = VIEW_DEFAULT_SORT;
    r->rows = 50;
    if (n < 1 || (strcmp(w[0], "window") != 0 && strcmp(w[0], "cumulative") != 0))
        goto bad;
    r->cumulative = r->set.cumulative = strcmp(w[0], "cumulative") == 0;
    for (int i = 1; i < n; i++) {
        const char *v;
        if (strcmp(w[i], "invert") == 0)
            r->set.sort_invert = 1;
        else if (strcmp(w[i], "merge") == 0)
            r->set.merge = 1;
        else if (strcmp(w[i], "tree") == 0)
            r->set.tree = 1;
        else if (strcmp(w[i], "exited") == 0)
            r->set.show_exited = 1;
        else if ((v = opt(w[i], "sort"))) {
            if (view_col_parse(v, &r->set.sort) < 0)
                goto bad;
        } else if ((v = opt(w[i], "group"))) {
            if (view_group_parse(v, &r->set.group) < 0)
                goto bad;
        } else if ((v = opt(w[i], "filter"))) {
            if (pct_decode(v, r->set.filter, sizeof r->set.filter) < 0)
                goto bad;
        } else if ((v = opt(w[i], "top"))) {
            if (parse_long(v, 1L << 40, &r->top) < 0)
                goto bad;
        } else if ((v = opt(w[i], "cursor"))) {
            if (parse_long(v, 1L << 40, &r->cursor) < 0)
                goto bad;
        } else if ((v = opt(w[i], "rows"))) {
            if (parse_long(v, VIEW_ROWS_MAX, &r->rows) < 0)
                goto bad;
        } else if ((v = opt(w[i], "key"))) {
            if (strlen(v) != 16)
                goto bad;
            uint64_t k = 0;
            for (int j = 0; j < 16; j++) {
                int h = hexval(v[j]);
                if (h < 0)
                    goto bad;
                k = k << 4 | (uint64_t)h;
            }
            r->key = k;
            r->has_key = 1;
        } else {
            goto bad;
        }
    }
    *out = r;
    return 0;
bad:
    free(r);
    snprintf(err, errlen, "%s", usage);
    return -1;
}

void view_req_free(struct view_req *req)
{
    free(req);
}

/* ---------------------------------------------------------------------- */
/* The tables as a snapshot in memory                                      */
/* ---------------------------------------------------------------------- */

/* A process's arguments, split out of its NUL-separated command line. */
struct vargs {
    char buf[sizeof(((struct proc *)0)->cmdline) + 1];
    char *argv[sizeof(((struct proc *)0)->cmdline) / 2 + 1];
};

static void split_args(const struct proc *p, struct vargs *a, qp_snap_proc_t *sp)
{
    unsigned len = p->cmdline_len;
    while (len > 0 && p->cmdline[len - 1] == 0)     /* a rewritten title pads with NULs */
        len--;
    memcpy(a->buf, p->cmdline, len);
    a->buf[len] = 0;
    size_t n = 0;
    for (unsigned i = 0; i < len;) {
        a->argv[n++] = a->buf + i;
        i += (unsigned)strlen(a->buf + i) + 1;
    }
    sp->cmdline = a->argv;
    sp->ncmdline = n;
}

/* The name and command line of p, enough for view_proc_name(). */
static void proc_names(const struct proc *p, struct vargs *a, qp_snap_proc_t *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->pid = p->pid;
    sp->name = (char *)p->name;
    split_args(p, a, sp);
}

static const double pcts[] = { 50.0, 90.0, 99.0, 99.9 };
/* What qptop reads of an op's budgets is whether one is broken. */
static qp_snap_budget_t broken_budget = { NULL, NULL, 0, 0, 1 };

/* Op i of p into so from st, its cumulative statistics or (cumulative 0) its
 * window's; without percentiles (0) when sums: st holds no buckets then
 * (agg_window_sums()). */
static int op_fill(qp_snap_op_t *so, const struct proc *p, uint32_t i,
                   const struct agg_stats *st, int cumulative, double span, int sums)
{
    const struct agg_op *o = p->ops[i];
    uint64_t pv[4] = { 0, 0, 0, 0 };
    if (!sums)
        hist_percentiles(&st->h, pcts, pv, 4);
    memset(so, 0, sizeof *so);
    so->set = o->set;
    so->op = o->name;
    so->group = o->group;
    so->description = o->desc;
    so->priority = o->priority;
    so->count = st->h.count;
    so->dropped = proc_op_dropped(p, i);
    so->rate_per_s = span > 0 ? (double)st->h.count / span : 0.0;
    so->mean_ns = agg_mean(st);
    so->stddev_ns = agg_stddev(st);
    so->min_ns = hist_min(&st->h);
    so->max_ns = hist_max(&st->h);
    so->p50_ns = pv[0];
    so->p90_ns = pv[1];
    so->p99_ns = pv[2];
    so->p999_ns = pv[3];
    so->total_ns = st->h.total;
    so->self_ns = st->self;
    so->p99_prev_ns = o->p99_prev;
    if (qpd.budgets) {
        /* as render_budgets(): the window's state is the tick's */
        struct budget_state bs[QP_STAT_COUNT_];
        unsigned n = budgets_states(o, cumulative ? st : NULL, bs);
        for (unsigned k = 0; k < n; k++)
            if (bs[k].broken) {
                so->budgets = &broken_budget;
                so->nbudgets = 1;
            }
    }
    if (st->nkids) {
        so->children = calloc(st->nkids, sizeof *so->children);
        if (!so->children)
            return -ENOMEM;
        for (uint32_t j = 0; j < st->nkids; j++) {
            const struct agg_child *k = &st->kids[j];
            const struct agg_op *c = k->op < p->nops ? p->ops[k->op] : NULL;
            if (!c)
                continue;
            so->children[so->nchildren++] =
                (qp_snap_child_t){ c->set, c->name, k->count, k->total };
        }
    }
    return 0;
}

struct vsnap {
    qp_snapshot_t s;
    struct vargs *args;
};

static void vsnap_free(struct vsnap *v)
{
    for (size_t i = 0; i < v->s.nprocs; i++) {
        qp_snap_proc_t *p = &v->s.procs[i];
        for (size_t j = 0; j < p->nops; j++)
            free(p->ops[j].children);
        free(p->ops);
    }
    free(v->s.procs);
    free(v->args);
    memset(v, 0, sizeof *v);
}

/* Which processes vsnap_build() takes, and how. */
enum vs_mode {
    VS_SKIP,
    VS_SUMS,    /* every figure but the percentiles (no bucket merged) */
    VS_FULL,
};
typedef enum vs_mode (*vs_want_fn)(const struct proc *p, void *arg);

/* Every visible process that want() takes, and its ops with samples in the
 * view, as render_snapshot() would write them (without histograms and
 * slowest samples, which no row needs). */
static int vsnap_build(struct vsnap *v, int cumulative, vs_want_fn want, void *arg)
{
    int64_t now = mono_ns();
    int64_t sec = now / 1000000000;
    size_t n = 0;
    memset(v, 0, sizeof *v);
    v->s.version = 1;
    v->s.cumulative = cumulative;
    v->s.window_s = cumulative ? 0 : (double)qpd.cfg.window;
    for (const struct proc *p = qpd.procs; p; p = p->next)
        n += access_visible(p) != 0;
    v->s.procs = calloc(n ? n : 1, sizeof *v->s.procs);
    v->args = calloc(n ? n : 1, sizeof *v->args);
    if (!v->s.procs || !v->args)
        return -ENOMEM;
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        enum vs_mode m;
        if (!access_visible(p) || (m = want(p, arg)) == VS_SKIP)
            continue;
        qp_snap_proc_t *sp = &v->s.procs[v->s.nprocs];
        proc_names(p, &v->args[v->s.nprocs], sp);
        v->s.nprocs++;
        sp->alive = p->alive;
        sp->dropped = p->dropped_last - p->dropped_base;
        sp->lost = p->lost_prev;
        sp->cpu_pct = p->cpu_pct;
        sp->rss_bytes = p->rss_bytes;
        sp->threads = p->threads;
        sp->started_at = p->started_at;
        sp->exited_at = p->alive ? 0 : p->exited_at;
        if (p->nops == 0)
            continue;
        sp->ops = calloc(p->nops, sizeof *sp->ops);
        if (!sp->ops)
            return -ENOMEM;
        double span = render_proc_span(p, now, cumulative);
        for (uint32_t i = 0; i < p->nops; i++) {
            const struct agg_op *o = p->ops[i];
            if (!o)
                continue;
            /* A budget may be on a percentile: in a cumulative view, which
             * evaluates the budgets here, such an op is taken whole (the
             * window's state is the tick's). */
            int sums = m == VS_SUMS && !(cumulative && qpd.budgets && o->rules_matched);
            int r = 0;
            if (cumulative) {
                /* As render_proc(): an op whose every sample was dropped too. */
                if (o->cum.h.count || proc_op_dropped(p, i))
                    r = op_fill(&sp->ops[sp->nops++], p, i, &o->cum, 1, span, sums);
            } else {
                struct agg_stats win;
                if (sums)
                    agg_window_sums(o, sec, &win);
                else
                    agg_window(o, sec, &win);
                if (win.h.count)
                    r = op_fill(&sp->ops[sp->nops++], p, i, &win, 0, span, sums);
                agg_stats_free(&win);
            }
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static enum vs_mode want_all(const struct proc *p, void *arg)
{
    (void)p;
    return *(const enum vs_mode *)arg;
}

/* ---------------------------------------------------------------------- */
/* Percentiles for the screen only                                         */
/* ---------------------------------------------------------------------- */

/* Merging the window's buckets and reading four percentiles is most of
 * what a row costs (50 000 ops: ~100 ms), and a screen shows 50 rows.  So
 * when neither the order nor a heading depends on a percentile - grouped
 * by process, sorted by anything but P50/P99/P99.9 - the table is built
 * from the sums alone, and the percentiles of the rows on the screen are
 * filled in from a second, whole build of only the processes behind them:
 * every figure of a process's rows comes from that process's ops (its p99
 * is the worst of its ops', its flags theirs), so those rows are what a
 * whole build of every process would give. */

static int view_needs_all(const view_settings_t *s)
{
    return s->group != VIEW_GROUP_PROCESS || s->sort == COL_P50 || s->sort == COL_P99 ||
           s->sort == COL_P999;
}

struct shown {
    const view_rows_t *rows;
    long first, end;            /* the rows on the screen */
    int merge;
};

/* Whether row key k is unit key u or one of its rows ("u/..."). */
static int key_in_unit(const char *k, const char *u, size_t ul)
{
    return strncmp(k, u, ul) == 0 && (k[ul] == 0 || k[ul] == '/');
}

static enum vs_mode want_shown(const struct proc *p, void *arg)
{
    const struct shown *sh = arg;
    char u[160];
    if (sh->merge) {
        struct vargs a;
        qp_snap_proc_t sp;
        char buf[128];
        proc_names(p, &a, &sp);
        snprintf(u, sizeof u, "n:%s", view_proc_name(&sp, buf, sizeof buf));
    } else {
        snprintf(u, sizeof u, "p:%ld", (long)p->pid);
    }
    size_t ul = strlen(u);
    for (long i = sh->first; i < sh->end; i++)
        if (key_in_unit(sh->rows->v[i].key, u, ul))
            return VS_FULL;
    return VS_SKIP;
}

/* The percentiles of rows[first, end) from a whole build of their
 * processes. */
static int fill_shown(view_rows_t *rows, long first, long end, const struct view_req *q)
{
    struct shown sh = { rows, first, end, q->set.merge };
    struct vsnap v;
    view_rows_t full = { 0 };
    int r = vsnap_build(&v, q->cumulative, want_shown, &sh);
    if (r == 0)
        r = view_model_build(&full, &v.s, &q->set);
    for (long i = first; r == 0 && i < end; i++) {
        view_row_t *d = &rows->v[i];
        for (size_t j = 0; j < full.n; j++) {
            const view_row_t *f = &full.v[j];
            if (strcmp(f->key, d->key) != 0)
                continue;
            d->p50 = f->p50;
            d->p90 = f->p90;
            d->p99 = f->p99;
            d->p999 = f->p999;
            d->flags |= f->flags & ROW_F_P99_JUMP;
            break;
        }
    }
    view_rows_free(&full);
    vsnap_free(&v);
    return r;
}

/* ---------------------------------------------------------------------- */
/* The reply                                                               */
/* ---------------------------------------------------------------------- */

/* "k": v, or null when v is NULL (as jw_double() writes a NaN: no value). */
static void str(jw_t *w, const char *k, const char *v)
{
    jw_key(w, k);
    if (v)
        jw_str(w, v);
    else
        jw_null(w);
}

static const char *const kind_names[] = { "proc", "group", "op", "child" };

static void row_json(jw_t *w, const view_row_t *r)
{
    jw_obj_begin(w);
    str(w, "kind", kind_names[r->kind]);
    jw_kv_i64(w, "depth", r->depth);
    jw_kv_u64(w, "flags", r->flags);
    jw_kv_i64(w, "pid", r->pid);
    jw_kv_i64(w, "nprocs", r->nprocs);
    str(w, "name", r->name);
    str(w, "set", r->set);
    str(w, "op", r->op);
    str(w, "group", r->group);
    str(w, "description", r->description);
    jw_kv_i64(w, "priority", r->priority);
    str(w, "label", r->label);
    str(w, "key", r->key);
    jw_kv_double(w, "share", r->share);
    jw_kv_double(w, "count", r->count);
    jw_kv_double(w, "rate", r->rate);
    jw_kv_double(w, "rate_now", r->rate_now);
    jw_kv_double(w, "mean", r->mean);
    jw_kv_double(w, "p50", r->p50);
    jw_kv_double(w, "p90", r->p90);
    jw_kv_double(w, "p99", r->p99);
    jw_kv_double(w, "p999", r->p999);
    jw_kv_double(w, "min", r->min);
    jw_kv_double(w, "max", r->max);
    jw_kv_double(w, "self", r->self);
    jw_kv_double(w, "total", r->total);
    jw_kv_double(w, "stddev", r->stddev);
    jw_kv_double(w, "cpu", r->cpu);
    jw_kv_double(w, "rss", r->rss);
    jw_kv_double(w, "time_share", r->time_share);
    jw_kv_u64(w, "dropped", r->dropped);
    jw_obj_end(w);
}

/* The screen's first row and cursor after the data changed: the cursor on
 * the row it was on (found by key) or at the same place, and the first row
 * moved as little as it takes to show it (qptop's table_clamp). */
static void page(const struct view_req *q, const view_rows_t *rows, long *top, long *cursor)
{
    long n = (long)rows->n, h = q->rows > 0 ? q->rows : 1, at = -1;
    if (q->has_key)
        for (long i = 0; i < n && at < 0; i++)
            if (view_key_hash(rows->v[i].key) == q->key)
                at = i;
    long c = at >= 0 ? at : q->cursor, t = q->top;
    if (c >= n)
        c = n - 1;
    if (c < 0)
        c = 0;
    if (t > c)
        t = c;
    if (c >= t + h)
        t = c - h + 1;
    if (t > n - h)
        t = n - h;
    if (t < 0)
        t = 0;
    *top = t;
    *cursor = c;
}

void view_render(jw_t *w, const struct view_req *q)
{
    struct vsnap v;
    view_rows_t rows = { 0 };
    enum vs_mode m = view_needs_all(&q->set) ? VS_FULL : VS_SUMS;
    int r = vsnap_build(&v, q->cumulative, want_all, &m);
    if (r == 0)
        r = view_model_build(&rows, &v.s, &q->set);
    long top = 0, cursor = 0;
    if (r == 0)
        page(q, &rows, &top, &cursor);
    if (r == 0 && m == VS_SUMS) {
        long end = top + q->rows < (long)rows.n ? top + q->rows : (long)rows.n;
        r = fill_shown(&rows, top, end, q);
    }
    if (r < 0) {
        rows.n = 0;
        w->oom = 1;     /* the client gets "out of memory" */
        page(q, &rows, &top, &cursor);
    }
    int need[COL_COUNT_] = { 0 };
    view_layout_need(&rows, need);

    jw_obj_begin(w);
    render_snapshot_head(w, q->cumulative);
    jw_key(w, "view");
    jw_obj_begin(w);
    jw_kv_u64(w, "processes", v.s.nprocs);
    jw_kv_i64(w, "alive", rows.alive);
    jw_kv_i64(w, "exited", rows.exited);
    jw_kv_i64(w, "hidden", rows.hidden);
    jw_kv_u64(w, "ops", rows.nops);
    jw_kv_double(w, "time_total", rows.time_total);
    jw_key(w, "need");
    jw_obj_begin(w);
    for (int c = COL_PID; c <= COL_OP; c++) {
        jw_key(w, view_columns[c].name);
        jw_i64(w, need[c]);
    }
    jw_obj_end(w);
    jw_kv_u64(w, "total_rows", rows.n);
    jw_kv_i64(w, "top", top);
    jw_kv_i64(w, "cursor", cursor);
    jw_key(w, "rows");
    jw_arr_begin(w);
    for (long i = top; i < (long)rows.n && i < top + q->rows; i++)
        row_json(w, &rows.v[i]);
    jw_arr_end(w);
    jw_obj_end(w);
    jw_obj_end(w);
    view_rows_free(&rows);
    vsnap_free(&v);
}

/* ---------------------------------------------------------------------- */
/* SNAPSHOT's selection: the processes and op behind one row               */
/* ---------------------------------------------------------------------- */

struct vsel {
    long pid;                   /* -1: any */
    char name[128];             /* "": any; else as qptop names processes */
    char set[128], op[128];     /* "": any */
};

static int sel_proc(const struct proc *p, void *arg)
{
    const struct vsel *s = arg;
    if (s->pid >= 0 && p->pid != s->pid)
        return 0;
    if (s->name[0]) {
        struct vargs a;
        qp_snap_proc_t sp;
        char buf[64];
        proc_names(p, &a, &sp);
        if (strcmp(view_proc_name(&sp, buf, sizeof buf), s->name) != 0)
            return 0;
    }
    return 1;
}

static int sel_op(const struct agg_op *o, void *arg)
{
    const struct vsel *s = arg;
    return (!s->set[0] || strcmp(o->set, s->set) == 0) &&
           (!s->op[0] || strcmp(o->name, s->op) == 0);
}

int view_sel_parse(char **w, int n, struct render_sel *sel, char *err, size_t errlen)
{
    struct vsel *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->pid = -1;
    int threads = 0;
    for (int i = 0; i < n; i++) {
        const char *v;
        int bad;
        if (!strcmp(w[i], "threads"))
            bad = threads++;   /* once */
        else if ((v = opt(w[i], "pid")))
            bad = parse_long(v, 1L << 31, &s->pid);
        else if ((v = opt(w[i], "name")))
            bad = pct_decode(v, s->name, sizeof s->name);
        else if ((v = opt(w[i], "set")))
            bad = pct_decode(v, s->set, sizeof s->set);
        else if ((v = opt(w[i], "op")))
            bad = pct_decode(v, s->op, sizeof s->op);
        else
            bad = -1;
        if (bad) {
            free(s);
            snprintf(err, errlen,
                     "usage: SNAPSHOT window|cumulative [hist] [pid=PID] [name=NAME] [set=SET] "
                     "[op=OP] [threads]");
            return -1;
        }
    }
    /* per thread walks the recorder for each op listed: one op's worth */
    if (threads && ((s->pid < 0 && !s->name[0]) || !s->op[0])) {
        free(s);
        snprintf(err, errlen, "SNAPSHOT ... threads needs pid= (or name=) and op=");
        return -1;
    }
    *sel = (struct render_sel){ sel_proc, sel_op, s, threads };
    return 0;
}

void view_sel_free(struct render_sel *sel)
{
    free(sel->arg);
    sel->arg = NULL;
}
