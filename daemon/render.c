/*
 * render.c — the snapshot JSON of docs/PROTOCOL.md, written from the
 * daemon's tables.  Runs with qpd.lock held (main thread).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qpulsed.h"
#include "slowest.h"

static const double pcts[] = { 50.0, 90.0, 99.0, 99.9 };

static int hist_bucket_json(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    jw_t *w = ctx;
    jw_arr_begin(w);
    jw_u64(w, lo);
    jw_u64(w, hi);
    jw_u64(w, count);
    jw_arr_end(w);
    return 0;
}

static void render_children(jw_t *w, const struct proc *p, const struct agg_stats *st)
{
    jw_key(w, "children");
    jw_arr_begin(w);
    for (uint32_t i = 0; i < st->nkids; i++) {
        const struct agg_child *k = &st->kids[i];
        const struct agg_op *c = k->op < p->nops ? p->ops[k->op] : NULL;
        if (!c)
            continue;
        jw_obj_begin(w);
        jw_kv_str(w, "set", c->set);
        jw_kv_str(w, "op", c->name);
        jw_kv_u64(w, "count", k->count);
        jw_kv_u64(w, "total_ns", k->total);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* Nodes [*i, n) of depth `depth` and their descendants, as nested
 * "children" arrays; parent_off is their parent's offset from the slowest
 * sample's start. */
