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

#include "common.h"
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
    view_layout_t l;
    int need[COL_COUNT_] = { 0 };
    char line[1024];
    build();
    view_layout_need(&rows, need);
    cr_assert_eq(view_layout(80, need, &l), 0);
    view_col_t at80[] = { COL_PROCESS, COL_OP, COL_COUNT, COL_TOTAL, COL_SHARE, COL_MEAN,
                          COL_P99 };
    for (size_t i = 0; i < sizeof at80 / sizeof at80[0]; i++)
        cr_expect(l.mask & (1u << at80[i]), "column %s is there at 80",
                  view_columns[at80[i]].title);
    for (size_t i = 0; i < rows.n; i++) {
        view_format_row(&rows.v[i], &l, line, sizeof line);
        cr_expect(view_strwidth(line) <= 80, "a row fits the screen: %d", view_strwidth(line));
    }
    cr_expect_eq(view_layout(20, need, &l), -1, "too narrow");
    cr_expect_eq(view_layout(50, need, &l), 0, "the narrowest screen qptop runs on");
    cr_expect(l.mask & (1u << COL_PROCESS) && l.mask & (1u << COL_TOTAL), "at 50 too");
}

/* The text columns take what their content needs, not the whole width. */
Test(viewer_model, layout_sizes_text_columns_to_their_content)
{
    view_layout_t l;
    int need[COL_COUNT_] = { 0 };
    build();
    view_layout_need(&rows, need);
    cr_expect_eq(need[COL_PROCESS], 9, "\"ecommerce\"");
    cr_assert_eq(view_layout(200, need, &l), 0);
    cr_expect_eq(l.mask, VIEW_ALL_COLS, "every column at 200");
    cr_expect_eq(l.w[COL_OP], need[COL_OP], "OPERATION as wide as its content: %d",
                 l.w[COL_OP]);
    cr_expect_eq(l.w[COL_PROCESS], need[COL_PROCESS]);
    /* a long process name is not cut at 200 columns, nor at 80 */
    int n2[COL_COUNT_] = { 0 };
    memcpy(n2, need, sizeof n2);
    n2[COL_PROCESS] = 24;   /* e.g. "redis-server *:6379 x4" */
    n2[COL_OP] = 30;
    cr_assert_eq(view_layout(200, n2, &l), 0);
    cr_expect_eq(l.w[COL_PROCESS], 24, "not cut at 200");
    cr_expect_eq(l.w[COL_OP], 30, "and OPERATION takes only what it needs");
    cr_assert_eq(view_layout(80, n2, &l), 0);
    cr_expect(l.mask & (1u << COL_PROCESS), "PROCESS stays at 80");
    cr_expect(l.w[COL_PROCESS] >= 14, "and keeps 14 cells at least: %d", l.w[COL_PROCESS]);
    cr_expect(!(l.mask & (1u << COL_RSS)) && !(l.mask & (1u << COL_CPU)),
              "RSS and CPU%% give way first");
}

Test(viewer_model, total_and_share)
{
    set.sort = VIEW_DEFAULT_SORT;
    build();
    cr_expect_eq(VIEW_DEFAULT_SORT, COL_TOTAL, "qptop opens sorted by total time");
    /* trading 4242: 250 ms in its ops counted once (OrderSubmission's self
     * 50 ms + NetworkLatency 150 ms + RiskAssessment 50 ms); 4343: 90 ms;
     * ecommerce: 84 ms */
    long t = find(ROW_PROC, "trading", 4242);
    cr_expect_eq(t, 0, "the process with the most time first");
    cr_expect(fabs(rows.v[t].total - 250e6) < 1, "process total %f", rows.v[t].total);
    cr_expect(fabs(rows.time_total - 424e6) < 1, "time shown %f", rows.time_total);
    long o = find(ROW_OP, "OrderSubmission", 4242);
    cr_expect(fabs(rows.v[o].total - 250e6) < 1, "an op's total is count x mean");
    cr_expect(fabs(rows.v[o].time_share - 250.0 / 424) < 1e-9);
    cr_expect(find(ROW_OP, "OrderSubmission", 4242) < find(ROW_OP, "RiskAssessment", 4242),
              "ops by total: 250 ms before 50 ms");
    double sum = 0;
    for (size_t i = 0; i < rows.n; i++)
        if (rows.v[i].kind == ROW_PROC)
            sum += rows.v[i].time_share;
    cr_expect(fabs(sum - 1) < 1e-9, "the processes' shares add up to 100%%: %f", sum);
    char line[1024];
    view_layout_t l;
    int need[COL_COUNT_] = { 0 };
    view_layout_need(&rows, need);
    view_layout_all(need, &l);
    view_format_row(&rows.v[o], &l, line, sizeof line);
    cr_expect(strstr(line, " 250ms  59.0% "), "TOTAL and SHARE cells: %s", line);
    view_col_t c;
    cr_expect(view_col_parse("total", &c) == 0 && c == COL_TOTAL);
    cr_expect(view_col_parse("share", &c) == 0 && c == COL_SHARE);
}

