/*
 * panel_table.c — qptop's main table (process x operation rows) and its
 * keys: moving, sorting, filtering, grouping, merging, the tree, and Enter
 * for the detail view.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ui.h"

void table_clamp(ui_t *ui, int h)
{
    long n = ui->rows_total;
    if (h < 1)
        h = 1;
    if (ui->cursor >= n)
        ui->cursor = n - 1;
    if (ui->cursor < 0)
        ui->cursor = 0;
    if (ui->top > ui->cursor)
        ui->top = ui->cursor;
    if (ui->cursor >= ui->top + h)
        ui->top = ui->cursor - h + 1;
    if (ui->top > n - h)
        ui->top = n - h;
    if (ui->top < 0)
        ui->top = 0;
    const view_row_t *r = n > 0 ? ui_row(ui, ui->cursor) : NULL;
    if (r)
        snprintf(ui->cursor_key, sizeof ui->cursor_key, "%s", r->key);
    else if (n > 0)
        ui->cursor_key[0] = 0;  /* off the page: the daemon places it by index */
}

static void centered(int y, const char *s, attr_t a)
{
    int w = view_strwidth(s);
    int x = w < COLS ? (COLS - w) / 2 : 0;
    ui_put(y, x, s, COLS - x, a);
}

static void table_empty(ui_t *ui, int y0, int h)
{
    char m[600];
    int y = y0 + h / 3;
    if (!ui->snap && ui->error[0]) {
        centered(y, ui->error, ui_attr(UC_ERROR));
        snprintf(m, sizeof m, "retrying every %gs; q quits", ui->opts->delay_s);
        centered(y + 2, m, A_NORMAL);
    } else if (!ui->snap) {
        centered(y, "waiting for qpulsed...", A_NORMAL);
    } else if (ui->nprocs == 0) {
        snprintf(m, sizeof m, "no instrumented process in namespace %s yet",
                 ui->snap->ns ? ui->snap->ns : ui->opts->ns);
        centered(y, m, A_NORMAL);
    } else if (ui->set->filter[0]) {
        snprintf(m, sizeof m, "no row matches the filter \"%s\" (Esc clears it)",
                 ui->set->filter);
        centered(y, m, A_NORMAL);
    } else if (ui->rows.hidden > 0) {
        snprintf(m, sizeof m, "%d exited process%s with nothing in this view hidden (e shows them)",
                 ui->rows.hidden, ui->rows.hidden == 1 ? "" : "es");
        centered(y, m, A_NORMAL);
    }
}

void table_draw(ui_t *ui, int y0, int h)
{
    view_layout_t l;
    char line[1024], padded[1100];
    if (ui->need_cols != COLS) {
        memset(ui->need, 0, sizeof ui->need);
        ui->need_cols = COLS;
    }
    view_layout_need(&ui->rows, ui->need);
    for (int c = 0; ui->remote && c < COL_COUNT_; c++)
        if (ui->need[c] < ui->page_need[c])
            ui->need[c] = ui->page_need[c];
    if (view_layout(COLS, ui->need, &l) < 0)
        return;
    view_format_header(&l, -1, 0, line, sizeof line);
    view_pad(padded, sizeof padded, line, COLS, 0);
    ui_put(y0, 0, padded, COLS, ui_attr(UC_COLUMNS));
    /* the sort column stands out in its own colour */
    int x = 2;
    for (int c = 0; c < COL_COUNT_; c++) {
        if (!(l.mask & (1u << c)))
            continue;
        int w = l.w[c];
        if (c == (int)ui->set->sort) {
            char cellbuf[64];
            char t[32];
            snprintf(t, sizeof t, "%s%s", view_columns[c].title,
                     ui->utf8 ? ((view_columns[c].numeric_desc ^ ui->set->sort_invert)
                                     ? "\u25bc" : "\u25b2")
                              : (ui->set->sort_invert ? "-" : "+"));
            view_pad(cellbuf, sizeof cellbuf, t, w, view_columns[c].right);
            ui_put(y0, x, cellbuf, w, ui_attr(UC_COLUMNS_SORT));
        }
        x += w + 1;
    }
    int body = h - 1;
    table_clamp(ui, body);
    if (ui->rows_total == 0) {
        table_empty(ui, y0 + 1, body);
        return;
    }
    for (int i = 0; i < body && ui->top + i < ui->rows_total; i++) {
        const view_row_t *r = ui_row(ui, ui->top + i);
        if (!r)
            break;              /* remote: the page being fetched */
        view_format_row(r, &l, line, sizeof line);
        view_pad(padded, sizeof padded, line, COLS, 0);  /* the cursor bar spans the screen */
        attr_t a = ui->top + i == ui->cursor ? ui_attr(UC_CURSOR) : ui_row_attr(r);
        ui_put(y0 + 1 + i, 0, padded, COLS, a);
    }
}

/* ---------------------------------------------------------------------- */
/* Keys                                                                    */
/* ---------------------------------------------------------------------- */

static unsigned move_to(ui_t *ui, long at)
{
    ui->cursor = at;
    table_clamp(ui, table_height());
    return UI_REDRAW;
}

