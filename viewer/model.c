/*
 * model.c — turns a snapshot into the rows qptop shows.
 *
 * Steps: processes become "units" (one per process, or one per name when
 * merging); each unit's ops are merged over its processes; the filter keeps
 * the ops (or whole processes) that match; the rows are grouped (by process,
 * set, group or priority) under a heading row, each group's rows sorted by
 * the sort column; in tree view each op row is followed by the ops that ran
 * nested inside it (snapshot "children") with their share of its time.
 *
 * Rows point into the snapshot for strings; everything else is copied, so
 * rebuilding (new data or new settings) costs one pass over the snapshot.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "view.h"

#define TREE_MAX_DEPTH 8

/* snprintf for keys and labels, where cutting a long name short is fine. */
static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
}

typedef struct m_op {
    view_row_t row;             /* merged statistics of the op over the unit */
    int nested;                 /* runs nested inside another op of the unit */
    double inside;              /* calls of it that ran inside ops of the unit */
} m_op_t;

typedef struct m_unit {
    const qp_snap_proc_t **procs;
    size_t nprocs;
    view_row_t row;             /* the process row */
    m_op_t *ops;
    size_t nops;
    uint32_t *htab;             /* ops by (set, op): index + 1, 0 = free */
    size_t hcap;                /* a power of two, at least twice nops */
} m_unit_t;

typedef struct m_ctx {
    const qp_snapshot_t *snap;
    const view_settings_t *s;
    view_rows_t *rows;
    m_unit_t *units;
    size_t nunits;
} m_ctx_t;

static const char *const group_names[VIEW_GROUP_COUNT_] = { "process", "set", "group",
                                                            "priority" };

const char *view_group_name(view_group_t g)
{
    return (unsigned)g < VIEW_GROUP_COUNT_ ? group_names[g] : "?";
}

int view_group_parse(const char *s, view_group_t *out)
{
    for (int g = 0; g < VIEW_GROUP_COUNT_; g++)
        if (strcasecmp(s, group_names[g]) == 0) {
            *out = (view_group_t)g;
            return 0;
        }
    return -EINVAL;
}

/* ---------------------------------------------------------------------- */
/* Rows array                                                              */
/* ---------------------------------------------------------------------- */

static view_row_t *rows_push(view_rows_t *rows)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 64;
        view_row_t *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return NULL;
        rows->v = v;
        rows->cap = cap;
    }
    return &rows->v[rows->n++];
}

/* Room for n more rows at once (the doubling of rows_push() copies tens of
 * megabytes on a large host); 0 or -ENOMEM. */
static int rows_reserve(view_rows_t *rows, size_t n)
{
    if (rows->cap - rows->n >= n)
        return 0;
    view_row_t *v = realloc(rows->v, (rows->n + n) * sizeof *v);
    if (!v)
        return -ENOMEM;
    rows->v = v;
    rows->cap = rows->n + n;
    return 0;
}

void view_rows_free(view_rows_t *rows)
{
    free(rows->v);
    free(rows->names);
    memset(rows, 0, sizeof *rows);
}

long view_rows_find(const view_rows_t *rows, const char *key)
{
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].key, key) == 0)
            return (long)i;
    return -1;
}

uint64_t view_key_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *s = (const unsigned char *)key; *s; s++)
        h = (h ^ *s) * 0x100000001b3ull;
    return h;
}

static void row_blank(view_row_t *r, view_row_kind_t kind)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->count = r->rate = r->mean = r->p50 = r->p90 = r->p99 = r->p999 = NAN;
    r->min = r->max = r->self = r->total = r->stddev = r->cpu = r->rss = NAN;
    r->rate_now = 0;
    r->time_share = NAN;
}

/* ---------------------------------------------------------------------- */
/* Names                                                                   */
/* ---------------------------------------------------------------------- */

static const char *base_name(const char *s)
{
    const char *b = strrchr(s, '/');
    return b && b[1] ? b + 1 : s;
}

/* A first argument worth showing: a word (a subcommand, a script's name),
 * not an option, a number or an address. */
