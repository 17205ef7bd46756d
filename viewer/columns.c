/*
 * columns.c — qptop's table columns: titles, widths, how a row's cell is
 * formatted and compared, and which columns fit a given width.
 *
 * The screen and `qptop -b --format text` both print rows through
 * view_format_row(), so the text report is the screen's table.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "view.h"

/* title, name, width, right-aligned, numeric (largest first by default),
 * and for the text columns how narrow and how wide they may get */
const view_column_t view_columns[COL_COUNT_] = {
    [COL_PID] = { "PID", "pid", 7, 1, 0, 4, 7 },
    [COL_PROCESS] = { "PROCESS", "process", 14, 0, 0, 8, 32 },
    [COL_OP] = { "OPERATION", "op", 26, 0, 0, 14, 60 },
    [COL_COUNT] = { "COUNT", "count", 7, 1, 1, 0, 0 },
    [COL_RATE] = { "RATE/s", "rate", 7, 1, 1, 0, 0 },
    [COL_TOTAL] = { "TOTAL", "total", 7, 1, 1, 0, 0 },
    [COL_SHARE] = { "SHARE", "share", 6, 1, 1, 0, 0 },
    [COL_MEAN] = { "MEAN", "mean", 7, 1, 1, 0, 0 },
    [COL_P50] = { "P50", "p50", 7, 1, 1, 0, 0 },
    [COL_P99] = { "P99", "p99", 7, 1, 1, 0, 0 },
    [COL_P999] = { "P99.9", "p999", 7, 1, 1, 0, 0 },
    [COL_MAX] = { "MAX", "max", 7, 1, 1, 0, 0 },
    [COL_SELF] = { "SELF", "self", 7, 1, 1, 0, 0 },
    [COL_CPU] = { "CPU%", "cpu", 5, 1, 1, 0, 0 },
    [COL_RSS] = { "RSS", "rss", 6, 1, 1, 0, 0 },
};

/* Which columns stay on a narrow terminal, most important first.  The
 * first ones are always there (the text columns shrink for them); the
 * next two are kept by shrinking the text columns too; the rest appear in
 * this order as long as the text columns keep the width they want. */
static const view_col_t must_cols[] = { COL_OP, COL_PROCESS, COL_TOTAL, COL_SHARE, COL_COUNT };
static const view_col_t shrink_for[] = { COL_P99, COL_MEAN };
static const view_col_t if_room[] = { COL_PID, COL_MAX, COL_RATE, COL_P50, COL_P999,
                                      COL_SELF, COL_CPU, COL_RSS };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int view_col_parse(const char *s, view_col_t *out)
{
    for (int c = 0; c < COL_COUNT_; c++)
        if (strcasecmp(s, view_columns[c].name) == 0 ||
            strcasecmp(s, view_columns[c].title) == 0) {
            *out = (view_col_t)c;
            return 0;
        }
    return -EINVAL;
}

static double col_value(view_col_t c, const view_row_t *r)
{
    switch (c) {
    case COL_PID: return (double)r->pid;
    case COL_COUNT: return r->count;
    case COL_RATE: return r->rate;
    case COL_TOTAL: return r->total;
    case COL_SHARE: return r->total;    /* time_share is total / what is shown */
    case COL_MEAN: return r->mean;
    case COL_P50: return r->p50;
    case COL_P99: return r->p99;
    case COL_P999: return r->p999;
    case COL_MAX: return r->max;
    case COL_SELF: return r->self;
    case COL_CPU: return r->cpu;
    case COL_RSS: return r->rss;
    default: return NAN;
    }
}

static int str_cmp(const char *a, const char *b)
{
    return strcasecmp(a ? a : "", b ? b : "");
}

int view_col_compare(view_col_t c, const view_row_t *a, const view_row_t *b)
{
    if (c == COL_PROCESS)
        return str_cmp(a->name, b->name);
    if (c == COL_OP)
        return str_cmp(a->label, b->label);
    double x = col_value(c, a), y = col_value(c, b);
    if (isnan(x) || isnan(y))           /* rows without the value go last */
        return isnan(x) - isnan(y);
    int d = (x > y) - (x < y);
    return view_columns[c].numeric_desc ? -d : d;
}

/* ---------------------------------------------------------------------- */
/* Cells                                                                   */
/* ---------------------------------------------------------------------- */

const char *view_fmt_bytes(double b, char *buf, size_t len)
{
    static const char units[] = "BKMGTP";
    int u = 0;
    if (isnan(b) || b < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u == 0 || b >= 100 ? "%.0f%c" : "%.1f%c", b, units[u]);
    return buf;
}