static unsigned key_move(ui_t *ui, int key)
{
    long page = table_height() > 1 ? table_height() - 1 : 1;
    switch (key) {
    case KEY_UP: return move_to(ui, ui->cursor - 1);
    case KEY_DOWN: return move_to(ui, ui->cursor + 1);
    case KEY_PPAGE: return move_to(ui, ui->cursor - page);
    case KEY_NPAGE: return move_to(ui, ui->cursor + page);
    case KEY_HOME: return move_to(ui, 0);
    case KEY_END: return move_to(ui, ui->rows_total - 1);
    default: return UI_NONE;
    }
}

static unsigned key_sort_move(ui_t *ui, int key)
{
    int d = key == '<' || key == ',' ? -1 : 1;
    ui->set->sort = (view_col_t)(((int)ui->set->sort + d + COL_COUNT_) % COL_COUNT_);
    ui_message(ui, "sorted by %s", view_columns[ui->set->sort].title);
    return UI_REBUILD;
}

static unsigned key_sort_invert(ui_t *ui, int key)
{
    ui->set->sort_invert = !ui->set->sort_invert;
    return UI_REBUILD;
}

static unsigned key_sort_by(ui_t *ui, int key)
{
    view_col_t c = key == 'P'   ? COL_P99
                   : key == 'T' ? COL_TOTAL
                   : key == 'M' ? COL_MEAN
                   : key == 'C' ? COL_COUNT
                   : key == 'R' ? COL_RATE
                   : key == 'X' ? COL_MAX
                                : COL_OP;
    if (ui->set->sort == c)
        ui->set->sort_invert = !ui->set->sort_invert;
    else
        ui->set->sort_invert = 0;
    ui->set->sort = c;
    return UI_REBUILD;
}

static unsigned key_filter(ui_t *ui, int key)
{
    return prompt_start(ui, PROMPT_FILTER);
}

static unsigned key_clear_filter(ui_t *ui, int key)
{
    if (!ui->set->filter[0])
        return UI_NONE;
    ui->set->filter[0] = 0;
    return UI_REBUILD;
}

static unsigned key_group(ui_t *ui, int key)
{
    ui->set->group = (view_group_t)((ui->set->group + 1) % VIEW_GROUP_COUNT_);
    ui_message(ui, "grouped by %s", view_group_name(ui->set->group));
    return UI_REBUILD;
}

static unsigned key_merge(ui_t *ui, int key)
{
    ui->set->merge = !ui->set->merge;
    ui_message(ui, ui->set->merge ? "processes of the same name merged"
                                  : "processes shown one by one");
    return UI_REBUILD;
}

static unsigned key_exited(ui_t *ui, int key)
{
    ui->set->show_exited = !ui->set->show_exited;
    ui_message(ui, ui->set->show_exited ? "exited processes with nothing in this view listed"
                                        : "exited processes with nothing in this view hidden");
    return UI_REBUILD;
}

static unsigned key_tree(ui_t *ui, int key)
{
    ui->set->tree = !ui->set->tree;
    return UI_REBUILD;
}

static unsigned key_enter(ui_t *ui, int key)
{
    const view_row_t *r = ui_row(ui, ui->cursor);
    if (!r)
        return UI_NONE;
    return detail_open(ui, r);
}

const ui_key_t table_keys[] = {
    { KEY_UP, "arrows PgUp PgDn Home End", "move", key_move },
    { KEY_DOWN, NULL, NULL, key_move },
    { KEY_PPAGE, NULL, NULL, key_move },
    { KEY_NPAGE, NULL, NULL, key_move },
    { KEY_HOME, NULL, NULL, key_move },
    { KEY_END, NULL, NULL, key_move },
    { '\n', "Enter", "detail of the operation: percentiles, histogram", key_enter },
    { '\r', NULL, NULL, key_enter },
    { KEY_ENTER, NULL, NULL, key_enter },
    { '<', "< > F6", "sort by the previous / next column", key_sort_move },
    { '>', NULL, NULL, key_sort_move },
    { ',', NULL, NULL, key_sort_move },
    { '.', NULL, NULL, key_sort_move },
    { KEY_F(6), NULL, NULL, key_sort_move },
    { 'I', "I", "invert the sort order", key_sort_invert },
    { 'T', "T P M C R X N", "sort by TOTAL, P99, MEAN, COUNT, RATE, MAX, OPERATION",
      key_sort_by },
    { 'P', NULL, NULL, key_sort_by },
    { 'M', NULL, NULL, key_sort_by },
    { 'C', NULL, NULL, key_sort_by },
    { 'R', NULL, NULL, key_sort_by },
    { 'X', NULL, NULL, key_sort_by },
    { 'N', NULL, NULL, key_sort_by },
    { '/', "/ F3 F4", "filter rows by text (process, operation, group)", key_filter },
    { KEY_F(3), NULL, NULL, key_filter },
    { KEY_F(4), NULL, NULL, key_filter },
    { 27, "Esc", "clear the filter", key_clear_filter },
    { 'g', "g", "group by process / set / group / priority", key_group },
    { 'm', "m", "merge processes of the same name", key_merge },
    { 'e', "e", "list / hide exited processes with nothing in this view", key_exited },
    { 't', "t F5", "tree: operations nested as they ran", key_tree },
    { KEY_F(5), NULL, NULL, key_tree },
    { 0, NULL, NULL, NULL },
};
