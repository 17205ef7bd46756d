/*
 * ui.c — qptop's interactive loop: curses set-up, fetching snapshots on
 * the refresh deadline, dispatching keys, and redrawing.
 *
 * Cost model: the loop sleeps in getch() until a key or the next refresh
 * deadline (timeout()), fetches at most one snapshot per delay, rebuilds the
 * rows only when the data or the view settings changed, and redraws only
 * then; curses sends the terminal only the cells that changed.
 *
 * Failure model: a fetch that fails (no daemon, daemon gone, bad reply)
 * drops the data, shows why in the header and the body, and retries on the
 * next deadline, so qptop reconnects by itself when qpulsed comes back.
 */
#include "config.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ui.h"

static double now_s(void)
{
    return (double)qp_mono_ns() / 1e9;
}

void ui_message(ui_t *ui, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ui->msg, sizeof ui->msg, fmt, ap);
    va_end(ap);
}

void ui_put(int y, int x, const char *s, int n, attr_t a)
{
    if (y < 0 || y >= LINES || x >= COLS || n <= 0)
        return;
    if (n > COLS - x)
        n = COLS - x;
    char buf[1024];
    view_pad(buf, sizeof buf, s, view_strwidth(s) < n ? view_strwidth(s) : n, 0);
    attrset(a);
    mvaddstr(y, x, buf);
    attrset(A_NORMAL);
}

unsigned ui_dispatch(const ui_key_t *table, ui_t *ui, int key, int *found)
{
    for (const ui_key_t *k = table; k->key; k++)
        if (k->key == key || k->key == -1) {
            *found = 1;
            return k->fn(ui, key);
        }
    return UI_NONE;
}

/* ---------------------------------------------------------------------- */
/* Data                                                                    */
/* ---------------------------------------------------------------------- */

/* A fetch failed with r (err says why): the screen shows the error instead
 * of the last data; redone only when that changes what it shows. */
static unsigned ui_fetch_failed(ui_t *ui, int r, const char *err)
{
    int had = ui->snap != NULL || ui->fetch_err != r || strcmp(ui->error, err) != 0;
    qp_snapshot_free(ui->snap);
    ui->snap = NULL;
    free(ui->raw);
    ui->raw = NULL;
    ui->fetch_err = r;
    snprintf(ui->error, sizeof ui->error, "%s", err);
    return had ? UI_REBUILD : UI_NONE;
}

/* Fetches one snapshot; returns what must be redone (nothing when the
 * JSON is what it was last time: a saved file read again; a daemon's
 * snapshot carries its time, so it always differs). */
static unsigned ui_fetch_whole(ui_t *ui)
{
    qp_snapshot_t *snap;
    char *raw;
    char err[512];
    int r = view_source_fetch(ui->opts, ui->set->cumulative, ui->screen == SCR_DETAIL, &snap,
                              &raw, err, sizeof err);
    ui->refreshes++;
    if (r < 0)
        return ui_fetch_failed(ui, r, err);
    ui->fetch_err = 0;
    ui->error[0] = 0;
    if (ui->raw && strcmp(ui->raw, raw) == 0) {
        qp_snapshot_free(snap);
        free(raw);
        return UI_NONE;
    }
    qp_snapshot_free(ui->snap);
    free(ui->raw);
    ui->snap = snap;
    ui->raw = raw;
    return UI_REBUILD;
}

/* Fetches the screen's rows from the daemon (VIEW), and in the detail
 * view the op's snapshot with histograms. */
static unsigned ui_fetch_page(ui_t *ui)
{
    view_page_t pg;
    char *raw;
    char err[512];
    int r = view_source_page(ui->opts, ui->set, ui->top, ui->cursor, table_height(),
                             ui->cursor_key, &pg, &raw, err, sizeof err);
    if (r == -ENOTSUP) {        /* an older daemon: whole snapshots then */
        ui->remote = 0;
        ui->rows.n = 0;
        ui->rows_top = 0;
        return ui_fetch_whole(ui);
    }
    ui->refreshes++;
    if (r < 0)
        return ui_fetch_failed(ui, r, err);
    ui->fetch_err = 0;
    ui->error[0] = 0;
    qp_snapshot_free(ui->snap);
    ui->snap = pg.head;
    pg.head = NULL;
    free(ui->raw);
    ui->raw = raw;
    free(ui->rows.v);
    ui->rows.v = pg.rows.v;
    ui->rows.n = pg.rows.n;
    ui->rows.cap = pg.rows.cap;
    ui->rows.alive = pg.rows.alive;
    ui->rows.exited = pg.rows.exited;
    ui->rows.hidden = pg.rows.hidden;
    ui->rows.nops = pg.rows.nops;
    ui->rows.time_total = pg.rows.time_total;
    pg.rows.v = NULL;
    ui->rows_top = pg.top;
    ui->rows_total = pg.total;
    ui->top = pg.top;
    ui->cursor = pg.cursor;
    ui->nprocs = pg.nprocs;
    memcpy(ui->page_need, pg.need, sizeof ui->page_need);
    view_page_free(&ui->page);      /* the rows now point into pg's reply */
    ui->page = pg;
    if (ui->screen == SCR_DETAIL) {
        qp_snapshot_free(ui->detail);
        ui->detail = NULL;
        if (view_source_detail(ui->opts, ui->set, ui->d_pid, ui->d_name, ui->d_nprocs,
                               ui->d_set, ui->d_op, &ui->detail, err, sizeof err) < 0)
            ui_message(ui, "%s", err);
    }
    return UI_REBUILD;
}