/* Snapshot with three short-lived "cc1" processes that ran at 100 M/s
 * while they lived and one live one at 1000/s, plus 5 exited processes
 * with nothing in the window. */
static qp_snapshot_t *build_snap(void)
{
    char js[8192];
    size_t o = 0;
    o += (size_t)snprintf(js + o, sizeof js - o,
                          "{\"qpulse\":1,\"time\":1,\"window_s\":10,\"ns\":\"t\",\"processes\":[");
    for (int i = 0; i < 3; i++)
        o += (size_t)snprintf(js + o, sizeof js - o,
                              "{\"pid\":%d,\"name\":\"cc1\",\"alive\":false,\"ops\":[{\"set\":\"libc\","
                              "\"op\":\"read\",\"count\":1000,\"rate_per_s\":1e8,\"mean_ns\":10,"
                              "\"total_ns\":10000,\"self_ns\":10000}%s]},",
                              100 + i,
                              i ? "" : ",{\"set\":\"libc\",\"op\":\"write\",\"count\":1000,"
                                       "\"rate_per_s\":1e8,\"total_ns\":1000,\"self_ns\":1000}");
    o += (size_t)snprintf(js + o, sizeof js - o,
                          "{\"pid\":200,\"name\":\"cc1\",\"alive\":true,\"ops\":[{\"set\":\"libc\","
                          "\"op\":\"read\",\"count\":10000,\"rate_per_s\":1000,\"mean_ns\":10,"
                          "\"total_ns\":100000,\"self_ns\":100000}]}");
    for (int i = 0; i < 5; i++)
        o += (size_t)snprintf(js + o, sizeof js - o,
                              ",{\"pid\":%d,\"name\":\"sh\",\"alive\":false,\"ops\":[]}", 300 + i);
    snprintf(js + o, sizeof js - o, "]}");
    char err[256];
    qp_snapshot_t *s = qp_snapshot_parse(js, strlen(js), err, sizeof err);
    cr_assert(s, "%s", err);
    return s;
}

Test(viewer_model, merged_rates_are_window_rates)
{
    qp_snapshot_free(snap);
    snap = build_snap();
    set.merge = 1;
    set.sort = VIEW_DEFAULT_SORT;
    build();
    long r = find(ROW_OP, "read", 0);
    cr_assert(r >= 0);
    /* 1000/s of the live one + 3 x 1000 samples over the 10 s window */
    cr_expect(fabs(rows.v[r].rate - 1300) < 1e-6, "merged rate %f, not 300 M/s", rows.v[r].rate);
    long p = find(ROW_PROC, "cc1", 0);
    cr_expect(fabs(rows.v[p].rate - 1400) < 1e-6, "process row (read and write) %f",
              rows.v[p].rate);
    r = find(ROW_OP, "write", 0);
    cr_assert(r >= 0);
    cr_expect(fabs(rows.v[r].rate - 100) < 1e-6,
              "an op only one exited process ran: 1000 over the window, %f", rows.v[r].rate);
    set.group = VIEW_GROUP_SET;
    set.merge = 0;
    build();
    cr_expect_eq(rows.v[0].kind, ROW_GROUP);
    cr_expect(fabs(rows.v[0].rate - 1400) < 1e-6, "set heading %f", rows.v[0].rate);
    /* cumulative: only the live processes run at a rate now */
    snap->cumulative = 1;
    snap->window_s = 0;
    set.merge = 1;
    set.group = VIEW_GROUP_PROCESS;
    build();
    cr_expect(fabs(rows.v[find(ROW_OP, "read", 0)].rate - 1000) < 1e-6);
}

Test(viewer_model, idle_exited_processes_hidden_and_counted)
{
    qp_snapshot_free(snap);
    snap = build_snap();
    build();
    cr_expect_eq(rows.exited, 8);
    cr_expect_eq(rows.hidden, 5, "the exited processes with nothing in the window");
    cr_expect_eq(find(ROW_PROC, "sh", 0), -1, "not listed");
    cr_expect(find(ROW_PROC, "cc1", 100) >= 0, "an exited process with samples stays");
    set.show_exited = 1;
    build();
    cr_expect_eq(rows.hidden, 0);
    cr_expect(find(ROW_PROC, "sh", 302) >= 0, "listed on request");
}