const char *view_fmt_count(double c, char *buf, size_t len)
{
    static const qp_scale_t scale[] = {
        { 1e4, 1, 1, "" }, { 1e6, 1e3, 1, "k" }, { 1e9, 1e6, 1, "M" }, { INFINITY, 1e9, 1, "G" },
    };
    if (isnan(c))
        snprintf(buf, len, "-");
    else if (c < 1e6 && c == floor(c))
        snprintf(buf, len, "%.0f", c);
    else
        qp_format_scaled(c, scale, sizeof scale / sizeof *scale, buf, len);
    return buf;
}

const char *view_row_flag(const view_row_t *r)
{
    if (r->flags & ROW_F_OVER_BUDGET)
        return "!";
    if (r->flags & ROW_F_P99_JUMP)
        return "^";
    if (r->flags & ROW_F_DROPPED)
        return "D";
    return " ";
}

/* The text of one cell; "" where the row has no such value. */
static const char *cell(view_col_t c, const view_row_t *r, char *buf, size_t len)
{
    buf[0] = 0;
    int heading = r->kind == ROW_PROC || r->kind == ROW_GROUP;
    int child = r->kind == ROW_CHILD;
    switch (c) {
    case COL_PID:
        if (r->kind != ROW_GROUP)
            snprintf(buf, len, "%ld", r->pid);
        return buf;
    case COL_PROCESS:
        if (r->kind == ROW_GROUP || !r->name || !*r->name)
            return buf;
        if (r->nprocs > 1)
            snprintf(buf, len, "%s\u00d7%d", r->name, r->nprocs);
        else
            snprintf(buf, len, "%s", r->name);
        return buf;
    case COL_OP:
        snprintf(buf, len, "%*s%s", 2 * r->depth, "", r->label);
        return buf;
    case COL_COUNT:
        return view_fmt_count(r->count, buf, len);
    case COL_RATE:
        return child ? buf : view_fmt_count(r->rate, buf, len);
    case COL_TOTAL:
        return isnan(r->total) ? buf : qp_format_ns(r->total, buf, len);
    case COL_SHARE:
        if (!isnan(r->time_share))
            snprintf(buf, len, "%.1f%%", 100.0 * r->time_share);
        return buf;
    case COL_MEAN:
        return isnan(r->mean) ? buf : qp_format_ns(r->mean, buf, len);
    case COL_P50:
    case COL_P99:
    case COL_P999:
    case COL_SELF:
        if (heading || child)
            return buf;
        return qp_format_ns(col_value(c, r), buf, len);
    case COL_MAX:
        return child || isnan(r->max) ? buf : qp_format_ns(r->max, buf, len);
    case COL_CPU:
        if (r->kind == ROW_PROC && !isnan(r->cpu))
            snprintf(buf, len, "%.1f", r->cpu);
        return buf;
    case COL_RSS:
        return r->kind == ROW_PROC && !isnan(r->rss) ? view_fmt_bytes(r->rss, buf, len) : buf;
    default:
        return buf;
    }
}

/* ---------------------------------------------------------------------- */
/* Text                                                                    */
/* ---------------------------------------------------------------------- */