static unsigned ui_fetch(ui_t *ui)
{
    return ui->remote ? ui_fetch_page(ui) : ui_fetch_whole(ui);
}

/* Whether the rows at hand cover the screen and the cursor (remote). */
static int page_covers(const ui_t *ui)
{
    long h = table_height() > 1 ? table_height() : 1;
    long end = ui->top + h < ui->rows_total ? ui->top + h : ui->rows_total;
    return ui->top >= ui->rows_top && end <= ui->rows_top + (long)ui->rows.n &&
           (ui->rows_total == 0 || ui_row(ui, ui->cursor));
}

/* Rebuilds the rows and keeps the cursor on the row it was on. */
static void ui_rebuild(ui_t *ui)
{
    if (ui->remote) {           /* the daemon built them and placed the cursor */
        if (!ui->snap) {
            ui->rows.n = 0;
            ui->rows_total = ui->rows_top = 0;
            ui->rows.alive = ui->rows.exited = 0;
            ui->rows.nops = 0;
        }
        table_clamp(ui, table_height());
        return;
    }
    if (ui->snap) {
        if (view_model_build(&ui->rows, ui->snap, ui->set) < 0) {
            ui->rows.n = 0;
            ui_message(ui, "out of memory");
        }
    } else {
        ui->rows.n = 0;
        ui->rows.alive = ui->rows.exited = 0;
        ui->rows.nops = 0;
    }
    ui->rows_top = 0;
    ui->rows_total = (long)ui->rows.n;
    ui->nprocs = ui->snap ? ui->snap->nprocs : 0;
    long at = ui->cursor_key[0] ? view_rows_find(&ui->rows, ui->cursor_key) : -1;
    if (at >= 0)
        ui->cursor = at;
    table_clamp(ui, table_height());
}

/* ---------------------------------------------------------------------- */
/* Drawing                                                                 */
/* ---------------------------------------------------------------------- */

int table_height(void)
{
    return LINES - HEADER_LINES - 2;    /* the column header and the key bar */
}

static void ui_draw(ui_t *ui)
{
    erase();
    if (COLS < MIN_COLS || LINES < MIN_LINES) {
        char m[128];
        snprintf(m, sizeof m, "terminal too small (%dx%d): qptop needs %dx%d", COLS, LINES,
                 MIN_COLS, MIN_LINES);
        ui_put(0, 0, m, COLS, ui_attr(UC_ERROR));
        if (LINES > 1)
            ui_put(1, 0, "enlarge it, or press q to quit", COLS, A_NORMAL);
        refresh();
        return;
    }
    header_draw(ui);
    int y0 = HEADER_LINES, h = LINES - HEADER_LINES - 1;
    if (ui->screen == SCR_DETAIL)
        detail_draw(ui, y0, h);
    else if (ui->screen == SCR_WATERFALL)
        waterfall_draw(ui, y0, h);
    else if (ui->screen == SCR_HELP)
        help_draw(ui, y0, h);
    else
        table_draw(ui, y0, h);
    bar_draw(ui, LINES - 1);
    refresh();
}

/* ---------------------------------------------------------------------- */
/* Keys every screen shares                                                */
/* ---------------------------------------------------------------------- */

static unsigned key_quit(ui_t *ui, int key)
{
    return UI_QUIT;
}

static unsigned key_help(ui_t *ui, int key)
{
    if (ui->screen == SCR_HELP)
        return UI_NONE;
    ui->back = ui->screen;
    ui->screen = SCR_HELP;
    ui->help_scroll = 0;
    return UI_REDRAW;
}

static unsigned key_pause(ui_t *ui, int key)
{
    ui->paused = !ui->paused;
    return ui->paused ? UI_REDRAW : UI_REFETCH;
}

static unsigned key_cumulative(ui_t *ui, int key)
{
    ui->set->cumulative = !ui->set->cumulative;
    return UI_REFETCH;
}

static unsigned key_delay(ui_t *ui, int key)
{
    return prompt_start(ui, PROMPT_DELAY);
}

