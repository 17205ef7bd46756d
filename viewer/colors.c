/*
 * colors.c — the one table that maps qptop's colour meanings to terminal
 * colours, and to plain attributes when there is no colour (a monochrome
 * terminal, NO_COLOR set, or --no-color).
 */
#include "config.h"

#include "ui.h"

typedef struct ui_color_def {
    short fg, bg;               /* -1 = the terminal's default */
    attr_t color_attr;          /* with colours */
    attr_t mono_attr;           /* without */
} ui_color_def_t;

static const ui_color_def_t color_table[UC_COUNT_] = {
    [UC_NORMAL] = { -1, -1, A_NORMAL, A_NORMAL },
    [UC_HEADER] = { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
    [UC_HEADER_VALUE] = { -1, -1, A_BOLD, A_BOLD },
    [UC_COLUMNS] = { COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE },
    [UC_COLUMNS_SORT] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
    [UC_CURSOR] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
    [UC_PROCESS] = { COLOR_CYAN, -1, A_BOLD, A_BOLD },
    [UC_GROUP] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
    [UC_EXITED] = { -1, -1, A_DIM, A_DIM },
    [UC_OVER_BUDGET] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
    [UC_P99_JUMP] = { COLOR_YELLOW, -1, A_BOLD, A_UNDERLINE },
    [UC_ERROR] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD },
    [UC_FKEY] = { -1, -1, A_NORMAL, A_NORMAL },
    [UC_FKEY_LABEL] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
    [UC_BAR] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
    [UC_MARK] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [UC_PROMPT] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [UC_PAUSED] = { COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE },
    [UC_TITLE] = { -1, -1, A_BOLD, A_BOLD },
};

static int use_color;

void ui_colors_init(int want)
{
    use_color = 0;
    if (!want || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    for (int i = 1; i < UC_COUNT_ && i < COLOR_PAIRS; i++)
        init_pair((short)i, color_table[i].fg, color_table[i].bg);
    use_color = 1;
}

attr_t ui_attr(ui_color_t c)
{
    if ((unsigned)c >= UC_COUNT_)
        return A_NORMAL;
    if (!use_color)
        return color_table[c].mono_attr;
    attr_t a = color_table[c].color_attr;
    if (c != UC_NORMAL && (int)c < COLOR_PAIRS)
        a |= COLOR_PAIR(c);
    return a;
}

attr_t ui_row_attr(const view_row_t *r)
{
    if (r->flags & ROW_F_OVER_BUDGET && r->kind != ROW_GROUP)
        return ui_attr(UC_OVER_BUDGET);
    if (r->flags & ROW_F_P99_JUMP && (r->kind == ROW_OP))
        return ui_attr(UC_P99_JUMP);
    if (r->flags & ROW_F_EXITED)
        return ui_attr(UC_EXITED);
    if (r->kind == ROW_PROC)
        return ui_attr(UC_PROCESS);
    if (r->kind == ROW_GROUP)
        return ui_attr(UC_GROUP);
    return ui_attr(UC_NORMAL);
}
