/*
 * test_viewer_model.c — qptop's rows from a known snapshot
 * (tests/viewer-sample.json): sorting, filtering, grouping, merging, the
 * tree, the row flags, the merged histogram and the column layout.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

static qp_snapshot_t *snap;
static view_rows_t rows;
static view_settings_t set;

static void setup(void)
{
    const char *src = getenv("top_srcdir");
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/tests/viewer-sample.json", src ? src : ".");
    snap = qp_snapshot_load(path, err, sizeof err);
    cr_assert(snap, "%s: %s", path, err);
    memset(&set, 0, sizeof set);
    set.sort = COL_P99;
    memset(&rows, 0, sizeof rows);
}

static void teardown(void)
{
    view_rows_free(&rows);
    qp_snapshot_free(snap);
}

TestSuite(viewer_model, .init = setup, .fini = teardown);

static void build(void)
{
    cr_assert_eq(view_model_build(&rows, snap, &set), 0, "rows built");
}

/* Index of the first row of kind k whose op (or name for processes) is s
 * and whose pid is pid (0 = any). */
static long find(view_row_kind_t k, const char *s, long pid)
{
    for (size_t i = 0; i < rows.n; i++) {
        const view_row_t *r = &rows.v[i];
        const char *what = k == ROW_PROC ? r->name : r->op;
        if (r->kind == k && what && strcmp(what, s) == 0 && (!pid || r->pid == pid))
            return (long)i;
    }
    return -1;
}

Test(viewer_model, process_rows_sorted_by_worst_p99)
{
    build();
    cr_expect_eq(rows.alive, 2);
    cr_expect_eq(rows.exited, 1);
    cr_expect_eq(rows.nops, 5);
    cr_expect_eq(rows.n, 8, "3 process rows and 5 op rows");
    cr_expect_eq(rows.v[0].kind, ROW_PROC);
    cr_expect_str_eq(rows.v[0].name, "ecommerce", "worst p99 first");
    long t = find(ROW_PROC, "trading", 4242);
    long o1 = find(ROW_OP, "OrderSubmission", 4242), o2 = find(ROW_OP, "NetworkLatency", 4242);
    cr_expect(t >= 0 && t < o1 && o1 < o2, "a process's ops follow it, by p99");
    cr_expect(rows.v[find(ROW_PROC, "trading", 4343)].flags & ROW_F_EXITED, "exited");
}

Test(viewer_model, invert_and_other_columns)
{
    set.sort_invert = 1;
    build();
    cr_expect_str_eq(rows.v[0].name, "trading", "inverted: smallest p99 first");
    set.sort_invert = 0;
    set.sort = COL_COUNT;
    build();
    cr_expect(find(ROW_OP, "RiskAssessment", 4343) < find(ROW_PROC, "ecommerce", 0),
              "by count: the 3000-sample process first");
    set.sort = COL_OP;
    build();
    cr_expect(find(ROW_OP, "NetworkLatency", 0) < find(ROW_OP, "OrderSubmission", 0),
              "by operation: alphabetical");
}

Test(viewer_model, filter_hides_rows)
{
    snprintf(set.filter, sizeof set.filter, "risk");
    build();
    cr_expect_eq(find(ROW_OP, "OrderSubmission", 0), -1, "filtered out");
    cr_expect_eq(find(ROW_PROC, "ecommerce", 0), -1, "a process with no match is hidden");
    cr_expect(find(ROW_OP, "RiskAssessment", 4242) >= 0, "kept");
    cr_expect(find(ROW_OP, "RiskAssessment", 4343) >= 0, "kept");
    snprintf(set.filter, sizeof set.filter, "ecommerce");
    build();
    cr_expect(find(ROW_OP, "Checkout", 0) >= 0, "a process name keeps all its ops");
    cr_expect_eq(rows.n, 2);
}

Test(viewer_model, flags)
{
    build();
    cr_expect(rows.v[find(ROW_OP, "RiskAssessment", 4242)].flags & ROW_F_OVER_BUDGET,
              "a broken budget");
    cr_expect(rows.v[find(ROW_OP, "NetworkLatency", 4242)].flags & ROW_F_P99_JUMP,
              "p99 350us after 100us");
    cr_expect(!(rows.v[find(ROW_OP, "OrderSubmission", 4242)].flags & ROW_F_P99_JUMP),
              "p99 500us after 480us is no jump");
    cr_expect_str_eq(view_row_flag(&rows.v[find(ROW_OP, "RiskAssessment", 4242)]), "!");
    cr_expect(rows.v[find(ROW_OP, "RiskAssessment", 4343)].flags & ROW_F_EXITED, "dimmed");
}

