/*
 * panel_detail.c — the detail view of one operation (Enter on a row): its
 * description, every statistic and percentile, its budgets and nested ops,
 * its slowest samples (Enter on one shows what ran inside it, as a
 * waterfall: panel_waterfall.c) and its latency histogram as bars on a log
 * time axis.
 *
 * Only while this view is open does qptop ask the daemon for histograms
 * ("SNAPSHOT ... hist", only of the row's processes and op when the table
 * comes from the daemon: remote.c): they are the bulk of a snapshot.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "ui.h"

#define DETAIL_MAX_PAIRS 16

typedef struct pairs {
    const qp_snap_proc_t *p[DETAIL_MAX_PAIRS];
    const qp_snap_op_t *o[DETAIL_MAX_PAIRS];
    int n, more;
} pairs_t;

static void collect(const qp_snap_proc_t *p, const qp_snap_op_t *o, void *arg)
{
    pairs_t *ps = arg;
    if (ps->n == DETAIL_MAX_PAIRS) {
        ps->more++;
        return;
    }
    ps->p[ps->n] = p;
    ps->o[ps->n++] = o;
}

/* The row the detail view is about, pointing at ui's own copies. */
static view_row_t detail_row(const ui_t *ui)
{
    view_row_t r;
    memset(&r, 0, sizeof r);
    r.kind = ROW_OP;
    r.set = ui->d_set;
    r.op = ui->d_op;
    r.name = ui->d_name;
    r.pid = ui->d_pid;
    r.nprocs = ui->d_nprocs;
    return r;
}

unsigned detail_open(ui_t *ui, const view_row_t *r)
{
    if ((r->kind != ROW_OP && r->kind != ROW_CHILD) || !r->set || !r->op) {
        ui_message(ui, "Enter on an operation row shows its detail");
        return UI_REDRAW;
    }
    snprintf(ui->d_set, sizeof ui->d_set, "%s", r->set);
    snprintf(ui->d_op, sizeof ui->d_op, "%s", r->op);
    snprintf(ui->d_name, sizeof ui->d_name, "%s", r->name ? r->name : "");
    ui->d_pid = r->pid;
    ui->d_nprocs = r->nprocs;
    ui->d_scroll = 0;
    ui->d_sel = 0;
    ui->screen = SCR_DETAIL;
    return UI_REFETCH;      /* now with histograms */
}

/* ---------------------------------------------------------------------- */
/* Text part                                                               */
/* ---------------------------------------------------------------------- */

