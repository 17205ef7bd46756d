/*
 * view.h — qptop's shared types: the options, the rows built from a
 * snapshot (model.c), the columns that format them (columns.c), and the
 * entry points of the batch and interactive front ends.
 *
 * The data flows one way: a source (source.c) yields a qp_snapshot_t, the
 * model turns it into an array of view_row_t according to the view settings
 * (grouping, merge, filter, sort, tree), and both the screen (panel_*.c)
 * and `qptop -b --format text` print those rows through the same column
 * table, so the text report is the screen's table.
 */
#ifndef QPTOP_VIEW_H
#define QPTOP_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snapshot.h"

/* ---------------------------------------------------------------------- */
/* Settings                                                                */
/* ---------------------------------------------------------------------- */

typedef enum view_group {
    VIEW_GROUP_PROCESS, VIEW_GROUP_SET, VIEW_GROUP_GROUP, VIEW_GROUP_PRIORITY,
    VIEW_GROUP_COUNT_
} view_group_t;

typedef enum view_format { VIEW_FMT_TEXT, VIEW_FMT_JSON, VIEW_FMT_CSV } view_format_t;

/* The sortable columns, in screen order. */
typedef enum view_col {
    COL_PID, COL_PROCESS, COL_OP, COL_COUNT, COL_RATE, COL_TOTAL, COL_SHARE, COL_MEAN,
    COL_P50, COL_P99, COL_P999, COL_MAX, COL_SELF, COL_CPU, COL_RSS, COL_COUNT_
} view_col_t;

/* What a qptop opens with: what dominates first. */
#define VIEW_DEFAULT_SORT COL_TOTAL

typedef struct view_settings {
    view_group_t group;
    int merge;                  /* merge processes of the same name */
    int tree;                   /* nest ops as they ran (snapshot "children") */
    int cumulative;             /* SNAPSHOT cumulative instead of window */
    view_col_t sort;
    int sort_invert;            /* 1 = the column's other direction */
    int show_exited;            /* list exited processes with nothing in the view too */
    char filter[128];           /* case-insensitive substring; "" = all */
} view_settings_t;

typedef struct view_options {
    const char *ns;
    int batch;
    long count;                 /* -n: reports (batch) / refreshes; 0 = forever */
    double delay_s;             /* -d */
    view_format_t format;
    const char *input;          /* --input FILE instead of the daemon */
    int no_color;
    view_settings_t set;
} view_options_t;

/* ---------------------------------------------------------------------- */
/* Rows                                                                    */
/* ---------------------------------------------------------------------- */

typedef enum view_row_kind {
    ROW_PROC,       /* a process (or merged processes) of the process grouping */
    ROW_GROUP,      /* a set / group / priority heading */
    ROW_OP,         /* one operation of one process (or of merged processes) */
    ROW_CHILD,      /* tree view: an op as it ran nested inside its parent row */
} view_row_kind_t;

/* Row flags; the colours and the flag column come from these. */
#define ROW_F_EXITED      0x1   /* every process behind the row has exited */
#define ROW_F_OVER_BUDGET 0x2   /* a budget of the op is broken */
#define ROW_F_P99_JUMP    0x4   /* p99 > VIEW_P99_JUMP x the previous window's */
#define ROW_F_DROPPED     0x8   /* the process dropped samples of the op */

#define VIEW_P99_JUMP 1.5

typedef struct view_row {
    view_row_kind_t kind;
    int depth;                  /* tree indentation */
    unsigned flags;
    long pid;                   /* 0 for headings; the first pid when merged */
    int nprocs;                 /* processes merged into the row */
    const char *name;           /* process name as shown (view_proc_name; points into
                                 * the rows' own name table) */
    const char *set, *op, *group, *description;
    int priority;
    char label[160];            /* what the OPERATION column shows */
    double share;               /* ROW_CHILD: share of the parent's time, 0..1 */
    /* statistics; NaN where a row has none (shown as blank) */
    double count, rate, mean, p50, p90, p99, p999, min, max, self, total, stddev;
    double cpu, rss;
    /* The row's part in a sum of rates over processes: its rate, except
     * that an exited process counts as its count spread over the whole
     * window (0 when cumulative) instead of the rate it had while alive. */
    double rate_now;
    double time_share;          /* total / the time of all the ops shown, 0..1; NaN = none */
    uint64_t dropped;
    char key[200];              /* identity across refreshes (cursor, detail) */
} view_row_t;

