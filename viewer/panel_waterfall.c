/*
 * panel_waterfall.c — what ran inside one slowest sample (Enter on it in
 * the detail view), as a waterfall: one line per sample, nested by
 * indentation, its bar placed on a time axis that spans the slowest sample,
 * with its duration, its own (self) time and its start offset.
 *
 * The sample is copied out of the snapshot when the view opens, so it stays
 * on screen while the live data moves on.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "ui.h"

#define NS(v, b) qp_format_ns((double)(v), b, sizeof b)

static void add_spans(ui_t *ui, size_t *cap, const qp_snap_span_t *v, size_t n, int depth,
                      uint64_t base)
{
    for (size_t i = 0; i < n; i++) {
        if (ui->wf_n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            ui_wf_node_t *w = realloc(ui->wf, nc * sizeof *w);
            if (!w)
                return;
            ui->wf = w;
            *cap = nc;
        }
        ui_wf_node_t *nd = &ui->wf[ui->wf_n++];
        snprintf(nd->label, sizeof nd->label, "%s.%s", v[i].set ? v[i].set : "?",
                 v[i].op ? v[i].op : "?");
        nd->off = base + v[i].offset_ns;
        nd->dur = v[i].dur_ns;
        nd->self = v[i].self_ns;
        nd->depth = depth;
        /* a span's offset is from its parent's start */
        add_spans(ui, cap, v[i].children, v[i].nchildren, depth + 1, nd->off);
    }
}

unsigned waterfall_open(ui_t *ui, const qp_snap_proc_t *p, const qp_snap_op_t *o,
                        const qp_snap_slow_t *s)
{
    free(ui->wf);
    ui->wf = NULL;
    ui->wf_n = 0;
    size_t cap = 0;
    ui_wf_node_t top;
    memset(&top, 0, sizeof top);
    snprintf(top.label, sizeof top.label, "%s.%s", o->set, o->op);
    top.dur = s->dur_ns;
    top.self = s->self_ns;
    ui->wf = malloc(sizeof top);
    if (!ui->wf)
        return UI_REDRAW;
    cap = 1;
    ui->wf[ui->wf_n++] = top;
    add_spans(ui, &cap, s->children, s->nchildren, 1, 0);
    char when[48], d[16];
    struct tm tm;
    time_t sec = s->time >= 0 && s->time < 1e11 ? (time_t)s->time : 0;
    if (sec && localtime_r(&sec, &tm)) {
        size_t n = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(when + n, sizeof when - n, ".%06ld", (long)((s->time - floor(s->time)) * 1e6));
    } else {
        snprintf(when, sizeof when, "%.6g", s->time);
    }
    snprintf(ui->wf_title, sizeof ui->wf_title, "%s.%s  %s  at %s  %s (pid %ld) tid %ld%s",
             o->set, o->op, NS(s->dur_ns, d), when, p->name, p->pid, s->tid,
             s->truncated ? "  (more ran inside than shown)" : "");
    ui->wf_scroll = 0;
    ui->screen = SCR_WATERFALL;
    return UI_REDRAW;
}