static int is_word(const char *a)
{
    unsigned char c = (unsigned char)a[0];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *view_proc_name(const qp_snap_proc_t *p, char *buf, size_t len)
{
    const char *name = p->name ? p->name : "?";
    snprintf(buf, len, "%s", name);
    if (p->ncmdline == 0 || !p->cmdline[0])
        return buf;
    const char *a0 = p->cmdline[0];
    /* a process that rewrote its title ("nginx: worker process",
     * "sshd: ann@pts/0"), not a path with a space in it */
    if (strstr(a0, ": ") || (strchr(a0, ' ') && !strchr(a0, '/'))) {
        snprintf(buf, len, "%s", a0);
        return buf;
    }
    if (p->ncmdline > 1 && p->cmdline[1]) {
        const char *a1 = base_name(p->cmdline[1]);
        if (is_word(a1))
            snprintf(buf, len, "%s %.24s", name, a1);
    }
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Units and merged ops                                                    */
/* ---------------------------------------------------------------------- */

static unsigned op_flags(const qp_snap_proc_t *p, const qp_snap_op_t *o)
{
    unsigned f = p->alive ? 0 : ROW_F_EXITED;
    for (size_t i = 0; i < o->nbudgets; i++)
        if (o->budgets[i].broken)
            f |= ROW_F_OVER_BUDGET;
    if (o->p99_prev_ns > 0 && (double)o->p99_ns > VIEW_P99_JUMP * (double)o->p99_prev_ns)
        f |= ROW_F_P99_JUMP;
    if (o->dropped)
        f |= ROW_F_DROPPED;
    return f;
}

/* What the op o of p adds to a sum of rates (view_row_t.rate_now). */
static double rate_now(const qp_snapshot_t *snap, const qp_snap_proc_t *p, const qp_snap_op_t *o)
{
    if (p->alive)
        return o->rate_per_s;
    if (!snap->cumulative && snap->window_s > 0)
        return (double)o->count / snap->window_s;
    return 0;
}

static void op_row_init(view_row_t *r, const qp_snapshot_t *snap, const qp_snap_proc_t *p,
                        const qp_snap_op_t *o, const char *name)
{
    row_blank(r, ROW_OP);
    r->pid = p->pid;
    r->nprocs = 1;
    r->name = name;
    r->set = o->set;
    r->op = o->op;
    r->group = o->group;
    r->description = o->description;
    r->priority = o->priority;
    r->flags = op_flags(p, o);
    r->count = (double)o->count;
    r->rate = o->rate_per_s;
    r->rate_now = rate_now(snap, p, o);
    r->mean = o->mean_ns;
    r->p50 = (double)o->p50_ns;
    r->p90 = (double)o->p90_ns;
    r->p99 = (double)o->p99_ns;
    r->p999 = (double)o->p999_ns;
    r->min = (double)o->min_ns;
    r->max = (double)o->max_ns;
    r->total = (double)o->total_ns;
    r->self = o->count ? (double)o->self_ns / (double)o->count : NAN;
    r->stddev = o->stddev_ns;
    r->dropped = p->dropped;
    /* sq holds E[x^2] * count while merging (see op_row_merge) */
}

/* Adds the op o of another process of the same name into r.  Counts, rates
 * and times add up; mean and stddev pool exactly; the p50/p90 of merged
 * processes are count-weighted and p99/p99.9 the worst one's — without the
 * histograms that is the honest approximation (the detail view merges the
 * real histograms). */
static void op_row_merge(view_row_t *r, const qp_snapshot_t *snap, const qp_snap_proc_t *p,
                         const qp_snap_op_t *o)
{
    double c1 = r->count, c2 = (double)o->count, c = c1 + c2;
    if (c2 <= 0)
        return;
    double m1 = isnan(r->mean) ? 0 : r->mean, m2 = o->mean_ns;
    double s1 = isnan(r->stddev) ? 0 : r->stddev, s2 = o->stddev_ns;
    double ex2 = (c1 * (s1 * s1 + m1 * m1) + c2 * (s2 * s2 + m2 * m2)) / c;
    double mean = (c1 * m1 + c2 * m2) / c;
    r->mean = mean;
    r->stddev = sqrt(fmax(0, ex2 - mean * mean));
    r->p50 = (c1 * r->p50 + c2 * (double)o->p50_ns) / c;
    r->p90 = (c1 * r->p90 + c2 * (double)o->p90_ns) / c;
    r->p99 = fmax(r->p99, (double)o->p99_ns);
    r->p999 = fmax(r->p999, (double)o->p999_ns);
    r->min = c1 > 0 ? fmin(r->min, (double)o->min_ns) : (double)o->min_ns;
    r->max = fmax(r->max, (double)o->max_ns);
    double self_total = (isnan(r->self) ? 0 : r->self * c1) + (double)o->self_ns;
    r->self = self_total / c;
    r->count = c;
    /* merged processes: a rate over the window (or of the live ones), not
     * the sum of what each exited one ran at while it lived */
    r->rate_now += rate_now(snap, p, o);
    r->rate = r->rate_now;
    r->total += (double)o->total_ns;
    unsigned f = op_flags(p, o);
    r->flags = (r->flags & f & ROW_F_EXITED) | ((r->flags | f) & ~ROW_F_EXITED);
}

static void proc_row_init(view_row_t *r, const qp_snap_proc_t *p, const char *name)
{
    row_blank(r, ROW_PROC);
    r->pid = p->pid;
    r->nprocs = 1;
    r->name = name;
    r->flags = p->alive ? 0 : ROW_F_EXITED;
    r->cpu = p->cpu_pct >= 0 ? p->cpu_pct : NAN;
    r->rss = p->alive ? (double)p->rss_bytes : NAN;
    r->dropped = p->dropped;
}

static void proc_row_merge(view_row_t *r, const qp_snap_proc_t *p)
{
    r->nprocs++;
    if (p->alive)
        r->flags &= ~ROW_F_EXITED;
    if (p->cpu_pct >= 0)
        r->cpu = isnan(r->cpu) ? p->cpu_pct : r->cpu + p->cpu_pct;
    if (p->alive)
        r->rss = isnan(r->rss) ? (double)p->rss_bytes : r->rss + (double)p->rss_bytes;
    r->dropped += p->dropped;
    if (p->pid < r->pid)
        r->pid = p->pid;
}

static uint32_t op_hash(const char *set, const char *op)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)set; *p; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ '.') * 16777619u;
    for (const unsigned char *p = (const unsigned char *)op; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* The slot of (set, op) in u's table: where it is, or the free slot where
 * it would go. */
static uint32_t *unit_slot(const m_unit_t *u, const char *set, const char *op)
{
    size_t mask = u->hcap - 1;
    for (size_t i = op_hash(set, op) & mask;; i = (i + 1) & mask) {
        uint32_t *e = &u->htab[i];
        if (!*e)
            return e;
        const view_row_t *r = &u->ops[*e - 1].row;
        if (strcmp(r->op, op) == 0 && strcmp(r->set, set) == 0)
            return e;
    }
}

static m_op_t *unit_find_op(const m_unit_t *u, const char *set, const char *op)
{
    if (!u->hcap)
        return NULL;
    uint32_t *e = unit_slot(u, set, op);
    return *e ? &u->ops[*e - 1] : NULL;
}

/* Room in u's table for want ops. */
static int unit_hash_reserve(m_unit_t *u, size_t want)
{
    if (u->hcap >= 2 * want && u->hcap)
        return 0;
    size_t cap = 16;
    while (cap < 2 * want)
        cap *= 2;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return -ENOMEM;
    free(u->htab);
    u->htab = t;
    u->hcap = cap;
    for (size_t i = 0; i < u->nops; i++)
        *unit_slot(u, u->ops[i].row.set, u->ops[i].row.op) = (uint32_t)i + 1;
    return 0;
}

static int unit_add_proc(m_unit_t *u, const qp_snapshot_t *snap, const qp_snap_proc_t *p,
                         const char *name)
{
    const qp_snap_proc_t **pv = realloc(u->procs, (u->nprocs + 1) * sizeof *pv);
    if (!pv)
        return -ENOMEM;
    u->procs = pv;
    u->procs[u->nprocs++] = p;
    if (u->nprocs == 1)
        proc_row_init(&u->row, p, name);
    else
        proc_row_merge(&u->row, p);
    m_op_t *ov = realloc(u->ops, (u->nops + p->nops) * sizeof *ov);
    if (!ov && u->nops + p->nops > 0)
        return -ENOMEM;
    u->ops = ov;
    if (unit_hash_reserve(u, u->nops + p->nops) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < p->nops; i++) {
        const qp_snap_op_t *o = &p->ops[i];
        uint32_t *e = unit_slot(u, o->set, o->op);
        if (*e) {
            op_row_merge(&u->ops[*e - 1].row, snap, p, o);
            continue;
        }
        m_op_t *m = &u->ops[u->nops++];
        memset(m, 0, sizeof *m);
        op_row_init(&m->row, snap, p, o, name);
        *e = (uint32_t)u->nops;
    }
    return 0;
}

/* a "." b, or k "/" a "." b, into buf (cut short when too long): the
 * labels and keys of op rows, without printf (tens of thousands a refresh
 * in the daemon's VIEW). */
static void cat(char *buf, size_t len, const char *k, const char *a, const char *b)
{
    size_t o = 0;
    const char *parts[5] = { k, k ? "/" : NULL, a, ".", b };
    for (int i = 0; i < 5; i++)
        for (const char *p = parts[i]; p && *p && o + 1 < len; p++)
            buf[o++] = *p;
    buf[o] = 0;
}

/* Finishes a unit: keys, labels, the nested marks and the process totals. */
static void unit_finish(m_unit_t *u, int merged)
{
    view_row_t *pr = &u->row;
    if (merged)
        fmt(pr->key, sizeof pr->key, "n:%s", pr->name);
    else
        fmt(pr->key, sizeof pr->key, "p:%ld", pr->pid);
    /* how many calls of each op ran inside others, in one pass */
    for (size_t k = 0; k < u->nprocs; k++)
        for (size_t j = 0; j < u->procs[k]->nops; j++) {
            const qp_snap_op_t *o = &u->procs[k]->ops[j];
            for (size_t c = 0; c < o->nchildren; c++) {
                m_op_t *m = unit_find_op(u, o->children[c].set, o->children[c].op);
                if (m)
                    m->inside += (double)o->children[c].count;
            }
        }
    double count = 0, rate = 0, rnow = 0, total = 0, self = 0;
    for (size_t i = 0; i < u->nops; i++) {
        view_row_t *r = &u->ops[i].row;
        r->pid = pr->pid;
        r->nprocs = (int)u->nprocs;
        if (!merged || u->nprocs == 1)
            r->flags = (r->flags & ~ROW_F_EXITED) | (pr->flags & ROW_F_EXITED);
        else
            r->rate = r->rate_now;  /* also for an op only one of them ran */
        cat(r->label, sizeof r->label, NULL, r->set, r->op);
        cat(r->key, sizeof r->key, pr->key, r->set, r->op);
        count += r->count;
        rate += r->rate;
        rnow += r->rate_now;
        total += r->total;
        self += isnan(r->self) ? 0 : r->self * r->count;
        pr->flags |= r->flags & (ROW_F_OVER_BUDGET | ROW_F_P99_JUMP | ROW_F_DROPPED);
        pr->max = isnan(pr->max) ? r->max : fmax(pr->max, r->max);
        pr->p99 = isnan(pr->p99) ? r->p99 : fmax(pr->p99, r->p99);
        pr->p999 = isnan(pr->p999) ? r->p999 : fmax(pr->p999, r->p999);
        pr->p50 = isnan(pr->p50) ? r->p50 : fmax(pr->p50, r->p50);
        /* an op is nested when all its calls ran inside other ops of the
         * unit; one that also ran on its own stays a root of the tree too */
        double inside = u->ops[i].inside;
        u->ops[i].nested = inside > 0 && inside >= r->count;
    }
    pr->count = count;
    pr->rate = merged && u->nprocs > 1 ? rnow : rate;
    pr->rate_now = rnow;
    pr->mean = count > 0 ? total / count : NAN;
    pr->self = count > 0 ? self / count : NAN;
    /* the process's time in its ops, a nested op's time counted once */
    pr->total = u->nops ? self : NAN;
    if (u->nprocs > 1)
        fmt(pr->label, sizeof pr->label, "%zu processes, %zu ops", u->nprocs, u->nops);
    else
        fmt(pr->label, sizeof pr->label, "%zu op%s%s", u->nops, u->nops == 1 ? "" : "s",
                 (pr->flags & ROW_F_EXITED) ? ", exited" : "");
}

static void units_free(m_ctx_t *c)
{
    for (size_t i = 0; i < c->nunits; i++) {
        free(c->units[i].procs);
        free(c->units[i].ops);
        free(c->units[i].htab);
    }
    free(c->units);
    c->units = NULL;
    c->nunits = 0;
}

/* An exited process with nothing in the view: after a build, hundreds of
 * them would bury the live ones. */
static int idle_exited(const qp_snap_proc_t *p)
{
    return !p->alive && p->nops == 0;
}

static int units_build(m_ctx_t *c)
{
    const qp_snapshot_t *snap = c->snap;
    view_rows_t *rows = c->rows;
    c->units = calloc(snap->nprocs ? snap->nprocs : 1, sizeof *c->units);
    if (!c->units)
        return -ENOMEM;
    if (snap->nprocs > rows->names_cap) {
        char(*nv)[64] = realloc(rows->names, snap->nprocs * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        rows->names = nv;
        rows->names_cap = snap->nprocs;
    }
    for (size_t i = 0; i < snap->nprocs; i++) {
        const qp_snap_proc_t *p = &snap->procs[i];
        if (p->alive)
            rows->alive++;
        else
            rows->exited++;
        rows->nops += p->nops;
        if (!c->s->show_exited && idle_exited(p)) {
            rows->hidden++;
            continue;
        }
        const char *name = view_proc_name(p, rows->names[i], sizeof rows->names[i]);
        m_unit_t *u = NULL;
        if (c->s->merge)
            for (size_t k = 0; k < c->nunits && !u; k++)
                if (strcmp(c->units[k].row.name, name) == 0)
                    u = &c->units[k];
        if (!u)
            u = &c->units[c->nunits++];
        if (unit_add_proc(u, snap, p, name) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < c->nunits; i++)
        unit_finish(&c->units[i], c->s->merge);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Filter and sort                                                         */
/* ---------------------------------------------------------------------- */

static int has(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

static int proc_matches(const m_unit_t *u, const char *f)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", u->row.pid);
    if (has(u->row.name, f) || strcmp(pid, f) == 0)
        return 1;
    for (size_t i = 0; i < u->nprocs; i++)   /* the program name behind "git gc" */
        if (has(u->procs[i]->name, f))
            return 1;
    return 0;
}

static int op_matches(const view_row_t *r, const char *f)
{
    return has(r->label, f) || has(r->group, f) || has(r->description, f);
}

static const view_settings_t *sort_settings;

static int row_cmp(const void *a, const void *b)
{
    const view_row_t *x = a, *y = b;
    int d = view_col_compare(sort_settings->sort, x, y);
    if (sort_settings->sort_invert)
        d = -d;
    if (d == 0)
        d = strcmp(x->key, y->key);
    return d;
}

static void rows_sort(view_row_t *v, size_t n, const view_settings_t *s)
{
    sort_settings = s;      /* qsort has no context argument; single-threaded */
    if (n > 1)   /* v may be NULL when empty: qsort(NULL, 0) is UB */
        qsort(v, n, sizeof *v, row_cmp);
}

static int row_ptr_cmp(const void *a, const void *b)
{
    return row_cmp(*(const view_row_t *const *)a, *(const view_row_t *const *)b);
}

/* The same order for pointers to rows: a row is some 500 bytes, and the
 * daemon sorts the ops of a thousand processes on every VIEW. */
static void row_ptrs_sort(const view_row_t **v, size_t n, const view_settings_t *s)
{
    sort_settings = s;
    if (n > 1)
        qsort(v, n, sizeof *v, row_ptr_cmp);
}

/* ---------------------------------------------------------------------- */
/* Tree                                                                    */
/* ---------------------------------------------------------------------- */

typedef struct m_child {
    const char *set, *op;
    double count, total;
} m_child_t;

/* The children of (set, op) summed over the unit's processes. */
static size_t unit_children(const m_unit_t *u, const char *set, const char *op,
                            m_child_t **out)
{
    size_t n = 0, cap = 0;
    m_child_t *v = NULL;
    for (size_t k = 0; k < u->nprocs; k++)
        for (size_t j = 0; j < u->procs[k]->nops; j++) {
            const qp_snap_op_t *o = &u->procs[k]->ops[j];
            if (strcmp(o->set, set) != 0 || strcmp(o->op, op) != 0)
                continue;
            for (size_t c = 0; c < o->nchildren; c++) {
                const qp_snap_child_t *ch = &o->children[c];
                size_t i = 0;
                while (i < n && (strcmp(v[i].set, ch->set) || strcmp(v[i].op, ch->op)))
                    i++;
                if (i == n) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 8;
                        m_child_t *nv = realloc(v, cap * sizeof *nv);
                        if (!nv)
                            return free(v), *out = NULL, 0;
                        v = nv;
                    }
                    v[n++] = (m_child_t){ ch->set, ch->op, 0, 0 };
                }
                v[i].count += (double)ch->count;
                v[i].total += (double)ch->total_ns;
            }
        }
    *out = v;
    return n;
}

static int child_cmp(const void *a, const void *b)
{
    const m_child_t *x = a, *y = b;
    return QP_CMP(y->total, x->total);
}

/* Emits the children of row parent (an op of unit u) below it, recursively.
 * path holds the (set, op) pairs on the way down so a cycle stops. */
static int emit_children(m_ctx_t *c, const m_unit_t *u, const view_row_t *parent,
                         const char **path, int depth)
{
    if (depth >= TREE_MAX_DEPTH)
        return 0;
    m_child_t *ch = NULL;
    size_t n = unit_children(u, parent->set, parent->op, &ch);
    if (n > 1)   /* ch is NULL when there are none: qsort(NULL, 0) is UB */
        qsort(ch, n, sizeof *ch, child_cmp);
    double ptotal = parent->total;
    for (size_t i = 0; i < n; i++) {
        view_row_t *r = rows_push(c->rows);
        if (!r)
            return free(ch), -ENOMEM;
        m_op_t *mo = unit_find_op(u, ch[i].set, ch[i].op);
        row_blank(r, ROW_CHILD);
        r->depth = parent->depth + 1;
        r->pid = u->row.pid;
        r->nprocs = (int)u->nprocs;
        r->name = u->row.name;
        r->set = ch[i].set;
        r->op = ch[i].op;
        if (mo) {
            r->group = mo->row.group;
            r->description = mo->row.description;
            r->priority = mo->row.priority;
        }
        r->flags = u->row.flags & ROW_F_EXITED;
        r->count = ch[i].count;
        r->total = ch[i].total;
        r->mean = ch[i].count > 0 ? ch[i].total / ch[i].count : NAN;
        r->share = ptotal > 0 ? ch[i].total / ptotal : 0;
        fmt(r->label, sizeof r->label, "\u2514\u2500 %.0f%% %s.%s", 100.0 * r->share, r->set,
            r->op);
        fmt(r->key, sizeof r->key, "%s>%s.%s", parent->key, r->set, r->op);
        int cycle = 0;
        for (int d = 0; d < depth; d++)
            cycle |= strcmp(path[2 * d], ch[i].set) == 0 && strcmp(path[2 * d + 1], ch[i].op) == 0;
        if (cycle)
            continue;
        path[2 * depth] = ch[i].set;
        path[2 * depth + 1] = ch[i].op;
        view_row_t copy = *r;   /* r moves when the array grows */
        if (emit_children(c, u, &copy, path, depth + 1) < 0)
            return free(ch), -ENOMEM;
    }
    free(ch);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Grouping                                                                */
/* ---------------------------------------------------------------------- */

/* Appends op row r (and its tree) and returns 0 or -ENOMEM. */
static int emit_op(m_ctx_t *c, const m_unit_t *u, const view_row_t *r)
{
    view_row_t *dst = rows_push(c->rows);
    if (!dst)
        return -ENOMEM;
    *dst = *r;
    dst->depth = 1;
    if (!c->s->tree)
        return 0;
    const char *path[2 * TREE_MAX_DEPTH + 2] = { r->set, r->op };
    view_row_t copy = *dst;
    return emit_children(c, u, &copy, path, 1);
}

/* The time op row r took outside the ops nested in it. */
static double op_self_time(const view_row_t *r)
{
    return isnan(r->self) ? (isnan(r->total) ? 0 : r->total) : r->self * r->count;
}

static int build_by_process(m_ctx_t *c)
{
    const char *f = c->s->filter;
    view_row_t *heads = calloc(c->nunits ? c->nunits : 1, sizeof *heads);
    if (!heads)
        return -ENOMEM;
    size_t nh = 0;
    for (size_t i = 0; i < c->nunits; i++) {
        m_unit_t *u = &c->units[i];
        int pm = !*f || proc_matches(u, f);
        double shown = 0;   /* time in the ops shown, a nested op's counted once */
        int any = 0;
        for (size_t j = 0; j < u->nops; j++)
            if (pm || op_matches(&u->ops[j].row, f)) {
                any = 1;
                shown += op_self_time(&u->ops[j].row);
            }
        if (pm || any) {
            heads[nh] = u->row;
            heads[nh].depth = (int)i;    /* remember the unit while sorting */
            if (u->nops)
                heads[nh].total = shown;
            c->rows->time_total += shown;
            nh++;
        }
    }
    rows_sort(heads, nh, c->s);
    size_t most = 1, all = nh;
    for (size_t h = 0; h < nh; h++) {
        all += c->units[heads[h].depth].nops;
        if (c->units[heads[h].depth].nops > most)
            most = c->units[heads[h].depth].nops;
    }
    const view_row_t **ops = malloc(most * sizeof *ops);
    int r = ops && rows_reserve(c->rows, all) == 0 ? 0 : -ENOMEM;
    for (size_t h = 0; h < nh && r == 0; h++) {
        m_unit_t *u = &c->units[heads[h].depth];
        int pm = !*f || proc_matches(u, f);
        view_row_t *pr = rows_push(c->rows);
        if (!pr) {
            r = -ENOMEM;
            break;
        }
        *pr = heads[h];
        pr->depth = 0;
        size_t n = 0;
        for (size_t j = 0; j < u->nops; j++) {
            if (c->s->tree && u->ops[j].nested)
                continue;
            if (pm || op_matches(&u->ops[j].row, f))
                ops[n++] = &u->ops[j].row;
        }
        if (c->s->tree && n == 0 && u->nops > 0)    /* only cycles: show all */
            for (size_t j = 0; j < u->nops; j++)
                if (pm || op_matches(&u->ops[j].row, f))
                    ops[n++] = &u->ops[j].row;
        row_ptrs_sort(ops, n, c->s);
        for (size_t j = 0; j < n && r == 0; j++)
            r = emit_op(c, u, ops[j]);
    }
    free(ops);
    free(heads);
    return r;
}

typedef struct m_flat {
    view_row_t row;
    size_t unit;
} m_flat_t;

static void heading_key(const view_settings_t *s, const view_row_t *r, char *buf,
                        size_t len)
{
    if (s->group == VIEW_GROUP_SET)
        snprintf(buf, len, "%s", r->set);
    else if (s->group == VIEW_GROUP_GROUP)
        snprintf(buf, len, "%s", r->group ? r->group : "");
    else
        snprintf(buf, len, "%d", r->priority);
}

static int flat_heading_cmp(const m_flat_t *a, const m_flat_t *b, view_group_t g)
{
    if (g == VIEW_GROUP_PRIORITY)
        return (a->row.priority > b->row.priority) - (a->row.priority < b->row.priority);
    if (g == VIEW_GROUP_SET)
        return strcmp(a->row.set, b->row.set);
    return strcmp(a->row.group ? a->row.group : "", b->row.group ? b->row.group : "");
}

static view_group_t flat_group;

static int flat_cmp(const void *a, const void *b)
{
    const m_flat_t *x = a, *y = b;
    int d = flat_heading_cmp(x, y, flat_group);
    return d ? d : row_cmp(&x->row, &y->row);
}

/* Appends the heading of the rows v[0..n) (one set, group or priority). */
static int emit_heading(m_ctx_t *c, const m_flat_t *v, size_t n)
{
    view_row_t *h = rows_push(c->rows);
    if (!h)
        return -ENOMEM;
    row_blank(h, ROW_GROUP);
    h->set = v[0].row.set;
    h->group = v[0].row.group;
    h->priority = v[0].row.priority;
    char k[128];
    heading_key(c->s, &v[0].row, k, sizeof k);
    fmt(h->label, sizeof h->label, "%s %s", view_group_name(c->s->group), k);
    fmt(h->key, sizeof h->key, "g:%s", k);
    double count = 0, rate = 0, total = 0, self = 0;
    unsigned exited = ROW_F_EXITED;
    for (size_t i = 0; i < n; i++) {
        const view_row_t *r = &v[i].row;
        count += r->count;
        rate += r->rate_now;    /* not what exited processes ran at while alive */
        total += r->total;
        self += op_self_time(r);
        h->max = isnan(h->max) ? r->max : fmax(h->max, r->max);
        h->flags |= r->flags & (ROW_F_OVER_BUDGET | ROW_F_P99_JUMP | ROW_F_DROPPED);
        exited &= r->flags;
    }
    h->flags |= exited;
    h->count = count;
    h->rate = h->rate_now = rate;
    h->mean = count > 0 ? total / count : NAN;
    h->total = self;        /* the group's time, nested ops counted once */
    c->rows->time_total += self;
    return 0;
}

static int build_by_heading(m_ctx_t *c)
{
    const char *f = c->s->filter;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < c->nunits; i++)
        cap += c->units[i].nops;
    m_flat_t *v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < c->nunits; i++) {
        m_unit_t *u = &c->units[i];
        int pm = !*f || proc_matches(u, f);
        for (size_t j = 0; j < u->nops; j++)
            if (pm || op_matches(&u->ops[j].row, f))
                v[n++] = (m_flat_t){ u->ops[j].row, i };
    }
    flat_group = c->s->group;
    sort_settings = c->s;
    if (n > 1)
        qsort(v, n, sizeof *v, flat_cmp);
    int r = 0;
    for (size_t i = 0; i < n && r == 0;) {
        size_t e = i + 1;
        while (e < n && flat_heading_cmp(&v[i], &v[e], c->s->group) == 0)
            e++;
        r = emit_heading(c, &v[i], e - i);
        for (size_t k = i; k < e && r == 0; k++)
            r = emit_op(c, &c->units[v[k].unit], &v[k].row);
        i = e;
    }
    free(v);
    return r;
}

int view_model_build(view_rows_t *rows, const qp_snapshot_t *snap, const view_settings_t *s)
{
    rows->n = 0;
    rows->alive = rows->exited = rows->hidden = 0;
    rows->nops = 0;
    rows->time_total = 0;
    m_ctx_t c = { snap, s, rows, NULL, 0 };
    int r = units_build(&c);
    if (r == 0)
        r = s->group == VIEW_GROUP_PROCESS ? build_by_process(&c) : build_by_heading(&c);
    units_free(&c);
    for (size_t i = 0; i < rows->n; i++) {
        view_row_t *v = &rows->v[i];
        v->time_share = rows->time_total > 0 && !isnan(v->total) ? v->total / rows->time_total
                                                                 : NAN;
    }
    return r;
}

/* ---------------------------------------------------------------------- */
/* The processes and ops behind one row (detail view)                      */
/* ---------------------------------------------------------------------- */

static int proc_in_row(const qp_snap_proc_t *p, const view_settings_t *s, const view_row_t *r)
{
    if (s->merge && r->nprocs > 1) {
        char name[64];
        return r->name && strcmp(view_proc_name(p, name, sizeof name), r->name) == 0;
    }
    return p->pid == r->pid;
}

void view_model_each_op(const qp_snapshot_t *snap, const view_settings_t *s,
                        const view_row_t *r,
                        void (*fn)(const qp_snap_proc_t *, const qp_snap_op_t *, void *),
                        void *arg)
{
    if (!r->set || !r->op)
        return;
    for (size_t i = 0; i < snap->nprocs; i++) {
        const qp_snap_proc_t *p = &snap->procs[i];
        if (!proc_in_row(p, s, r))
            continue;
        for (size_t j = 0; j < p->nops; j++)
            if (strcmp(p->ops[j].set, r->set) == 0 && strcmp(p->ops[j].op, r->op) == 0)
                fn(p, &p->ops[j], arg);
    }
}

typedef struct hist_acc {
    qp_snap_bucket_t *v;
    size_t n, cap;
    int oom;
} hist_acc_t;

static void hist_add(const qp_snap_proc_t *p, const qp_snap_op_t *o, void *arg)
{
    hist_acc_t *h = arg;
    for (size_t i = 0; i < o->nhist && !h->oom; i++) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 64;
            qp_snap_bucket_t *v = realloc(h->v, cap * sizeof *v);
            if (!v) {
                h->oom = 1;
                return;
            }
            h->v = v;
            h->cap = cap;
        }
        h->v[h->n++] = o->hist[i];
    }
}