int view_strwidth(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* A control character in a name (a process may name itself "\e[2J" or
 * "a\nb") would move the cursor or drive the terminal: shown as '?'. */
static char printable(char c)
{
    return qp_is_ctrl(c) ? '?' : c;
}

void view_pad(char *out, size_t len, const char *s, int w, int right)
{
    size_t o = 0;
    int sw = view_strwidth(s);
    if (len == 0)
        return;
    if (sw > w) {       /* cut at a code point boundary, mark with '~' */
        int cells = 0;
        const char *p = s;
        while (*p && cells < w - 1) {
            do
                if (o + 1 < len)
                    out[o++] = printable(*p++);
                else
                    p++;
            while (((unsigned char)*p & 0xc0) == 0x80);
            cells++;
        }
        if (w > 0 && o + 1 < len)
            out[o++] = '~';
        out[o] = 0;
        return;
    }
    int pad = w - sw;
    if (right)
        for (; pad > 0 && o + 1 < len; pad--)
            out[o++] = ' ';
    for (const char *p = s; *p && o + 1 < len; p++)
        out[o++] = printable(*p);
    for (; pad > 0 && o + 1 < len; pad--)
        out[o++] = ' ';
    out[o] = 0;
}

static int is_text(int c)
{
    return view_columns[c].maxw > 0;
}

void view_layout_need(const view_rows_t *rows, int need[COL_COUNT_])
{
    char buf[200];
    for (int c = 0; c < COL_COUNT_; c++) {
        int w = is_text(c) ? view_strwidth(view_columns[c].title) + 1 : view_columns[c].width;
        if (need[c] < w)
            need[c] = w;
    }
    for (size_t i = 0; rows && i < rows->n; i++)
        for (int c = COL_PID; c <= COL_OP; c++) {
            int w = view_strwidth(cell((view_col_t)c, &rows->v[i], buf, sizeof buf));
            if (need[c] < w)
                need[c] = w;
        }
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Cells the columns of l take: the flag column and one space before each. */
static int layout_width(const view_layout_t *l)
{
    int used = 1;
    for (int c = 0; c < COL_COUNT_; c++)
        if (l->mask & (1u << c))
            used += 1 + l->w[c];
    return used;
}

int view_layout(int width, const int need[COL_COUNT_], view_layout_t *l)
{
    int want[COL_COUNT_], most[COL_COUNT_];
    memset(l, 0, sizeof *l);
    for (int c = 0; c < COL_COUNT_; c++) {
        const view_column_t *col = &view_columns[c];
        if (is_text(c)) {
            most[c] = clampi(need[c], 1, col->maxw);
            want[c] = need[c] < col->width ? most[c] : col->width;
            l->w[c] = need[c] < col->minw ? most[c] : col->minw;
        } else {
            most[c] = want[c] = l->w[c] = col->width;
        }
    }
    for (size_t i = 0; i < NELEM(must_cols); i++)
        l->mask |= 1u << must_cols[i];
    if (layout_width(l) > width)
        return -1;
    for (size_t i = 0; i < NELEM(shrink_for); i++)
        if (layout_width(l) + 1 + l->w[shrink_for[i]] <= width)
            l->mask |= 1u << shrink_for[i];
    /* the text columns at the width they want, then what room is left */
    int grow = 0;
    for (int c = 0; c < COL_COUNT_; c++)
        if (is_text(c) && (l->mask & (1u << c)) && want[c] > l->w[c])
            grow += want[c] - l->w[c];
    for (size_t i = 0; i < NELEM(if_room); i++) {
        view_col_t c = if_room[i];
        int extra = 1 + (c == COL_PID ? most[c] : l->w[c]);
        if (layout_width(l) + grow + extra > width)
            break;
        if (c == COL_PID)
            l->w[c] = most[c];
        l->mask |= 1u << c;
    }
    /* the room left goes to the text columns, a cell at a time each, up to
     * what their content needs: a long process name is not cut while the
     * operations take more than they need */
    int left = width - layout_width(l);
    for (int more = 1; more && left > 0;) {
        more = 0;
        for (int c = COL_PROCESS; c <= COL_OP && left > 0; c++)
            if ((l->mask & (1u << c)) && l->w[c] < most[c]) {
                l->w[c]++;
                left--;
                more = 1;
            }
    }
    return 0;
}

void view_layout_all(const int need[COL_COUNT_], view_layout_t *l)
{
    l->mask = VIEW_ALL_COLS;
    for (int c = 0; c < COL_COUNT_; c++)
        l->w[c] = is_text(c) ? clampi(need[c], 1, view_columns[c].maxw) : view_columns[c].width;
}

static void append(char *buf, size_t len, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n >= len)
        n = len - *o - 1;
    memcpy(buf + *o, s, n);
    *o += n;
    buf[*o] = 0;
}

char *view_format_row(const view_row_t *r, const view_layout_t *l, char *buf, size_t len)
{
    size_t o = 0;
    char c[200], p[400];
    buf[0] = 0;
    append(buf, len, &o, view_row_flag(r));
    for (int i = 0; i < COL_COUNT_; i++) {
        if (!(l->mask & (1u << i)))
            continue;
        append(buf, len, &o, " ");
        cell((view_col_t)i, r, c, sizeof c);
        view_pad(p, sizeof p, c, l->w[i], view_columns[i].right);
        append(buf, len, &o, p);
    }
    return buf;
}

char *view_format_header(const view_layout_t *l, int sort_col, int invert, char *buf,
                         size_t len)
{
    size_t o = 0;
    char t[64], p[400];
    buf[0] = 0;
    append(buf, len, &o, " ");
    for (int i = 0; i < COL_COUNT_; i++) {
        if (!(l->mask & (1u << i)))
            continue;
        const view_column_t *col = &view_columns[i];
        append(buf, len, &o, " ");
        if (i == sort_col) {
            /* the arrow shows the order the rows are in: largest first or not */
            int desc = view_columns[i].numeric_desc ^ invert;
            snprintf(t, sizeof t, "%s%s", col->title, desc ? "\u25bc" : "\u25b2");
        } else {
            snprintf(t, sizeof t, "%s", col->title);
        }
        view_pad(p, sizeof p, t, l->w[i], col->right);
        append(buf, len, &o, p);
    }
    return buf;
}
