/*
 * panel_prompt.c — the bottom line: the key bar, a one-shot message, the
 * processes the daemon skips (and why), or a prompt being typed (the filter, which applies as it is typed, and the
 * refresh delay).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ui.h"

static const char *const bar_keys[][2] = {
    { "F1", "Help" }, { "/", "Filter" }, { "F5", "Tree" }, { "F6", "Sort" },
    { "g", "Group" }, { "m", "Merge" },  { "c", "Cumul" }, { "Enter", "Detail" },
    { "Spc", "Pause" }, { "d", "Delay" }, { "q", "Quit" },
};

void bar_draw(ui_t *ui, int y)
{
    if (ui->prompt != PROMPT_NONE) {
        const char *label = ui->prompt == PROMPT_FILTER ? "Filter: " : "Refresh delay (s): ";
        ui_put(y, 0, label, COLS, ui_attr(UC_PROMPT));
        int x = view_strwidth(label);
        ui_put(y, x, ui->pbuf, COLS - x, A_NORMAL);
        x += view_strwidth(ui->pbuf);
        ui_put(y, x, "_", COLS - x, A_BLINK);
        return;
    }
    if (ui->msg[0]) {
        ui_put(y, 0, ui->msg, COLS, ui_attr(UC_PROMPT));
        return;
    }
    char skip[512];
    if (view_skipped_line(ui->snap, skip, sizeof skip)) {   /* instead of the keys */
        ui_put(y, 0, skip, COLS, ui_attr(UC_ERROR));
        return;
    }
    int x = 0;
    for (size_t i = 0; i < sizeof bar_keys / sizeof bar_keys[0] && x < COLS; i++) {
        ui_put(y, x, bar_keys[i][0], COLS - x, ui_attr(UC_FKEY));
        x += view_strwidth(bar_keys[i][0]);
        ui_put(y, x, bar_keys[i][1], COLS - x, ui_attr(UC_FKEY_LABEL));
        x += view_strwidth(bar_keys[i][1]) + 1;
    }
}

unsigned prompt_start(ui_t *ui, ui_prompt_t which)
{
    ui->prompt = which;
    if (which == PROMPT_FILTER) {
        snprintf(ui->psaved, sizeof ui->psaved, "%s", ui->set->filter);
        snprintf(ui->pbuf, sizeof ui->pbuf, "%s", ui->set->filter);
    } else {
        snprintf(ui->pbuf, sizeof ui->pbuf, "%g", ui->opts->delay_s);
    }
    return UI_REDRAW;
}

static unsigned prompt_done(ui_t *ui, int accept)
{
    ui_prompt_t which = ui->prompt;
    ui->prompt = PROMPT_NONE;
    if (which == PROMPT_FILTER) {
        if (!accept)
            snprintf(ui->set->filter, sizeof ui->set->filter, "%s", ui->psaved);
        return UI_REBUILD;
    }
    if (!accept)
        return UI_REDRAW;
    char *end;
    double d = strtod(ui->pbuf, &end);
    if (end == ui->pbuf || *end || d < 0.1 || d > 3600) {
        ui_message(ui, "refresh delay: give seconds between 0.1 and 3600");
        return UI_REDRAW;
    }
    ui->opts->delay_s = d;
    ui_message(ui, "refreshing every %gs", d);
    return UI_REFETCH;
}

/* While a prompt is open every key goes here; the filter follows the text
 * as it is typed. */
unsigned prompt_key(ui_t *ui, int key)
{
    size_t n = strlen(ui->pbuf);
    if (key == '\n' || key == '\r' || key == KEY_ENTER)
        return prompt_done(ui, 1);
    if (key == 27)
        return prompt_done(ui, 0);
    if (key == KEY_RESIZE)
        return UI_REDRAW;
    if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (n == 0)
            return UI_NONE;
        ui->pbuf[n - 1] = 0;
    } else if (key == 21) {     /* ^U */
        ui->pbuf[0] = 0;
    } else if (key >= 32 && key < 127 && n + 1 < sizeof ui->pbuf) {
        ui->pbuf[n] = (char)key;
        ui->pbuf[n + 1] = 0;
    } else {
        return UI_NONE;
    }
    if (ui->prompt == PROMPT_FILTER) {
        snprintf(ui->set->filter, sizeof ui->set->filter, "%s", ui->pbuf);
        return UI_REBUILD;
    }
    return UI_REDRAW;
}
