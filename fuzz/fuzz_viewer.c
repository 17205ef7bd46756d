/*
 * fuzz_viewer.c — libFuzzer target for qptop's rows and table (viewer/
 * model.c, viewer/columns.c): a snapshot is the daemon's answer, and its
 * names and command lines are whatever the producers chose.
 *
 * The input is snapshot JSON; when it parses, the rows are built under
 * several settings (grouped, merged, tree, filtered, exited listed), laid
 * out at several widths and every row formatted, and each operation's
 * histogram binned as the detail view does.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "snapshot.h"
#include "view.h"

static uint64_t sink;

static void table(const view_rows_t *rows)
{
    static const int widths[] = { 20, 50, 80, 200 };
    char line[1024];
    int need[COL_COUNT_] = { 0 };
    view_layout_t l;
    view_layout_need(rows, need);
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        if (view_layout(widths[w], need, &l) < 0)
            continue;
        sink += strlen(view_format_header(&l, COL_TOTAL, 0, line, sizeof line));
        for (size_t i = 0; i < rows->n; i++)
            sink += (uint64_t)view_strwidth(view_format_row(&rows->v[i], &l, line, sizeof line));
    }
    view_layout_all(need, &l);
    for (size_t i = 0; i < rows->n; i++)
        sink += strlen(view_format_row(&rows->v[i], &l, line, sizeof line));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    qp_snapshot_t *s = qp_snapshot_parse((const char *)data, size, err, sizeof err);
    if (!s)
        return 0;
    view_rows_t rows = { 0 };
    view_settings_t set;
    for (int v = 0; v < 6; v++) {
        memset(&set, 0, sizeof set);
        set.sort = (view_col_t)((v * 5) % COL_COUNT_);
        set.group = (view_group_t)(v % VIEW_GROUP_COUNT_);
        set.merge = v & 1;
        set.tree = v >= 3;
        set.show_exited = v == 5;
        if (v == 4)
            strcpy(set.filter, "a");
        if (view_model_build(&rows, s, &set) == 0)
            table(&rows);
    }
    for (size_t i = 0; i < s->nprocs; i++)
        for (size_t j = 0; j < s->procs[i].nops; j++) {
            const qp_snap_op_t *o = &s->procs[i].ops[j];
            double edge[41], cnt[40];
            int k = o->nhist ? view_hist_bins(o->hist, o->nhist, 40, edge, cnt) : 0;
            for (int b = 0; b < k; b++)
                sink += (uint64_t)cnt[b];
        }
    view_rows_free(&rows);
    qp_snapshot_free(s);
    return 0;
}