static void render_nodes(jw_t *w, const struct proc *p, const struct slow_tree *t, uint32_t *i,
                         uint32_t depth, uint64_t parent_off)
{
    jw_key(w, "children");
    jw_arr_begin(w);
    while (*i < t->n && t->nodes[*i].depth == depth) {
        const struct slow_node *nd = &t->nodes[(*i)++];
        const struct agg_op *c = nd->op < p->nops ? p->ops[nd->op] : NULL;
        jw_obj_begin(w);
        jw_kv_str(w, "set", c ? c->set : "?");
        jw_kv_str(w, "op", c ? c->name : "?");
        /* after its parent's start */
        jw_kv_u64(w, "offset_ns", nd->offset >= parent_off ? nd->offset - parent_off : 0);
        jw_kv_u64(w, "dur_ns", nd->dur);
        jw_kv_u64(w, "self_ns", nd->self);
        render_nodes(w, p, t, i, depth + 1, nd->offset);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void render_slowest(jw_t *w, const struct proc *p, const struct agg_op *o,
                           int cumulative, int64_t sec, double real_off)
{
    const struct slow_sample *v[SLOW_K_MAX];
    unsigned n = slowest_list(o, cumulative, sec, v, slow_k);
    jw_key(w, "slowest");
    jw_arr_begin(w);
    for (unsigned k = 0; k < n; k++) {
        const struct slow_sample *s = v[k];
        jw_obj_begin(w);
        jw_kv_time(w, "time", real_off + (double)s->start / 1e9);
        jw_kv_i64(w, "tid", s->tid);
        jw_kv_u64(w, "dur_ns", s->dur);
        jw_kv_u64(w, "self_ns", s->self);
        if (s->tree && s->tree->truncated)
            jw_kv_bool(w, "truncated", 1);
        uint32_t i = 0;
        static const struct slow_tree empty = { 0, 0, 0, 0 };
        render_nodes(w, p, s->tree ? s->tree : &empty, &i, 0, 0);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* The window's state is the tick's (what the log reported); a cumulative
 * view's is evaluated over its statistics st. */
static void render_budgets(jw_t *w, const struct agg_op *o, const struct agg_stats *st,
                           int cumulative)
{
    struct budget_state bs[QP_STAT_COUNT_];
    unsigned n = budgets_states(o, cumulative ? st : NULL, bs);
    jw_key(w, "budgets");
    jw_arr_begin(w);
    for (unsigned k = 0; k < n; k++) {
        const qp_budget_rule_t *r = bs[k].rule;
        jw_obj_begin(w);
        jw_kv_str(w, "rule", r->text);
        jw_kv_str(w, "stat", qp_stat_name(r->stat));
        jw_kv_double(w, "limit_ns", r->limit_ns);
        jw_kv_double(w, "actual_ns", bs[k].actual);
        jw_kv_bool(w, "broken", bs[k].broken);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

#define THREADS_MAX 256   /* threads listed per op; the rest add to "other" */

/* "threads": the recorder's samples of op i of p in the view, per thread,
 * busiest first; "threads_from": when the oldest record it holds began. */
static void render_threads(jw_t *w, const struct proc *p, uint32_t i, int cumulative,
                           int64_t sec, double real_off)
{
    static struct hist_thread v[THREADS_MAX];
    uint64_t other = 0, oldest = 0;
    uint64_t since = cumulative || sec < (int64_t)agg_window_s
                         ? 0 : (uint64_t)(sec - (int64_t)agg_window_s + 1) * 1000000000u;
    size_t n = hist_ring.cap ? history_threads(p->hid, i, since, v, THREADS_MAX, &other, &oldest)
                             : 0;
    for (size_t a = 1; a < n; a++)   /* by count, descending (few: insertion) */
        for (size_t b = a; b > 0 && v[b].count > v[b - 1].count; b--) {
            struct hist_thread t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    jw_key(w, "threads");
    jw_arr_begin(w);
    for (size_t k = 0; k < n; k++) {
        char name[96];
        trace_thread_name(p, v[k].tid, name, sizeof name);
        jw_obj_begin(w);
        jw_kv_i64(w, "tid", v[k].tid);
        jw_kv_str(w, "name", name);
        jw_kv_u64(w, "count", v[k].count);
        jw_kv_u64(w, "total_ns", v[k].total);
        jw_kv_u64(w, "max_ns", v[k].max);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_kv_u64(w, "threads_other", other);
    jw_key(w, "threads_from");
    if (oldest)
        jw_time(w, real_off + (double)oldest / 1e9);
    else
        jw_null(w);
}

static void render_op_stats(jw_t *w, const struct proc *p, const struct agg_op *o,
                            uint64_t dropped, const struct agg_stats *st, double span_s,
                            int with_hist, int cumulative, int64_t sec, double real_off,
                            uint32_t threads_of)
{
    uint64_t pv[4];
    hist_percentiles(&st->h, pcts, pv, 4);
    jw_obj_begin(w);
    jw_kv_str(w, "set", o->set);
    jw_kv_str(w, "op", o->name);
    jw_kv_str(w, "group", o->group);
    jw_kv_str(w, "description", o->desc);
    jw_kv_i64(w, "priority", o->priority);
    jw_kv_u64(w, "count", st->h.count);
    jw_kv_u64(w, "dropped", dropped);   /* since start, in every report: like the process's */
    jw_kv_double(w, "rate_per_s", span_s > 0 ? (double)st->h.count / span_s : 0.0);
    jw_kv_double(w, "mean_ns", agg_mean(st));
    jw_kv_u64(w, "min_ns", hist_min(&st->h));
    jw_kv_u64(w, "max_ns", hist_max(&st->h));
    jw_kv_u64(w, "p50_ns", pv[0]);
    jw_kv_u64(w, "p90_ns", pv[1]);
    jw_kv_u64(w, "p99_ns", pv[2]);
    jw_kv_u64(w, "p999_ns", pv[3]);
    jw_kv_double(w, "stddev_ns", agg_stddev(st));
    jw_kv_u64(w, "total_ns", st->h.total);
    jw_kv_u64(w, "self_ns", st->self);
    jw_kv_u64(w, "p99_prev_ns", o->p99_prev);
    render_children(w, p, st);
    render_slowest(w, p, o, cumulative, sec, real_off);
    if (qpd.budgets)
        render_budgets(w, o, st, cumulative);
    if (threads_of)
        render_threads(w, p, threads_of - 1, cumulative, sec, real_off);
    if (with_hist) {
        jw_key(w, "hist");
        jw_arr_begin(w);
        hist_iterate(&st->h, hist_bucket_json, w);
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

/* Seconds the statistics of p cover, for rate_per_s: its lifetime so far
 * (since first seen or reset), and for the window only the part of it that
 * lies in the window.  An exited process's last samples sit in whole-second
 * slots, so its share of the window is taken as at least a second (or its
 * whole life when shorter), lest the rate of a process that left long ago
 * grow without bound as the window moves past it. */
double render_proc_span(const struct proc *p, int64_t now, int cumulative)
{
    int64_t end = p->r ? now : p->exit_mono;
    double life = (double)(end - p->seen_mono) / 1e9;
    if (life < 1e-3)
        life = 1e-3;
    if (cumulative)
        return life;
    /* The window holds the current partial second and W-1 whole ones. */
    double frac = (double)(now % 1000000000) / 1e9;
    double win = (double)qpd.cfg.window - 1.0 + frac;
    double win_start = (double)now / 1e9 - win;
    double start = (double)p->seen_mono / 1e9;
    if (start < win_start)
        start = win_start;
    double span = (double)end / 1e9 - start;
    if (p->r)
        return span > 1e-3 ? span : 1e-3;
    double floor_s = life < 1.0 ? life : 1.0;
    return span > floor_s ? span : floor_s;
}

static void render_proc(jw_t *w, const struct proc *p, int cumulative, int with_hist,
                        int64_t now, double real_off, const struct render_sel *sel)
{
    jw_obj_begin(w);
    jw_kv_i64(w, "pid", p->pid);
    jw_kv_str(w, "name", p->name);
    jw_key(w, "cmdline");
    jw_arr_begin(w);
    unsigned len = p->cmdline_len;
    while (len > 0 && p->cmdline[len - 1] == 0)     /* a rewritten title pads with NULs */
        len--;
    for (unsigned i = 0; i < len;) {                /* NUL-separated arguments */
        char arg[sizeof p->cmdline + 1];
        size_t n = strnlen(p->cmdline + i, len - i);
        memcpy(arg, p->cmdline + i, n);
        arg[n] = 0;
        jw_str(w, arg);
        i += (unsigned)n + 1;
    }
    jw_arr_end(w);
    jw_kv_bool(w, "alive", p->alive);
    jw_kv_u64(w, "dropped", p->dropped_last - p->dropped_base);
    jw_kv_u64(w, "lost", p->lost_prev);
    jw_kv_u64(w, "uid", p->uid);
    jw_kv_double(w, "started_at", p->started_at);
    jw_key(w, "exited_at");
    if (p->alive)
        jw_null(w);
    else
        jw_double(w, p->exited_at);
    jw_kv_double(w, "cpu_pct", p->cpu_pct);
    jw_kv_u64(w, "rss_bytes", p->rss_bytes);
    jw_kv_u64(w, "threads", p->threads);
    jw_key(w, "ops");
    jw_arr_begin(w);
    double span = render_proc_span(p, now, cumulative);
    int64_t sec = now / 1000000000;
    for (uint32_t i = 0; i < p->nops; i++) {
        const struct agg_op *o = p->ops[i];
        if (!o || (sel && !sel->op(o, sel->arg)))
            continue;
        uint64_t dropped = proc_op_dropped(p, i);
        uint32_t th = sel && sel->threads ? i + 1 : 0;
        if (cumulative) {
            /* An operation whose every sample was dropped is listed too. */
            if (o->cum.h.count || dropped)
                render_op_stats(w, p, o, dropped, &o->cum, span, with_hist, 1, sec, real_off, th);
            continue;
        }
        struct agg_stats win;
        agg_window(o, sec, &win);
        if (win.h.count)
            render_op_stats(w, p, o, dropped, &win, span, with_hist, 0, sec, real_off, th);
        agg_stats_free(&win);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

void render_snapshot_head(jw_t *w, int cumulative)
{
    int64_t now = mono_ns();
    uint64_t dropped = qpd.dropped_gone;
    if (qpd.view_uid != (uid_t)-1)
        dropped = 0;   /* a user's client: its own processes' only */
    for (const struct proc *p = qpd.procs; p; p = p->next)
        if (access_visible(p))
            dropped += p->dropped_last - p->dropped_base;
    jw_kv_i64(w, "qpulse", 1);
    jw_kv_double(w, "time", real_s());
    jw_key(w, "window_s");
    if (cumulative)
        jw_null(w);
    else
        jw_double(w, (double)qpd.cfg.window);
    jw_kv_str(w, "ns", qpd.cfg.ns);
    jw_kv_i64(w, "daemon_pid", getpid());
    jw_kv_double(w, "uptime_s", (double)(now - qpd.start_mono) / 1e9);
    jw_kv_double(w, "samples_per_s", qpd.samples_per_s);
    jw_kv_u64(w, "dropped_total", dropped);
    jw_key(w, "skipped");
    procs_render_skipped(w);
}

void render_snapshot_sel(jw_t *w, int cumulative, int with_hist, const struct render_sel *sel)
{
    int64_t now = mono_ns();
    double real_off = real_s() - (double)now / 1e9;
    jw_obj_begin(w);
    render_snapshot_head(w, cumulative);
    jw_key(w, "processes");
    jw_arr_begin(w);
    for (const struct proc *p = qpd.procs; p; p = p->next)
        if (access_visible(p) && (!sel || sel->proc(p, sel->arg)))
            render_proc(w, p, cumulative, with_hist, now, real_off, sel);
    jw_arr_end(w);
    jw_obj_end(w);
}

void render_snapshot(jw_t *w, int cumulative, int with_hist)
{
    render_snapshot_sel(w, cumulative, with_hist, NULL);
}