void waterfall_draw(ui_t *ui, int y0, int h)
{
    int y = y0, ymax = y0 + h;
    ui_put(y++, 1, ui->wf_title, COLS - 1, ui_attr(UC_TITLE));
    if (!ui->wf_n)
        return;
    const uint64_t total = ui->wf[0].dur ? ui->wf[0].dur : 1;
    /* label | bar | numbers */
    int labw = COLS / 4 < 40 ? COLS / 4 : 40;
    int numw = 34;
    int x0 = 1 + labw + 1;
    int barw = COLS - x0 - numw - 1;
    if (barw < 10)
        barw = 10;
    /* the axis: 0, a quarter, half, three quarters and the end */
    char axis[1024];
    int aw = barw < (int)sizeof axis - 1 ? barw : (int)sizeof axis - 1;
    memset(axis, ' ', (size_t)aw);
    axis[aw] = 0;
    ui_put(y, x0, axis, aw, ui_attr(UC_HEADER));
    for (int q = 0; q <= 4; q++) {
        char lab[16];
        qp_format_ns((double)total * q / 4, lab, sizeof lab);
        int x = x0 + (int)((double)(barw - 1) * q / 4);
        int len = (int)strlen(lab);
        if (q == 4)
            x -= len - 1;
        else if (q > 0)
            x -= len / 2;
        ui_put(y, x < x0 ? x0 : x, lab, len, ui_attr(UC_HEADER));
    }
    ui_put(y, 1, "time from its start", labw, ui_attr(UC_HEADER));
    y++;
    ui_put(y++, 1, "(offset  duration  self = own code)", COLS - 1, ui_attr(UC_HEADER));
    int rows = ymax - y;
    if (ui->wf_scroll > (int)ui->wf_n - rows)
        ui->wf_scroll = (int)ui->wf_n - rows;
    if (ui->wf_scroll < 0)
        ui->wf_scroll = 0;
    for (size_t i = (size_t)ui->wf_scroll; i < ui->wf_n && y < ymax; i++, y++) {
        const ui_wf_node_t *nd = &ui->wf[i];
        char lab[192], bar[4096], num[96], a[16], b[16], c[16];
        int ind = nd->depth * 2 < labw - 4 ? nd->depth * 2 : labw - 4;
        snprintf(lab, sizeof lab, "%*s%s", ind, "", nd->label);
        ui_put(y, 1, lab, labw, i == 0 ? ui_attr(UC_HEADER_VALUE) : A_NORMAL);
        int start = (int)floor((double)nd->off / (double)total * barw);
        int len = (int)ceil((double)nd->dur / (double)total * barw);
        if (start >= barw)
            start = barw - 1;
        if (len < 1)
            len = 1;
        if (start + len > barw)
            len = barw - start;
        size_t o = 0;
        for (int k = 0; k < len && o + 4 < sizeof bar; k++)
            o += (size_t)snprintf(bar + o, sizeof bar - o, "%s", ui->utf8 ? "\u2588" : "#");
        bar[o] = 0;
        ui_put(y, x0 + start, bar, len, ui_attr(UC_BAR));
        snprintf(num, sizeof num, "+%-8s %-8s self %s", NS(nd->off, a), NS(nd->dur, b),
                 NS(nd->self, c));
        ui_put(y, x0 + barw + 1, num, COLS - (x0 + barw + 1), A_NORMAL);
    }
}

static unsigned key_back(ui_t *ui, int key)
{
    ui->screen = SCR_DETAIL;
    return UI_REFETCH;
}

static unsigned key_scroll(ui_t *ui, int key)
{
    int page = LINES - HEADER_LINES - 5;
    ui->wf_scroll += key == KEY_DOWN ? 1 : key == KEY_UP ? -1 : key == KEY_NPAGE ? page : -page;
    if (ui->wf_scroll < 0)
        ui->wf_scroll = 0;
    return UI_REDRAW;
}

const ui_key_t waterfall_keys[] = {
    { 27, "Esc Enter Left", "(waterfall) back to the detail view", key_back },
    { '\n', NULL, NULL, key_back },
    { '\r', NULL, NULL, key_back },
    { KEY_ENTER, NULL, NULL, key_back },
    { KEY_LEFT, NULL, NULL, key_back },
    { KEY_BACKSPACE, NULL, NULL, key_back },
    { KEY_DOWN, "Up Down PgUp PgDn", "(waterfall) scroll", key_scroll },
    { KEY_UP, NULL, NULL, key_scroll },
    { KEY_NPAGE, NULL, NULL, key_scroll },
    { KEY_PPAGE, NULL, NULL, key_scroll },
    { 0, NULL, NULL, NULL },
};