Test(viewer_model, merge_same_name)
{
    set.merge = 1;
    build();
    long r = find(ROW_OP, "RiskAssessment", 0);
    cr_assert(r >= 0);
    const view_row_t *v = &rows.v[r];
    cr_expect_eq(v->count, 4000, "counts add up");
    cr_expect(fabs(v->mean - 35000) < 0.01, "mean is count-weighted: %f", v->mean);
    cr_expect_eq(v->p99, 80000, "p99: the worst");
    cr_expect_eq(v->max, 90000);
    cr_expect_eq(v->min, 20000);
    cr_expect_eq(v->nprocs, 2);
    cr_expect(!(v->flags & ROW_F_EXITED), "one of them is alive");
    cr_expect(v->flags & ROW_F_OVER_BUDGET, "one of them is over budget");
    size_t nb = 0;
    qp_snap_bucket_t *b = view_model_hist(snap, &set, v, &nb);
    cr_expect_eq(nb, 4, "both processes' buckets (after a hist snapshot)");
    for (size_t i = 1; i < nb; i++)
        cr_expect(b[i - 1].lo_ns <= b[i].lo_ns, "sorted");
    free(b);
}

Test(viewer_model, tree_nests_children_with_share)
{
    set.tree = 1;
    build();
    long o = find(ROW_OP, "OrderSubmission", 4242);
    cr_assert(o >= 0);
    cr_assert_eq(rows.v[o + 1].kind, ROW_CHILD);
    cr_expect_str_eq(rows.v[o + 1].op, "NetworkLatency", "the largest child first");
    cr_expect(fabs(rows.v[o + 1].share - 0.6) < 1e-9, "150ms of 250ms");
    cr_expect(strstr(rows.v[o + 1].label, "60%"), "the share is shown: %s", rows.v[o + 1].label);
    cr_expect_str_eq(rows.v[o + 2].op, "RiskAssessment");
    cr_expect(fabs(rows.v[o + 2].share - 0.2) < 1e-9);
    cr_expect_eq(find(ROW_OP, "NetworkLatency", 4242), -1,
                 "an op that only ran nested is not a root");
}

Test(viewer_model, group_by_priority_and_set)
{
    set.group = VIEW_GROUP_PRIORITY;
    build();
    int seen = 0, last = 0;
    for (size_t i = 0; i < rows.n; i++)
        if (rows.v[i].kind == ROW_GROUP) {
            cr_expect(rows.v[i].priority > last, "priorities in order");
            last = rows.v[i].priority;
            seen++;
        }
    cr_expect_eq(seen, 3, "priorities 1, 2, 3");
    set.group = VIEW_GROUP_SET;
    build();
    cr_expect_eq(rows.v[0].kind, ROW_GROUP);
    cr_expect_str_eq(rows.v[0].label, "set shop");
    cr_expect_eq(rows.v[0].count, 42);
}

Test(viewer_model, layout_fits_or_says_no)
{
    unsigned mask;
    int opw;
    char line[1024];
    cr_assert_eq(view_layout(80, &mask, &opw), 0);
    cr_expect(mask & (1u << COL_P99) && mask & (1u << COL_COUNT), "essential columns stay");
    build();
    view_format_row(&rows.v[1], mask, opw, line, sizeof line);
    cr_expect_eq(view_strwidth(line), 80, "a row is exactly as wide as the screen");
    cr_expect_eq(view_layout(20, &mask, &opw), -1, "too narrow");
}

/* Names are the producers' (a process may call itself anything): a control
 * character must not reach the terminal, where it would move the cursor or
 * start an escape sequence; UTF-8 passes. */
Test(viewer_model, control_characters_are_not_printed)
{
    char out[64];
    view_pad(out, sizeof out, "a\nb\x1b[2J\x7f\xc3\xa9", 12, 0);
    cr_expect_str_eq(out, "a?b?[2J?\xc3\xa9   ");
    view_pad(out, sizeof out, "\t\r-long-name", 4, 0);
    cr_expect_str_eq(out, "?" "?-~", "cut too: %s", out);
}