static int bucket_cmp(const void *a, const void *b)
{
    const qp_snap_bucket_t *x = a, *y = b;
    return (x->lo_ns > y->lo_ns) - (x->lo_ns < y->lo_ns);
}

qp_snap_bucket_t *view_model_hist(const qp_snapshot_t *snap, const view_settings_t *s,
                                  const view_row_t *r, size_t *n)
{
    hist_acc_t h = { 0 };
    view_model_each_op(snap, s, r, hist_add, &h);
    if (h.oom || h.n == 0) {
        free(h.v);
        *n = 0;
        return NULL;
    }
    qsort(h.v, h.n, sizeof *h.v, bucket_cmp);
    *n = h.n;
    return h.v;
}

/* ---------------------------------------------------------------------- */
/* Histogram bins (detail view)                                            */
/* ---------------------------------------------------------------------- */

int view_hist_bins(const qp_snap_bucket_t *b, size_t n, int maxbins, double *edge, double *cnt)
{
    if (n == 0 || maxbins < 1)
        return 0;
    double lo = (double)(b[0].lo_ns ? b[0].lo_ns : 1), hi = (double)b[n - 1].hi_ns;
    if (hi <= lo)
        hi = lo * 2;
    /* at most a bin per 5% of time, so a narrow histogram is not stretched */
    int nbins = (int)ceil(log(hi / lo) / log(1.05));
    if (nbins > maxbins)
        nbins = maxbins;
    if (nbins < 1)
        nbins = 1;
    double step = log(hi / lo) / nbins;
    /* Edges in whole nanoseconds (no sample lies between two integers),
     * each above the one before: near 1 ns equal log steps are narrower
     * than a nanosecond, and two bins would then both read "1ns". */
    int k = 0;
    edge[0] = (double)b[0].lo_ns;
    for (int i = 1; i <= nbins; i++) {
        double e = i == nbins ? hi : ceil(lo * exp(step * i) - 1e-9);
        if (e <= edge[k])
            continue;           /* this bin would be empty of integers */
        edge[++k] = e;
    }
    if (k == 0)
        edge[++k] = edge[0] + 1;
    for (int i = 0; i < k; i++)
        cnt[i] = 0;
    for (size_t i = 0; i < n; i++) {
        /* a bucket's count goes to the bin holding its middle */
        double mid = ((double)b[i].lo_ns + (double)b[i].hi_ns) / 2;
        int j = 0;
        while (j + 1 < k && mid >= edge[j + 1])
            j++;
        cnt[j] += (double)b[i].count;
    }
    return k;
}