static int line(int y, int ymax, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int line(int y, int ymax, attr_t a, const char *fmt, ...)
{
    if (y >= ymax)
        return y;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_put(y, 1, buf, COLS - 1, a);
    return y + 1;
}

#define NS(v, b) qp_format_ns((double)(v), b, sizeof b)

static int stats_full(int y, int ymax, const qp_snap_proc_t *p, const qp_snap_op_t *o)
{
    char a[16], b[16], c[16], d[16], e[16], f[16];
    double selfpct = o->total_ns ? 100.0 * (double)o->self_ns / (double)o->total_ns : 0;
    y = line(y, ymax, A_NORMAL, "count %llu   rate %.1f/s   total %s   self %s (%.0f%%)",
             (unsigned long long)o->count, o->rate_per_s, NS(o->total_ns, a), NS(o->self_ns, b),
             selfpct);
    y = line(y, ymax, A_NORMAL, "min %s   mean %s   stddev %s", NS(o->min_ns, a),
             NS(o->mean_ns, b), NS(o->stddev_ns, c));
    y = line(y, ymax, ui_attr(UC_HEADER_VALUE), "p50 %s   p90 %s   p99 %s   p99.9 %s   max %s",
             NS(o->p50_ns, a), NS(o->p90_ns, b), NS(o->p99_ns, c), NS(o->p999_ns, d),
             NS(o->max_ns, e));
    if (o->p99_prev_ns > 0) {
        int jump = (double)o->p99_ns > VIEW_P99_JUMP * (double)o->p99_prev_ns;
        y = line(y, ymax, jump ? ui_attr(UC_P99_JUMP) : A_NORMAL,
                 "p99 of the previous window %s%s", NS(o->p99_prev_ns, f),
                 jump ? "  (jumped)" : "");
    }
    for (size_t i = 0; i < o->nbudgets; i++) {
        const qp_snap_budget_t *bu = &o->budgets[i];
        y = line(y, ymax, bu->broken ? ui_attr(UC_OVER_BUDGET) : A_NORMAL,
                 "budget %s: actual %s  %s", bu->rule ? bu->rule : "?", NS(bu->actual_ns, a),
                 bu->broken ? "BROKEN" : "ok");
    }
    for (size_t i = 0; i < o->nchildren; i++) {
        const qp_snap_child_t *ch = &o->children[i];
        double share = o->total_ns ? 100.0 * (double)ch->total_ns / (double)o->total_ns : 0;
        y = line(y, ymax, A_NORMAL, "inside it: %s.%s  %.1f%% of its time  (%llu calls, %s)",
                 ch->set, ch->op, share, (unsigned long long)ch->count, NS(ch->total_ns, a));
    }
    (void)p;
    return y;
}

static int stats_merged(int y, int ymax, const pairs_t *ps)
{
    char a[16], b[16], c[16], d[16], e[16];
    for (int i = 0; i < ps->n; i++) {
        const qp_snap_op_t *o = ps->o[i];
        y = line(y, ymax, ps->p[i]->alive ? A_NORMAL : ui_attr(UC_EXITED),
                 "pid %-7ld count %-9llu mean %-8s p50 %-8s p99 %-8s p99.9 %-8s max %s",
                 ps->p[i]->pid, (unsigned long long)o->count, NS(o->mean_ns, a),
                 NS(o->p50_ns, b), NS(o->p99_ns, c), NS(o->p999_ns, d), NS(o->max_ns, e));
    }
    if (ps->more)
        y = line(y, ymax, A_NORMAL, "... and %d more processes", ps->more);
    return y;
}

/* ---------------------------------------------------------------------- */
/* Slowest samples                                                         */
/* ---------------------------------------------------------------------- */

#define DETAIL_SLOW_MAX 10

int detail_slowest(ui_t *ui, const qp_snap_proc_t **procs, const qp_snap_slow_t **slow, int max)
{
    view_row_t r = detail_row(ui);
    pairs_t ps = { 0 };
    if (!ui_data(ui))
        return 0;
    view_model_each_op(ui_data(ui), ui->set, &r, collect, &ps);
    int n = 0;
    for (int i = 0; i < ps.n; i++)
        for (size_t k = 0; k < ps.o[i]->nslowest; k++) {
            const qp_snap_slow_t *s = &ps.o[i]->slowest[k];
            /* insertion, slowest first, keeping max */
            int j = n < max ? n++ : max;
            while (j > 0 && slow[j - 1]->dur_ns < s->dur_ns) {
                if (j < max) {
                    slow[j] = slow[j - 1];
                    procs[j] = procs[j - 1];
                }
                j--;
            }
            if (j < max) {
                slow[j] = s;
                procs[j] = ps.p[i];
            }
        }
    return n;
}

/* "12:34:56.123456" of Unix time t. */
static char *clock_str(double t, char *buf, size_t len)
{
    struct tm tm;
    time_t sec = t >= 0 && t < 1e11 ? (time_t)t : 0;
    if (!sec || !localtime_r(&sec, &tm)) {   /* a saved --input may hold any time */
        snprintf(buf, len, "%.6g", t);
        return buf;
    }
    size_t n = strftime(buf, len, "%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ld", (long)((t - floor(t)) * 1e6));
    return buf;
}

#define THREAD_LINES 8

/* The op's samples per thread, as the flight recorder holds them. */
static int threads_draw(int y, int ymax, const qp_snap_op_t *o)
{
    if (!o->nthreads)
        return y;
    uint64_t all = o->threads_other;
    for (size_t i = 0; i < o->nthreads; i++)
        all += o->threads[i].count;
    char since[32], a[16], b[16];
    y = line(y, ymax, A_NORMAL, "%s", "");
    y = line(y, ymax, ui_attr(UC_TITLE), "per thread, as the flight recorder holds it (since %s)",
             clock_str(o->threads_from, since, sizeof since));
    for (size_t i = 0; i < o->nthreads && i < THREAD_LINES; i++) {
        const qp_snap_thread_t *t = &o->threads[i];
        y = line(y, ymax, A_NORMAL, "  %-32.32s %10llu calls %5.1f%%   mean %s   max %s",
                 t->name ? t->name : "?", (unsigned long long)t->count,
                 all ? 100.0 * (double)t->count / (double)all : 0.0,
                 NS(t->count ? t->total_ns / t->count : 0, a), NS(t->max_ns, b));
    }
    if (o->nthreads > THREAD_LINES)
        y = line(y, ymax, A_NORMAL, "  ... and %zu more threads", o->nthreads - THREAD_LINES);
    if (o->threads_other)
        y = line(y, ymax, A_NORMAL, "  ... and %llu calls of threads past the first %zu",
                 (unsigned long long)o->threads_other, o->nthreads);
    return y;
}

static int slowest_draw(ui_t *ui, int y, int ymax, int merged)
{
    const qp_snap_proc_t *procs[DETAIL_SLOW_MAX];
    const qp_snap_slow_t *slow[DETAIL_SLOW_MAX];
    int n = detail_slowest(ui, procs, slow, DETAIL_SLOW_MAX);
    ui->d_nslow = n;
    if (ui->d_sel >= n)
        ui->d_sel = n ? n - 1 : 0;
    if (!n)
        return y;
    y = line(y, ymax, A_NORMAL, "%s", "");
    y = line(y, ymax, ui_attr(UC_TITLE),
             "slowest samples (Up/Down choose, Enter shows what ran inside)");
    for (int i = 0; i < n && y < ymax; i++) {
        const qp_snap_slow_t *s = slow[i];
        char d[16], self[16], when[32], who[48] = "", inside[256] = "";
        if (merged)
            snprintf(who, sizeof who, "pid %ld ", procs[i]->pid);
        size_t used = 0;
        for (size_t k = 0; k < s->nchildren && used + 2 < sizeof inside; k++) {
            char cd[16];
            int w = snprintf(inside + used, sizeof inside - used, "%s%s %s", k ? ", " : "inside: ",
                             s->children[k].op, NS(s->children[k].dur_ns, cd));
            if (w < 0)
                break;
            used += (size_t)w;
        }
        if (used >= sizeof inside)
            used = sizeof inside - 1;
        if (!s->nchildren)
            snprintf(inside, sizeof inside, "nothing instrumented inside");
        int sel = i == ui->d_sel;
        attr_t a = sel ? ui_attr(UC_CURSOR) : A_NORMAL;
        char buf[512];
        snprintf(buf, sizeof buf, "%s %8s  at %s  %stid %-7ld self %-8s %s", sel ? ">" : " ",
                 NS(s->dur_ns, d), clock_str(s->time, when, sizeof when), who, s->tid,
                 NS(s->self_ns, self), inside);
        if (sel) {
            char pad[1024];
            snprintf(pad, sizeof pad, "%-*s", COLS - 1 < 1000 ? COLS - 1 : 1000, buf);
            ui_put(y, 1, pad, COLS - 1, a);
        } else {
            ui_put(y, 1, buf, COLS - 1, a);
        }
        y++;
    }
    return y;
}

/* ---------------------------------------------------------------------- */
/* Histogram                                                               */
/* ---------------------------------------------------------------------- */

/* Sums the daemon's buckets into bins of equal width on a log time axis
 * (view_hist_bins), and draws one bar per bin. */
static void hist_draw(ui_t *ui, int y, int h, const qp_snap_bucket_t *b, size_t n,
                      uint64_t p50, uint64_t p99)
{
    double *edge = calloc((size_t)h + 1, sizeof *edge), *cnt = calloc((size_t)h, sizeof *cnt);
    int nbins = edge && cnt ? view_hist_bins(b, n, h, edge, cnt) : 0;
    double total = 0, max = 0;
    for (int k = 0; k < nbins; k++) {
        total += cnt[k];
        max = fmax(max, cnt[k]);
    }
    int labw = 9, barw = COLS - labw - 26;
    static const char *const eighths[] = { "", "\u258f", "\u258e", "\u258d", "\u258c",
                                           "\u258b", "\u258a", "\u2589" };
    for (int k = 0; k < nbins; k++) {
        double e0 = edge[k], e1 = edge[k + 1];
        char lab[16], bar[1024], tail[64];
        qp_format_ns(e0, lab, sizeof lab);
        double len = max > 0 ? cnt[k] / max * barw : 0;
        int full = (int)len, part = (int)((len - full) * 8);
        size_t o = 0;
        for (int i = 0; i < full && o + 4 < sizeof bar; i++)
            o += (size_t)snprintf(bar + o, sizeof bar - o, "%s", ui->utf8 ? "\u2588" : "#");
        if (ui->utf8 && part > 0 && o + 4 < sizeof bar)
            o += (size_t)snprintf(bar + o, sizeof bar - o, "%s", eighths[part]);
        bar[o] = 0;
        const char *mark = (double)p99 >= e0 && (double)p99 < e1   ? " <p99"
                           : (double)p50 >= e0 && (double)p50 < e1 ? " <p50"
                                                                   : "";
        if (cnt[k] > 0)
            snprintf(tail, sizeof tail, " %.0f (%.1f%%)%s", cnt[k],
                     total > 0 ? 100 * cnt[k] / total : 0, mark);
        else
            snprintf(tail, sizeof tail, "%s", mark);
        char padded[16];
        view_pad(padded, sizeof padded, lab, labw - 1, 1);
        ui_put(y + k, 1, padded, labw, ui_attr(UC_HEADER));
        ui_put(y + k, labw + 1, bar, barw, ui_attr(UC_BAR));
        ui_put(y + k, labw + 1 + view_strwidth(bar), tail, COLS, mark[0] ? ui_attr(UC_MARK) : A_NORMAL);
    }
    free(edge);
    free(cnt);
}

void detail_draw(ui_t *ui, int y0, int h)
{
    int ymax = y0 + h, y = y0;
    view_row_t r = detail_row(ui);
    pairs_t ps = { 0 };
    if (ui_data(ui))
        view_model_each_op(ui_data(ui), ui->set, &r, collect, &ps);
    char who[160];
    if (ui->set->merge && ui->d_nprocs > 1)
        snprintf(who, sizeof who, "%d processes named %s", ps.n + ps.more, ui->d_name);
    else
        snprintf(who, sizeof who, "process %s (pid %ld)", ui->d_name, ui->d_pid);
    y = line(y, ymax, ui_attr(UC_TITLE), "%s.%s  -  %s", ui->d_set, ui->d_op, who);
    if (ps.n == 0) {
        line(y + 1, ymax, A_NORMAL, ui_data(ui) ? "no samples of this operation in this view%s"
                                             : "no data%s",
             ui->set->cumulative ? "" : " (c shows the cumulative view)");
        return;
    }
    const qp_snap_op_t *o = ps.o[0];
    y = line(y, ymax, A_NORMAL, "group %s   priority %d   %s", o->group ? o->group : "-",
             o->priority, ui->set->cumulative ? "cumulative" : "live window");
    if (o->description && *o->description)
        y = line(y, ymax, ui_attr(UC_HEADER), "%s", o->description);
    y = line(y, ymax, A_NORMAL, "%s", "");
    if (ps.n == 1)
        y = stats_full(y, ymax, ps.p[0], o);
    else
        y = stats_merged(y, ymax, &ps);
    if (ps.n == 1)
        y = threads_draw(y, ymax, o);
    y = slowest_draw(ui, y, ymax, ps.n > 1);
    size_t nb = 0;
    qp_snap_bucket_t *b = ui_data(ui) ? view_model_hist(ui_data(ui), ui->set, &r, &nb) : NULL;
    y = line(y, ymax, A_NORMAL, "%s", "");
    if (!b) {
        line(y, ymax, A_NORMAL, "no histogram in this view");
        return;
    }
    y = line(y, ymax, ui_attr(UC_TITLE), "latency histogram (log time axis)");
    if (ymax - y >= 1)
        hist_draw(ui, y, ymax - y, b, nb, ps.n == 1 ? o->p50_ns : 0, ps.n == 1 ? o->p99_ns : 0);
    free(b);
}

static unsigned key_back(ui_t *ui, int key)
{
    ui->screen = SCR_TABLE;
    return UI_REFETCH;      /* back to snapshots without histograms */
}

static unsigned key_sel(ui_t *ui, int key)
{
    if (key == KEY_DOWN && ui->d_sel + 1 < ui->d_nslow)
        ui->d_sel++;
    else if (key == KEY_UP && ui->d_sel > 0)
        ui->d_sel--;
    return UI_REDRAW;
}

/* Enter: the waterfall of the chosen slowest sample, or back when there
 * is none. */
static unsigned key_enter(ui_t *ui, int key)
{
    const qp_snap_proc_t *procs[DETAIL_SLOW_MAX];
    const qp_snap_slow_t *slow[DETAIL_SLOW_MAX];
    int n = detail_slowest(ui, procs, slow, DETAIL_SLOW_MAX);
    if (!n)
        return key_back(ui, key);
    int i = ui->d_sel < n ? ui->d_sel : n - 1;
    for (size_t j = 0; j < procs[i]->nops; j++) {
        const qp_snap_op_t *o = &procs[i]->ops[j];
        if (slow[i] >= o->slowest && slow[i] < o->slowest + o->nslowest)
            return waterfall_open(ui, procs[i], o, slow[i]);
    }
    return UI_REDRAW;
}

const ui_key_t detail_keys[] = {
    { '\n', "Enter", "(detail view) what ran inside the chosen slowest sample", key_enter },
    { '\r', NULL, NULL, key_enter },
    { KEY_ENTER, NULL, NULL, key_enter },
    { KEY_DOWN, "Up Down", "(detail view) choose a slowest sample", key_sel },
    { KEY_UP, NULL, NULL, key_sel },
    { 27, "Esc Left", "(detail view) back to the table", key_back },
    { KEY_LEFT, NULL, NULL, key_back },
    { KEY_BACKSPACE, NULL, NULL, key_back },
    { 0, NULL, NULL, NULL },
};
