/*
 * qptop.c — qptop's entry point: options, then the batch report (-b) or the
 * interactive screen.  See qptop(1).
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "opts.h"
#include "view.h"

enum { OPT_FORMAT = QP_OPT_LONG, OPT_CUMULATIVE, OPT_NS, OPT_INPUT, OPT_SORT, OPT_GROUP,
       OPT_MERGE, OPT_TREE, OPT_FILTER, OPT_NO_COLOR, OPT_EXITED };

static const struct qp_opt opts[] = {
    { "batch", 'b', NULL, NULL, "print reports instead of the live screen" },
    { "iterations", 'n', "COUNT", NULL,
      "reports to print (batch, default 1) or refreshes before exiting" },
    { "delay", 'd', "SECONDS", "1", "between reports / screen refreshes (0.05..86400)" },
    { "format", OPT_FORMAT, "FMT", "text", "batch output: text (the screen's table), json, csv" },
    { "cumulative", OPT_CUMULATIVE, NULL, NULL,
      "since each process started instead of the live window" },
    QP_OPT_NS(OPT_NS),
    { "input", OPT_INPUT, "FILE", NULL, "show a saved snapshot (qptop -b --format json) instead" },
    { "sort", OPT_SORT, "COLUMN", "total",
      "total share count rate mean p50 p99 p999 max self\npid process op cpu rss" },
    { "group", OPT_GROUP, "KIND", "process", "process, set, group or priority" },
    { "merge", OPT_MERGE, NULL, NULL, "merge processes of the same name" },
    { "tree", OPT_TREE, NULL, NULL, "nest operations as they ran" },
    { "filter", OPT_FILTER, "TEXT", NULL, "initial filter" },
    { "exited", OPT_EXITED, NULL, NULL, "also list exited processes with nothing in the view" },
    { "no-color", OPT_NO_COLOR, NULL, NULL, "monochrome" },
    QP_OPT_HELP,
    QP_OPT_VERSION('V'),
};

static const struct qp_prog prog = {
    .name = "qptop",
    .about = "The live table of the latency of qpulse-instrumented processes, or (-b)\n"
             "its reports as text, JSON or CSV.",
    .footer = "Keys of the live screen: h or ? inside qptop; see qptop(1).",
    .opts = QP_PROG_OPTS(opts),
};

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_delay(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.05 && v <= 86400))
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_format(const char *s, view_format_t *out)
{
    if (strcmp(s, "text") == 0)
        *out = VIEW_FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = VIEW_FMT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = VIEW_FMT_CSV;
    else
        return -EINVAL;
    return 0;
}

/* Every bad option is reported, then qptop exits 2. */
static int parse_args(int argc, char **argv, view_options_t *o)
{
    int bad = 0, c;
    while ((c = qp_opts_next(&prog, argc, argv)) != -1) {
        switch (c) {
        case 'b': o->batch = 1; break;
        case 'n':
            if (parse_count(optarg, &o->count) < 0)
                bad = fprintf(stderr, "qptop: -n: not a positive count: '%s'\n", optarg);
            break;
        case 'd':
            if (parse_delay(optarg, &o->delay_s) < 0)
                bad = fprintf(stderr, "qptop: -d: not a delay in seconds (0.05..86400): '%s'\n",
                              optarg);
            break;
        case OPT_FORMAT:
            if (parse_format(optarg, &o->format) < 0)
                bad = fprintf(stderr, "qptop: --format: expected text, json or csv, not '%s'\n",
                              optarg);
            break;
        case OPT_CUMULATIVE: o->set.cumulative = 1; break;
        case OPT_NS: o->ns = optarg; break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_SORT:
            if (view_col_parse(optarg, &o->set.sort) < 0)
                bad = fprintf(stderr, "qptop: --sort: unknown column '%s'\n", optarg);
            break;
        case OPT_GROUP:
            if (view_group_parse(optarg, &o->set.group) < 0)
                bad = fprintf(stderr,
                              "qptop: --group: expected process, set, group or priority, not '%s'\n",
                              optarg);
            break;
        case OPT_MERGE: o->set.merge = 1; break;
        case OPT_TREE: o->set.tree = 1; break;
        case OPT_FILTER: snprintf(o->set.filter, sizeof o->set.filter, "%s", optarg); break;
        case OPT_NO_COLOR: o->no_color = 1; break;
        case OPT_EXITED: o->set.show_exited = 1; break;
        case 'h': qp_opts_help(&prog, stdout); exit(0);
        case 'V': printf("qptop %s\n", PACKAGE_VERSION); exit(0);
        default: bad = 1; break;
        }
    }
    if (qp_opts_no_args(&prog, argc, argv) < 0)
        bad = 1;
    if (qp_opts_ns(&prog, &o->ns) < 0)
        bad = 1;
    return bad ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
    view_options_t o;
    memset(&o, 0, sizeof o);
    o.delay_s = 1.0;
    o.format = VIEW_FMT_TEXT;
    o.set.sort = VIEW_DEFAULT_SORT;
    if (parse_args(argc, argv, &o) < 0) {
        qp_opts_try(&prog);
        return 2;
    }
    /* Each refresh builds and frees a whole snapshot: ~100k small objects
     * for 100 processes x 50 ops.  With fastbins glibc sets them aside and
     * then consolidates them all again on the next large allocation (a
     * quarter of qptop's CPU time); without them, and without giving the
     * heap back to the kernel every second, a refresh costs a quarter less. */
    mallopt(M_MXFAST, 0);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    if (o.batch)
        return view_batch_run(&o);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "qptop: not a terminal; use -b for reports (qptop -b --format text)\n");
        return 1;
    }
    return view_ui_run(&o);
}