static const char *pname(const char *name, int alive, const char *a0, const char *a1,
                         const char *a2)
{
    static char buf[64];
    char *argv[] = { (char *)a0, (char *)a1, (char *)a2 };
    qp_snap_proc_t p = { 0 };
    p.name = (char *)name;
    p.alive = alive;
    p.cmdline = argv;
    p.ncmdline = a0 ? (a1 ? (a2 ? 3 : 2) : 1) : 0;
    return view_proc_name(&p, buf, sizeof buf);
}

Test(viewer_model, names_from_the_command_line)
{
    cr_expect_str_eq(pname("git", 1, "git", "gc", "--auto"), "git gc");
    cr_expect_str_eq(pname("git", 1, "/usr/lib/git-core/git", "repack", "-d"), "git repack");
    cr_expect_str_eq(pname("python3", 1, "python3", "/srv/app.py", NULL), "python3 app.py");
    cr_expect_str_eq(pname("nginx", 1, "nginx: worker process", NULL, NULL),
                     "nginx: worker process");
    cr_expect_str_eq(pname("cc1", 1, "/usr/lib/gcc/cc1", "-quiet", "x.c"), "cc1", "an option");
    cr_expect_str_eq(pname("trading", 1, "./trading", "60", NULL), "trading", "a number");
    cr_expect_str_eq(pname("redis-server", 1, "redis-server", "*:6379", NULL), "redis-server");
    cr_expect_str_eq(pname("sleep", 1, NULL, NULL, NULL), "sleep", "no command line");
    cr_expect_str_eq(pname("sshd", 1, "sshd: ann@pts/0", NULL, NULL), "sshd: ann@pts/0");
    cr_expect_str_eq(pname("app", 1, "/opt/My App/app", "run", NULL), "app run");
    /* merging goes by the name shown: git gc and git repack stay apart */
    qp_snapshot_free(snap);
    const char *js =
        "{\"qpulse\":1,\"time\":1,\"window_s\":10,\"processes\":["
        "{\"pid\":1,\"name\":\"git\",\"cmdline\":[\"git\",\"gc\"],\"alive\":true,\"ops\":["
        "{\"set\":\"libc\",\"op\":\"read\",\"count\":1,\"total_ns\":5}]},"
        "{\"pid\":2,\"name\":\"git\",\"cmdline\":[\"git\",\"repack\",\"-d\"],\"alive\":true,"
        "\"ops\":[{\"set\":\"libc\",\"op\":\"read\",\"count\":1,\"total_ns\":5}]},"
        "{\"pid\":3,\"name\":\"git\",\"cmdline\":[\"git\",\"repack\"],\"alive\":true,\"ops\":["
        "{\"set\":\"libc\",\"op\":\"read\",\"count\":1,\"total_ns\":5}]}]}";
    char err[256];
    snap = qp_snapshot_parse(js, strlen(js), err, sizeof err);
    cr_assert(snap, "%s", err);
    cr_expect_eq(snap->procs[1].ncmdline, 3);
    set.merge = 1;
    build();
    cr_expect(find(ROW_PROC, "git gc", 0) >= 0);
    long r = find(ROW_PROC, "git repack", 0);
    cr_assert(r >= 0);
    cr_expect_eq(rows.v[r].nprocs, 2);
    snprintf(set.filter, sizeof set.filter, "git");
    build();
    cr_expect_eq(rows.n, 4, "the filter matches the names shown");
}

/* The detail view's histogram: no two bins with the same label, whatever
 * the range (buckets of 0, 1, 2, 3 ns made two "1ns" rows). */
Test(viewer_model, histogram_bins_have_distinct_labels)
{
    qp_snap_bucket_t b[] = { { 0, 1, 5 }, { 1, 2, 7 }, { 2, 3, 1 }, { 3, 4, 2 }, { 100, 101, 1 },
                             { 5000, 5039, 3 }, { 1000000, 1007812, 1 } };
    size_t n = sizeof b / sizeof b[0];
    for (int maxbins = 1; maxbins <= 80; maxbins++) {
        double edge[81], cnt[80], total = 0;
        int k = view_hist_bins(b, n, maxbins, edge, cnt);
        cr_assert(k >= 1 && k <= maxbins, "%d bins for at most %d", k, maxbins);
        cr_expect_eq(edge[0], 0, "the first bin starts at the lowest bucket");
        char prev[16] = "", lab[16];
        for (int i = 0; i < k; i++) {
            qp_format_ns(edge[i], lab, sizeof lab);
            cr_expect(strcmp(lab, prev) != 0, "%d bins: two bins read %s", maxbins, lab);
            cr_expect(edge[i + 1] > edge[i]);
            snprintf(prev, sizeof prev, "%s", lab);
            total += cnt[i];
        }
        cr_expect_eq(total, 20, "every sample in a bin");
    }
    double edge[3], cnt[2];
    cr_expect_eq(view_hist_bins(b, 0, 2, edge, cnt), 0, "no buckets, no bins");
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
