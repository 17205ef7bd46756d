/*
 * panel_header.c — the three lines at the top of qptop's screen: the
 * namespace and daemon, the process and sample totals (or why there is no
 * data), and the view settings.  The header has no keys of its own.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ui.h"

/* Draws "label value" pairs left to right on line y; returns the next x. */
static int pair(int y, int x, const char *label, const char *value)
{
    if (x >= COLS)
        return x;
    ui_put(y, x, label, COLS - x, ui_attr(UC_HEADER));
    x += view_strwidth(label);
    ui_put(y, x, value, COLS - x, ui_attr(UC_HEADER_VALUE));
    return x + view_strwidth(value) + 3;
}

static void line_daemon(ui_t *ui)
{
    char v[64];
    int x = 0;
    ui_put(0, 0, "qptop", COLS, ui_attr(UC_TITLE));
    if (ui->opts->input)
        x = pair(0, 7, "file ", ui->opts->input);
    else
        x = pair(0, 7, "namespace ", ui->opts->ns);
    if (ui->snap && ui->snap->daemon_pid > 0) {
        snprintf(v, sizeof v, "%ld", ui->snap->daemon_pid);
        x = pair(0, x, "qpulsed ", v);
    }
    if (ui->snap) {
        time_t t = (time_t)ui->snap->time;
        struct tm tm;
        if (localtime_r(&t, &tm)) {
            strftime(v, sizeof v, "%H:%M:%S", &tm);
            if (COLS - 9 > x)
                ui_put(0, COLS - 9, v, 8, ui_attr(UC_HEADER_VALUE));
        }
    }
}

static void line_totals(ui_t *ui)
{
    if (!ui->snap) {
        const char *m = ui->error[0] ? ui->error : "waiting for the first snapshot";
        ui_put(1, 0, m, COLS, ui_attr(ui->error[0] ? UC_ERROR : UC_NORMAL));
        return;
    }
    char v[64];
    int x = 0;
    if (ui->rows.hidden > 0)     /* exited with nothing in the view: e lists them */
        snprintf(v, sizeof v, "%d alive, %d exited (%d idle hidden)", ui->rows.alive,
                 ui->rows.exited, ui->rows.hidden);
    else
        snprintf(v, sizeof v, "%d alive, %d exited", ui->rows.alive, ui->rows.exited);
    x = pair(1, x, "processes ", v);
    snprintf(v, sizeof v, "%zu", ui->rows.nops);
    x = pair(1, x, "ops ", v);
    view_fmt_count(ui->snap->samples_per_s, v, sizeof v);
    x = pair(1, x, "samples/s ", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)ui->snap->dropped_total);
    pair(1, x, "dropped ", v);
}

static void line_view(ui_t *ui)
{
    char v[160];
    int x = 0;
    const view_settings_t *s = ui->set;
    if (s->cumulative)
        snprintf(v, sizeof v, "cumulative");
    else if (ui->snap && ui->snap->window_s > 0)
        snprintf(v, sizeof v, "window %gs", ui->snap->window_s);
    else
        snprintf(v, sizeof v, "window");
    x = pair(2, x, "view ", v);
    snprintf(v, sizeof v, "%gs", ui->opts->delay_s);
    x = pair(2, x, "refresh ", v);
    if (ui->paused) {
        ui_put(2, x, "PAUSED", COLS - x, ui_attr(UC_PAUSED));
        x += 9;
    }
    snprintf(v, sizeof v, "%s%s%s", view_group_name(s->group), s->merge ? ", merged" : "",
             s->tree ? ", tree" : "");
    x = pair(2, x, "group ", v);
    snprintf(v, sizeof v, "%s%s", view_columns[s->sort].title, s->sort_invert ? " (inverted)" : "");
    x = pair(2, x, "sort ", v);
    if (s->filter[0]) {
        snprintf(v, sizeof v, "\"%s\"", s->filter);
        pair(2, x, "filter ", v);
    }
}

void header_draw(ui_t *ui)
{
    line_daemon(ui);
    line_totals(ui);
    line_view(ui);
}
