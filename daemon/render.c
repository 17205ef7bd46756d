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
        jw_key(w, "set");
        jw_str(w, c->set);
        jw_key(w, "op");
        jw_str(w, c->name);
        jw_key(w, "count");
        jw_u64(w, k->count);
        jw_key(w, "total_ns");
        jw_u64(w, k->total);
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
        jw_key(w, "set");
        jw_str(w, c ? c->set : "?");
        jw_key(w, "op");
        jw_str(w, c ? c->name : "?");
        jw_key(w, "offset_ns");   /* after its parent's start */
        jw_u64(w, nd->offset >= parent_off ? nd->offset - parent_off : 0);
        jw_key(w, "dur_ns");
        jw_u64(w, nd->dur);
        jw_key(w, "self_ns");
        jw_u64(w, nd->self);
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
        jw_key(w, "time");
        jw_time(w, real_off + (double)s->start / 1e9);
        jw_key(w, "tid");
        jw_i64(w, s->tid);
        jw_key(w, "dur_ns");
        jw_u64(w, s->dur);
        jw_key(w, "self_ns");
        jw_u64(w, s->self);
        if (s->tree && s->tree->truncated) {
            jw_key(w, "truncated");
            jw_bool(w, 1);
        }
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
        jw_key(w, "rule");
        jw_str(w, r->text);
        jw_key(w, "stat");
        jw_str(w, qp_stat_name(r->stat));
        jw_key(w, "limit_ns");
        jw_double(w, r->limit_ns);
        jw_key(w, "actual_ns");
        jw_double(w, bs[k].actual);
        jw_key(w, "broken");
        jw_bool(w, bs[k].broken);
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
        jw_key(w, "tid");
        jw_i64(w, v[k].tid);
        jw_key(w, "name");
        jw_str(w, name);
        jw_key(w, "count");
        jw_u64(w, v[k].count);
        jw_key(w, "total_ns");
        jw_u64(w, v[k].total);
        jw_key(w, "max_ns");
        jw_u64(w, v[k].max);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "threads_other");
    jw_u64(w, other);
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
    jw_key(w, "set");
    jw_str(w, o->set);
    jw_key(w, "op");
    jw_str(w, o->name);
    jw_key(w, "group");
    jw_str(w, o->group);
    jw_key(w, "description");
    jw_str(w, o->desc);
    jw_key(w, "priority");
    jw_i64(w, o->priority);
    jw_key(w, "count");
    jw_u64(w, st->h.count);
    jw_key(w, "dropped");   /* since start, in every report: like the process's */
    jw_u64(w, dropped);
    jw_key(w, "rate_per_s");
    jw_double(w, span_s > 0 ? (double)st->h.count / span_s : 0.0);
    jw_key(w, "mean_ns");
    jw_double(w, agg_mean(st));
    jw_key(w, "min_ns");
    jw_u64(w, hist_min(&st->h));
    jw_key(w, "max_ns");
    jw_u64(w, hist_max(&st->h));
    jw_key(w, "p50_ns");
    jw_u64(w, pv[0]);
    jw_key(w, "p90_ns");
    jw_u64(w, pv[1]);
    jw_key(w, "p99_ns");
    jw_u64(w, pv[2]);
    jw_key(w, "p999_ns");
    jw_u64(w, pv[3]);
    jw_key(w, "stddev_ns");
    jw_double(w, agg_stddev(st));
    jw_key(w, "total_ns");
    jw_u64(w, st->h.total);
    jw_key(w, "self_ns");
    jw_u64(w, st->self);
    jw_key(w, "p99_prev_ns");
    jw_u64(w, o->p99_prev);
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
    jw_key(w, "pid");
    jw_i64(w, p->pid);
    jw_key(w, "name");
    jw_str(w, p->name);
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
    jw_key(w, "alive");
    jw_bool(w, p->alive);
    jw_key(w, "dropped");
    jw_u64(w, p->dropped_last - p->dropped_base);
    jw_key(w, "lost");
    jw_u64(w, p->lost_prev);
    jw_key(w, "uid");
    jw_u64(w, p->uid);
    jw_key(w, "started_at");
    jw_double(w, p->started_at);
    jw_key(w, "exited_at");
    if (p->alive)
        jw_null(w);
    else
        jw_double(w, p->exited_at);
    jw_key(w, "cpu_pct");
    jw_double(w, p->cpu_pct);
    jw_key(w, "rss_bytes");
    jw_u64(w, p->rss_bytes);
    jw_key(w, "threads");
    jw_u64(w, p->threads);
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
    jw_key(w, "qpulse");
    jw_i64(w, 1);
    jw_key(w, "time");
    jw_double(w, real_s());
    jw_key(w, "window_s");
    if (cumulative)
        jw_null(w);
    else
        jw_double(w, (double)qpd.cfg.window);
    jw_key(w, "ns");
    jw_str(w, qpd.cfg.ns);
    jw_key(w, "daemon_pid");
    jw_i64(w, getpid());
    jw_key(w, "uptime_s");
    jw_double(w, (double)(now - qpd.start_mono) / 1e9);
    jw_key(w, "samples_per_s");
    jw_double(w, qpd.samples_per_s);
    jw_key(w, "dropped_total");
    jw_u64(w, dropped);
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