typedef struct view_rows {
    view_row_t *v;
    size_t n, cap;
    /* totals for the header */
    int alive, exited;
    int hidden;                 /* exited processes with nothing in the view, not listed */
    size_t nops;
    double time_total;          /* ns in the ops shown, nested time counted once */
    char (*names)[64];          /* the processes' names as shown, one per snapshot process */
    size_t names_cap;
} view_rows_t;

/* Builds rows from snap under settings s (replacing what rows held).  Rows
 * point into snap: rebuild after freeing it.  0 or -ENOMEM. */
int view_model_build(view_rows_t *rows, const qp_snapshot_t *snap, const view_settings_t *s);
void view_rows_free(view_rows_t *rows);
/* Index of the row with this key, or -1. */
long view_rows_find(const view_rows_t *rows, const char *key);
/* A row key's 64-bit hash (FNV-1a): how qptop names its cursor's row to
 * the daemon (VIEW ... key=HASH). */
uint64_t view_key_hash(const char *key);
/* Collects the histogram of the op behind row r (all the processes merged
 * into it) from a snapshot taken with "hist"; returns the buckets (malloc'd,
 * sorted by lo) and their number in *n, or NULL when none. */
qp_snap_bucket_t *view_model_hist(const qp_snapshot_t *snap, const view_settings_t *s,
                                  const view_row_t *r, size_t *n);
/* The op rows of snap matching row r (for the detail view); calls fn for
 * each process/op pair merged into the row. */
void view_model_each_op(const qp_snapshot_t *snap, const view_settings_t *s,
                        const view_row_t *r,
                        void (*fn)(const qp_snap_proc_t *, const qp_snap_op_t *, void *),
                        void *arg);

/* The name qptop shows for p: its program name, followed by its first
 * argument when that is a word (a subcommand or a script: "git gc",
 * "python3 app.py"), or the title a process gave itself ("nginx: worker
 * process").  Returns buf. */
const char *view_proc_name(const qp_snap_proc_t *p, char *buf, size_t len);

/* Equal-width bins on a log time axis over the histogram buckets b[0..n)
 * (sorted): at most maxbins, at least 5% apart, their lower edges whole
 * nanoseconds and strictly increasing (so no two get the same label).
 * Fills edge[0..k] (k+1 edges, edge[0] the lowest bucket's lo) and cnt[0..k)
 * and returns k, the number of bins (0 when n == 0). */
int view_hist_bins(const qp_snap_bucket_t *b, size_t n, int maxbins, double *edge, double *cnt);

const char *view_group_name(view_group_t g);
int view_group_parse(const char *s, view_group_t *out);

/* ---------------------------------------------------------------------- */
/* Columns                                                                 */
/* ---------------------------------------------------------------------- */

typedef struct view_column {
    const char *title;
    const char *name;           /* for --sort and the help */
    int width;                  /* numbers: the width; text: the width it gets first */
    int right;                  /* right-aligned */
    int numeric_desc;           /* default sort: largest first */
    int minw, maxw;             /* text: as narrow / wide as it goes (0 = fixed width) */
} view_column_t;

extern const view_column_t view_columns[COL_COUNT_];

int view_col_parse(const char *s, view_col_t *out);
/* Compares two rows on column c in its default direction (<0: a first). */
int view_col_compare(view_col_t c, const view_row_t *a, const view_row_t *b);

/* Which columns are shown and how wide each is. */
typedef struct view_layout {
    unsigned mask;              /* 1 << view_col_t of the columns shown */
    int w[COL_COUNT_];
} view_layout_t;
#define VIEW_ALL_COLS ((1u << COL_COUNT_) - 1)
/* The cells the content of rows needs in each column (text columns: the
 * widest cell; numbers: their width).  Merges into need (max), so a caller
 * can keep widths from growing and shrinking at every refresh. */
