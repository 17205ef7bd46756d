/*
 * panel_help.c — the help screen (h, ?, F1): every key, read from the key
 * tables themselves so the help cannot drift from what the keys do, and
 * what the colours and the flag column mean.
 */
#include "config.h"

#include <stdio.h>

#include "ui.h"

static const char *const legend[] = {
    "",
    "Columns: COUNT samples, RATE/s per second, TOTAL time (count x mean), SHARE of",
    "the time shown, MEAN P50 P99 P99.9 MAX latency, SELF mean time per call not spent",
    "in nested operations, CPU% and RSS of the process.",
    "Flag column: ! a budget of the operation is broken, ^ its p99 jumped (> 1.5x the",
    "previous window's), D some of its samples were dropped (its COUNT is short).",
    "Exited processes are dimmed; those with nothing in the view are hidden (e lists",
    "them).",
    "Merged rows (m): p50 is count-weighted, p99 and p99.9 the worst process's; the",
    "rate is the window's (an exited process's samples spread over the window).",
};

static int keys_of(const ui_key_t *t, int y, int ymax, int skip, int *n)
{
    char buf[256];
    for (; t->key; t++) {
        if (!t->keys)
            continue;
        if ((*n)++ < skip)
            continue;
        if (y >= ymax)
            return y;
        snprintf(buf, sizeof buf, "%-26s %s", t->keys, t->help);
        ui_put(y, 2, buf, COLS - 2, A_NORMAL);
        ui_put(y, 2, t->keys, 26, ui_attr(UC_HEADER_VALUE));
        y++;
    }
    return y;
}

void help_draw(ui_t *ui, int y0, int h)
{
    int ymax = y0 + h, y = y0, n = 0;
    ui_put(y++, 0, "qptop keys (any key returns)", COLS, ui_attr(UC_TITLE));
    y = keys_of(table_keys, y, ymax, ui->help_scroll, &n);
    y = keys_of(detail_keys, y, ymax, ui->help_scroll, &n);
    y = keys_of(waterfall_keys, y, ymax, ui->help_scroll, &n);
    y = keys_of(ui_global_keys(), y, ymax, ui->help_scroll, &n);
    for (size_t i = 0; i < sizeof legend / sizeof legend[0] && y < ymax; i++)
        ui_put(y++, 2, legend[i], COLS - 2, A_NORMAL);
}

static unsigned key_scroll(ui_t *ui, int key)
{
    ui->help_scroll += key == KEY_DOWN ? 1 : -1;
    if (ui->help_scroll < 0)
        ui->help_scroll = 0;
    return UI_REDRAW;
}

static unsigned key_quit(ui_t *ui, int key)
{
    return UI_QUIT;
}

static unsigned key_any(ui_t *ui, int key)
{
    ui->screen = ui->back;
    return UI_REDRAW;
}

/* Any key but these leaves the help (-1 matches every key). */
const ui_key_t help_keys[] = {
    { KEY_DOWN, NULL, NULL, key_scroll },
    { KEY_UP, NULL, NULL, key_scroll },
    { 'q', NULL, NULL, key_quit },
    { KEY_F(10), NULL, NULL, key_quit },
    { -1, NULL, NULL, key_any },
    { 0, NULL, NULL, NULL },
};
