/*
 * ui.h — qptop's interactive screen: the state shared by its panels, the
 * semantic colours, and the key-action tables.
 *
 * Each panel (panel_*.c) has its draw function and its key table side by
 * side.  A key action returns what must happen next (UI_REDRAW, UI_REBUILD
 * the rows from the data at hand, UI_REFETCH new data now, UI_QUIT); the
 * loop in ui.c does only that, so an idle screen costs nothing between
 * refreshes.
 */
#ifndef QPTOP_UI_H
#define QPTOP_UI_H

#include <curses.h>

#include "view.h"

/* ---------------------------------------------------------------------- */
/* Colours: widgets name a meaning, colors.c maps meanings to terminal     */
/* colours (or to monochrome attributes).                                  */
/* ---------------------------------------------------------------------- */

typedef enum ui_color {
    UC_NORMAL, UC_HEADER, UC_HEADER_VALUE, UC_COLUMNS, UC_COLUMNS_SORT, UC_CURSOR,
    UC_PROCESS, UC_GROUP, UC_EXITED, UC_OVER_BUDGET, UC_P99_JUMP, UC_ERROR,
    UC_FKEY, UC_FKEY_LABEL, UC_BAR, UC_MARK, UC_PROMPT, UC_PAUSED, UC_TITLE,
    UC_COUNT_
} ui_color_t;

/* Starts colours when the terminal has them and colour is wanted. */
void ui_colors_init(int want);
attr_t ui_attr(ui_color_t c);
/* The attribute of a table row by its flags and kind. */
attr_t ui_row_attr(const view_row_t *r);

/* ---------------------------------------------------------------------- */
/* State                                                                   */
/* ---------------------------------------------------------------------- */

typedef enum ui_screen { SCR_TABLE, SCR_DETAIL, SCR_HELP, SCR_WATERFALL } ui_screen_t;
typedef enum ui_prompt { PROMPT_NONE, PROMPT_FILTER, PROMPT_DELAY } ui_prompt_t;

#define UI_NONE 0u
#define UI_REDRAW 1u
#define UI_REBUILD 2u
#define UI_REFETCH 4u
#define UI_QUIT 8u

#define HEADER_LINES 3
#define MIN_COLS 50
#define MIN_LINES 8

/* One bar of the waterfall: a slowest sample or a sample that ran inside
 * it, copied out of the snapshot. */
typedef struct ui_wf_node {
    char label[128];            /* set.Op */
    uint64_t off, dur, self;    /* ns; off from the slowest sample's start */
    int depth;                  /* 0: the slowest sample itself */
} ui_wf_node_t;

typedef struct ui {
    view_options_t *opts;
    view_settings_t *set;
    qp_snapshot_t *snap;        /* the data shown; NULL while there is none */
    char *raw;                  /* its JSON, to tell whether anything changed */
    view_rows_t rows;           /* rows [rows_top, rows_top + rows.n) of rows_total */
    long rows_top, rows_total;
    size_t nprocs;              /* processes in the data (before hiding) */
    /* remote: the table comes a screen at a time from the daemon (VIEW);
     * else it is built here from whole snapshots (--input, QPTOP_SNAPSHOT,
     * a daemon without VIEW) */
    int remote;
    view_page_t page;           /* remote: the reply the rows' strings point into */
    int page_need[COL_COUNT_];  /* remote: the text columns' need over all rows */
    qp_snapshot_t *detail;      /* remote: the detail view's op, with histograms */
    long cursor, top;           /* selected row, first row on screen */
    char cursor_key[200];
    ui_screen_t screen, back;
    ui_prompt_t prompt;
    char pbuf[128];
    char psaved[128];
    int paused;
    int fetch_err;              /* 0, or the -errno of the last fetch */
    char error[512];
    char msg[160];              /* one-shot message on the bottom line */
    int utf8;
    long refreshes;
    /* what the table's text columns need: the widest seen since the last
     * resize, so columns do not jump at every refresh */
    int need[COL_COUNT_];
    int need_cols;              /* COLS when need was started */
    /* detail view: the op it shows, copied (the snapshot changes under it) */
    char d_set[96], d_op[96], d_name[96];
    long d_pid;
    int d_nprocs;
    int d_scroll;
    int d_sel;                  /* the chosen slowest sample */
    int d_nslow;                /* how many the detail view lists */
    int help_scroll;
    /* waterfall: the chosen slowest sample, copied */
    ui_wf_node_t *wf;
    size_t wf_n;
    char wf_title[256];
    int wf_scroll;
} ui_t;

/* The row at index i of the whole table, or NULL when it is not at hand
 * (remote: off the page fetched). */
static inline const view_row_t *ui_row(const ui_t *ui, long i)
{
    i -= ui->rows_top;
    return i >= 0 && i < (long)ui->rows.n ? &ui->rows.v[i] : NULL;
}

/* The snapshot the detail view reads: the whole one, or (remote) the one
 * of the row's op. */
static inline const qp_snapshot_t *ui_data(const ui_t *ui)
{
    return ui->remote ? ui->detail : ui->snap;
}

typedef struct ui_key {
    int key;
    const char *keys;           /* as the help shows them; NULL = not listed */
    const char *help;
    unsigned (*fn)(ui_t *ui, int key);
} ui_key_t;

/* Runs the first entry of table (ended by key 0; key -1 matches any key)
 * for key; UI_NONE if none.
 * *found is set when an entry matched. */
unsigned ui_dispatch(const ui_key_t *table, ui_t *ui, int key, int *found);

/* The keys every screen understands (for the help). */
const ui_key_t *ui_global_keys(void);
/* Sets ui->msg. */
void ui_message(ui_t *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s at (y, x), at most n cells, with attribute a. */
void ui_put(int y, int x, const char *s, int n, attr_t a);

/* panels */
void header_draw(ui_t *ui);
void table_draw(ui_t *ui, int y0, int h);
extern const ui_key_t table_keys[];
void table_clamp(ui_t *ui, int h);
void detail_draw(ui_t *ui, int y0, int h);
extern const ui_key_t detail_keys[];
unsigned detail_open(ui_t *ui, const view_row_t *r);
/* The detail view's slowest samples, slowest first, at most max, over
 * every process merged into the row: their process and sample. */
int detail_slowest(ui_t *ui, const qp_snap_proc_t **procs, const qp_snap_slow_t **slow, int max);
void waterfall_draw(ui_t *ui, int y0, int h);
extern const ui_key_t waterfall_keys[];
/* Copies slowest sample s of op o of process p into ui and shows it. */
unsigned waterfall_open(ui_t *ui, const qp_snap_proc_t *p, const qp_snap_op_t *o,
                        const qp_snap_slow_t *s);
void help_draw(ui_t *ui, int y0, int h);
extern const ui_key_t help_keys[];
void bar_draw(ui_t *ui, int y);
unsigned prompt_key(ui_t *ui, int key);
unsigned prompt_start(ui_t *ui, ui_prompt_t which);
/* rows visible in the table (for paging) */
int table_height(void);

#endif /* QPTOP_UI_H */