void view_layout_need(const view_rows_t *rows, int need[COL_COUNT_]);
/* Fits the columns into width cells: text columns get what their content
 * needs, up to a point; when narrow, columns give way in a fixed order
 * (RSS first, MEAN last: PROCESS, OPERATION, COUNT, TOTAL and SHARE stay)
 * and the text columns shrink down to a minimum.
 * 0, or -1 when even the essential columns do not fit. */
int view_layout(int width, const int need[COL_COUNT_], view_layout_t *l);
/* Every column, the text ones as wide as their content (up to their max):
 * the batch text report. */
void view_layout_all(const int need[COL_COUNT_], view_layout_t *l);
/* One table line (flag column + the columns of l) for row r into buf.
 * Returns buf. */
char *view_format_row(const view_row_t *r, const view_layout_t *l, char *buf, size_t len);
/* The column header line; the sort column is marked when sort_col >= 0. */
char *view_format_header(const view_layout_t *l, int sort_col, int invert, char *buf,
                         size_t len);
/* The flag column's characters for a row ("!" over budget, "^" p99 jump). */
const char *view_row_flag(const view_row_t *r);
/* Pads or cuts UTF-8 s to exactly w display cells (one cell a code point)
 * into out. */
void view_pad(char *out, size_t len, const char *s, int w, int right);
/* Display cells of UTF-8 s (code points). */
int view_strwidth(const char *s);
/* Bytes / percent / count formatting, like qp_format_ns. */
const char *view_fmt_bytes(double b, char *buf, size_t len);
const char *view_fmt_count(double c, char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Data source and front ends                                              */
/* ---------------------------------------------------------------------- */

/* Fetches one snapshot from the daemon of opts->ns (or opts->input).
 * hist: ask for histograms.  On success 0, *snap, and the raw JSON in *raw
 * (malloc'd, may be NULL'd by passing raw = NULL).  On failure -errno and a
 * message in err. */
int view_source_fetch(const view_options_t *opts, int cumulative, int hist,
                      qp_snapshot_t **snap, char **raw, char *err, size_t errlen);

/* "2 processes skipped: nginx[41] owned by uid 0, not us; ... - see the
 * qpulsed log" for the segments of the namespace the daemon does not read,
 * into buf; NULL when there are none. */
const char *view_skipped_line(const qp_snapshot_t *snap, char *buf, size_t len);

/* One screen of rows computed by the daemon (the VIEW request): rows
 * [top, top + rows.n) of total, with the header's totals in rows and head. */
typedef struct view_page {
    qp_snapshot_t *head;        /* the snapshot's top-level fields, no processes */
    view_rows_t rows;           /* the rows on the screen; alive, exited, hidden, nops */
    long total, top, cursor;    /* all the rows; the first shown; the cursor's */
    size_t nprocs;              /* processes listed by the daemon */
    int need[COL_COUNT_];       /* what the text columns need over all the rows */
    void *json;                 /* the parsed reply: the rows' strings live in it */
} view_page_t;

/* Asks the daemon of opts->ns for the rows of settings s on a screen of
 * height rows whose first row is top and cursor is cursor; key (or NULL)
 * is the cursor row's key, which the daemon follows wherever the row moved.
 * On success 0, *pg (free with view_page_free) and the reply in *raw
 * (malloc'd).  -ENOTSUP when the daemon does not know VIEW (an older one);
 * other failures -errno and a message in err. */
int view_source_page(const view_options_t *opts, const view_settings_t *s, long top,
                     long cursor, long rows, const char *key, view_page_t *pg, char **raw,
                     char *err, size_t errlen);
void view_page_free(view_page_t *pg);
/* A snapshot with histograms of only the processes and op behind one op
 * row (pid, or the name when s merges and the row holds several). */
int view_source_detail(const view_options_t *opts, const view_settings_t *s, long pid,
                       const char *name, int nprocs, const char *set, const char *op,
                       qp_snapshot_t **snap, char *err, size_t errlen);
/* Whether qptop asks for whole snapshots (QPTOP_SNAPSHOT=1 or --input). */
int view_source_whole(const view_options_t *opts);

/* Text report of one snapshot (the header lines and the table). */
void view_text_report(FILE *out, const qp_snapshot_t *snap, const view_settings_t *s,
                      double delay_s);

int view_batch_run(const view_options_t *opts);
int view_ui_run(view_options_t *opts);

#endif /* QPTOP_VIEW_H */