static unsigned key_redraw(ui_t *ui, int key)
{
    clearok(curscr, TRUE);
    return UI_REDRAW;
}

static const ui_key_t global_keys[] = {
    { 'q', "q F10", "quit", key_quit },
    { KEY_F(10), NULL, NULL, key_quit },
    { 'h', "h ? F1", "this help", key_help },
    { '?', NULL, NULL, key_help },
    { KEY_F(1), NULL, NULL, key_help },
    { ' ', "space", "pause / resume the display", key_pause },
    { 'c', "c", "toggle live window / cumulative since start", key_cumulative },
    { 'd', "d s", "set the refresh delay", key_delay },
    { 's', NULL, NULL, key_delay },
    { 12, "^L", "redraw the screen", key_redraw },
    { 0, NULL, NULL, NULL },
};

const ui_key_t *ui_global_keys(void)
{
    return global_keys;
}

static unsigned ui_key(ui_t *ui, int key)
{
    if (ui->prompt != PROMPT_NONE)
        return prompt_key(ui, key);
    if (key == KEY_RESIZE)
        return UI_REDRAW;
    if (COLS < MIN_COLS || LINES < MIN_LINES)
        return key == 'q' || key == KEY_F(10) ? UI_QUIT : UI_NONE;
    const ui_key_t *t = ui->screen == SCR_DETAIL      ? detail_keys
                        : ui->screen == SCR_WATERFALL ? waterfall_keys
                        : ui->screen == SCR_HELP      ? help_keys
                                                      : table_keys;
    int found = 0;
    ui->msg[0] = 0;
    unsigned r = ui_dispatch(t, ui, key, &found);
    if (!found)
        r = ui_dispatch(global_keys, ui, key, &found);
    return found ? r | UI_REDRAW : UI_REDRAW;
}

/* ---------------------------------------------------------------------- */
/* Loop                                                                    */
/* ---------------------------------------------------------------------- */

static int ui_start(ui_t *ui)
{
    setlocale(LC_ALL, "");
    ui->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (!initscr())
        return -1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    const char *nc = getenv("NO_COLOR");
    ui_colors_init(!ui->opts->no_color && !(nc && *nc));
    return 0;
}

static void ui_stop(ui_t *ui)
{
    endwin();
    free(ui->wf);
    qp_snapshot_free(ui->snap);
    free(ui->raw);
    view_rows_free(&ui->rows);
    view_page_free(&ui->page);
    qp_snapshot_free(ui->detail);
}

int view_ui_run(view_options_t *opts)
{
    ui_t ui;
    memset(&ui, 0, sizeof ui);
    ui.opts = opts;
    ui.set = &opts->set;
    ui.remote = !view_source_whole(opts);
    if (ui_start(&ui) < 0) {
        fprintf(stderr, "qptop: cannot start the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    double next = now_s();
    unsigned todo = UI_REFETCH;
    unsigned gone_errs = 0;
    for (;;) {
        double now = now_s();
        if ((todo & UI_REFETCH) || (!ui.paused && now >= next)) {
            todo |= ui_fetch(&ui) | UI_REDRAW;
            /* absolute deadlines, but never a burst to catch up */
            next = now >= next + ui.opts->delay_s ? now + ui.opts->delay_s
                                                  : next + ui.opts->delay_s;
            if (opts->count > 0 && ui.refreshes > opts->count)
                break;
        }
        if (todo & UI_REBUILD)
            ui_rebuild(&ui);
        if (todo & (UI_REDRAW | UI_REBUILD))
            ui_draw(&ui);
        todo = UI_NONE;
        int wait_ms = ui.paused ? -1 : (int)ceil((next - now_s()) * 1000);
        timeout(ui.paused ? -1 : wait_ms < 0 ? 0 : wait_ms);
        double asked = now_s();
        int key = getch();
        if (key == ERR) {
            /* getch() gives ERR at once, again and again, when the terminal
             * is gone (input at EOF without a SIGHUP): leave instead of
             * spinning. */
            int early = (ui.paused || wait_ms >= 20) && now_s() - asked < 0.005;
            gone_errs = early ? gone_errs + 1 : 0;
            if (gone_errs >= 100)
                break;
            continue;
        }
        gone_errs = 0;
        todo = ui_key(&ui, key);
        if (todo & UI_QUIT)
            break;
        if (ui.remote) {
            /* new settings or a row off the page: ask the daemon */
            if (todo & UI_REBUILD)
                todo = (todo & ~UI_REBUILD) | UI_REFETCH;
            if (ui.screen == SCR_TABLE && ui.snap && !page_covers(&ui))
                todo |= UI_REFETCH;
        }
    }
    ui_stop(&ui);
    return 0;
}
