/*
 * cmd_check.c — `qpulse check`: latency budgets and regressions as a CI gate
 * (qpulse-check(1)).
 *
 *   qpulse check --budgets FILE   [--input SNAPSHOT.json] ...
 *   qpulse check --baseline OLD.json [--input NEW.json] [--tolerance PERCENT] ...
 *
 * This file reads the options and the inputs (the budget file, the snapshot
 * from a file or from the running daemon, the baseline), hands them to
 * chk_budgets() / chk_baseline(), and prints the result.  Every input problem
 * is exit 2 ("cannot judge"), never 1: a CI job must be able to tell a slow
 * build from a broken pipeline.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "client.h"
#include "common.h"
#include "opts.h"
#include "tools.h"

#define CHK_DAEMON_TIMEOUT_MS 10000

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

static int parse_stats(chk_opts_t *o, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -ENOMEM;
    o->nstats = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int s = qp_stat_parse(tok);
        if (s < 0 || o->nstats == QP_STAT_COUNT_) {
            fprintf(stderr, "qpulse check: --stat: expected mean, p50, p90, p99, p999 or max, "
                            "got '%s'\n", tok);
            free(copy);
            return -EINVAL;
        }
        int dup = 0;
        for (size_t i = 0; i < o->nstats; i++)
            dup |= o->stats[i] == s;
        if (!dup)
            o->stats[o->nstats++] = s;
    }
    free(copy);
    if (!o->nstats) {
        fprintf(stderr, "qpulse check: --stat: expected a comma list of stats\n");
        return -EINVAL;
    }
    return 0;
}

static int parse_number(const char *opt, const char *s, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min) {
        fprintf(stderr, "qpulse check: %s: expected a number of at least %g, got '%s'\n", opt,
                min, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

enum {
    OPT_BUDGETS = QP_OPT_LONG, OPT_BASELINE, OPT_INPUT, OPT_TOLERANCE, OPT_STAT, OPT_MIN_COUNT,
    OPT_STRICT, OPT_SAVE, OPT_FORMAT, OPT_NS,
};

static const struct qp_opt check_opts[] = {
    { "budgets", OPT_BUDGETS, "FILE", NULL, "budget rules (see qpulse-check(1)): OP STAT < LIMIT" },
    { "baseline", OPT_BASELINE, "OLD.json", NULL, "compare each operation with this snapshot" },
    { "input", OPT_INPUT, "FILE", "ask qpulsed", "the snapshot to check" },
    { "tolerance", OPT_TOLERANCE, "PERCENT", "10", "slower by more than this is a regression" },
    { "stat", OPT_STAT, "STATS", "p50,p99",
      "stats compared with --baseline, comma list of\nmean,p50,p90,p99,p999,max" },
    { "min-count", OPT_MIN_COUNT, "N", "enough for the stat: 1000 for p99",
      "compare only ops with at least N samples on both sides" },
    { "strict", OPT_STRICT, NULL, NULL,
      "also fail when a rule matches no operation, or an\noperation of the baseline is missing" },
    { "save", OPT_SAVE, "FILE", NULL, "write the snapshot that was checked to FILE" },
    { "format", OPT_FORMAT, "text|json", "text", "report format" },
    { "quiet", 'q', NULL, NULL, "print only what broke and the summary" },
    QP_OPT_NS(OPT_NS),
    QP_OPT_HELP,
};

const struct qp_prog qp_check_prog = {
    .name = "qpulse check",
    .about = "Checks a cumulative snapshot (from --input, else from the running qpulsed)\n"
             "against latency budgets (--budgets), a saved baseline snapshot\n"
             "(--baseline; qptop -b --format json --cumulative > OLD.json), or both.\n"
             "Exit status: 0 all holds, 1 a budget is broken or an operation regressed,\n"
             "2 the input cannot be used (missing file, bad JSON or budget file, no daemon).",
    .opts = QP_PROG_OPTS(check_opts),
};

/* One option into o; -EINVAL on a bad value (already reported). */
static int check_option(chk_opts_t *o, int c)
{
    double v;
    switch (c) {
    case OPT_BUDGETS: o->budgets = optarg; return 0;
    case OPT_BASELINE: o->baseline = optarg; return 0;
    case OPT_INPUT: o->input = optarg; return 0;
    case OPT_SAVE: o->save = optarg; return 0;
    case OPT_NS: o->ns = optarg; return 0;
    case OPT_STRICT: o->strict = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case OPT_STAT: return parse_stats(o, optarg);
    case OPT_TOLERANCE:
        return parse_number("--tolerance", optarg, 0, &o->tolerance_pct);
    case OPT_MIN_COUNT:
        if (parse_number("--min-count", optarg, 0, &v) < 0)
            return -EINVAL;
        /* (long) of a double beyond LONG_MAX is undefined (x86: LONG_MIN,
         * which read as "the default" and judged everything) */
        o->min_count = v >= (double)LONG_MAX ? LONG_MAX : (long)v;
        return 0;
    case OPT_FORMAT:
        if (!strcmp(optarg, "json") || !strcmp(optarg, "text")) {
            o->json = !strcmp(optarg, "json");
            return 0;
        }
        fprintf(stderr, "qpulse check: --format: expected text or json, got '%s'\n", optarg);
        return -EINVAL;
    }
    return -EINVAL;
}

/* 0, 1 for --help, or -EINVAL. */
static int check_parse_args(chk_opts_t *o, int argc, char **argv)
{
    int c;
    while ((c = qp_opts_next(&qp_check_prog, argc, argv)) != -1) {
        if (c == 'h') {
            qp_opts_help(&qp_check_prog, stdout);
            return 1;
        }
        if (c == QP_OPT_BAD) {
            qp_opts_try(&qp_check_prog);
            return -EINVAL;
        }
        if (check_option(o, c) < 0)
            return -EINVAL;
    }
    if (qp_opts_no_args(&qp_check_prog, argc, argv) < 0)
        return -EINVAL;
    if (qp_opts_ns(&qp_check_prog, &o->ns) < 0)
        return -EINVAL;
    if (!o->budgets && !o->baseline) {
        fprintf(stderr, "qpulse check: expected --budgets FILE or --baseline OLD.json\n");
        return -EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Inputs                                                                  */
/* ---------------------------------------------------------------------- */

/* The snapshot to check: --input, else a cumulative one from qpulsed.  *raw
 * gets the daemon's reply (for --save); NULL with an --input file. */
static qp_snapshot_t *load_current(const chk_opts_t *o, char **raw, char *err, size_t errlen)
{
    *raw = NULL;
    if (o->input)
        return qp_snapshot_load(o->input, err, errlen);
    char *reply = NULL;
    size_t len = 0;
    if (qp_client_ask(o->ns, "SNAPSHOT cumulative", &reply, &len, CHK_DAEMON_TIMEOUT_MS, err,
                      errlen) < 0)
        return NULL;
    char sub[400];
    qp_snapshot_t *s = qp_snapshot_parse(reply, len, sub, sizeof sub);
    if (!s) {
        snprintf(err, errlen, "qpulsed (namespace %s) sent an unusable snapshot: %s", o->ns,
                 sub);
        free(reply);
        return NULL;
    }
    *raw = reply;
    return s;
}

/* --save: the daemon's reply as it came, or the --input file's first
 * snapshot (the file may hold several reports; the first is the one checked). */
static int save_snapshot(const chk_opts_t *o, const char *raw, char *err, size_t errlen)
{
    int r = 0;
    if (raw) {
        FILE *f = fopen(o->save, "w");
        size_t n = strlen(raw);
        if (!f || fwrite(raw, 1, n, f) != n || (n && raw[n - 1] != '\n' && fputc('\n', f) < 0))
            r = -EIO;
        if (f && fclose(f) != 0)
            r = -EIO;
    } else {
        json_error_t je;
        json_t *j = json_load_file(o->input, JSON_DISABLE_EOF_CHECK, &je);
        if (!j || json_dump_file(j, o->save, JSON_COMPACT | JSON_REAL_PRECISION(17)) < 0)
            r = -EIO;
        json_decref(j);
    }
    if (r < 0)
        snprintf(err, errlen, "--save %s: cannot write the snapshot", o->save);
    return r;
}

static const char *source_name(const chk_opts_t *o, char *buf, size_t len)
{
    if (o->input)
        snprintf(buf, len, "%s", o->input);
    else
        snprintf(buf, len, "qpulsed (namespace %s)", o->ns);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Running the checks                                                      */
/* ---------------------------------------------------------------------- */

/* Reports an input problem: on stderr, and in the JSON result. */
static int unusable(const chk_opts_t *o, json_t *res, const char *msg)
{
    fprintf(stderr, "qpulse check: %s\n", msg);
    if (o->json)
        json_object_set_new(res, "error", json_string(msg));
    return CHK_UNUSABLE;
}

/* The budget file, or NULL after reporting why it is refused. */
static qp_budgets_t *load_budgets(const chk_opts_t *o, json_t *res)
{
    qp_budgets_t *b = NULL;
    char *errs = NULL, msg[512];
    if (qp_budgets_load(o->budgets, &b, &errs) < 0) {
        /* Every error of the file, one per line, then one line saying so. */
        fputs(errs ? errs : "", stderr);
        if (o->json)
            json_object_set_new(res, "budget_errors", json_string(errs ? errs : ""));
        free(errs);
        snprintf(msg, sizeof msg, "%s: refused: fix the errors above", o->budgets);
        unusable(o, res, msg);
        return NULL;
    }
    if (!b->nrules) {
        snprintf(msg, sizeof msg, "%s: no rules: nothing to check", o->budgets);
        unusable(o, res, msg);
        qp_budgets_free(b);
        return NULL;
    }
    return b;
}

static qp_snapshot_t *load_baseline(const chk_opts_t *o, json_t *res)
{
    char err[512], msg[600];
    qp_snapshot_t *old = qp_snapshot_load(o->baseline, err, sizeof err);
    if (!old) {
        snprintf(msg, sizeof msg, "--baseline %s", err);
        unusable(o, res, msg);
    }
    return old;
}

static int max_rc(int a, int b)
{
    return a > b ? a : b;
}

/* Runs the checks asked for on snap; the exit status. */
static int run_checks(const chk_opts_t *o, const qp_budgets_t *b, const qp_snapshot_t *old,
                      const qp_snapshot_t *snap, json_t *res)
{
    int rc = CHK_OK;
    if (b) {
        json_t *sub = o->json ? json_object() : NULL;
        rc = chk_budgets(o, b, snap, sub);
        if (sub)
            json_object_set_new(res, "budgets", sub);
    }
    if (old) {
        if (b && !o->json)
            putchar('\n');
        json_t *sub = o->json ? json_object() : NULL;
        rc = max_rc(rc, chk_baseline(o, old, snap, sub));
        if (sub)
            json_object_set_new(res, "baseline", sub);
    }
    return rc;
}

int qp_cmd_check(int argc, char **argv)
{
    chk_opts_t o = { .tolerance_pct = 10, .min_count = -1, .nstats = 2,
                     .stats = { QP_STAT_P50, QP_STAT_P99 } };
    int r = check_parse_args(&o, argc, argv);
    if (r)
        return r > 0 ? CHK_OK : CHK_UNUSABLE;

    json_t *res = json_object();
    char err[600], src[300];
    char *raw = NULL;
    qp_budgets_t *b = NULL;
    qp_snapshot_t *old = NULL, *snap = NULL;
    int rc = CHK_OK;
    json_object_set_new(res, "qpulse_check", json_integer(1));
    json_object_set_new(res, "input", json_string(source_name(&o, src, sizeof src)));
    /* The files first: a bad budget file is reported even with no daemon. */
    if (o.budgets && !(b = load_budgets(&o, res)))
        rc = CHK_UNUSABLE;
    if (o.baseline && !(old = load_baseline(&o, res)))
        rc = CHK_UNUSABLE;
    if (rc == CHK_OK && !(snap = load_current(&o, &raw, err, sizeof err)))
        rc = unusable(&o, res, err);
    if (rc == CHK_OK && o.save && save_snapshot(&o, raw, err, sizeof err) < 0)
        rc = unusable(&o, res, err);
    if (rc == CHK_OK) {
        if (!snap->cumulative)
            fprintf(stderr, "qpulse check: note: %s is a window snapshot (window_s %.1f), "
                            "not cumulative: only that window is judged\n", src,
                    snap->window_s);
        rc = run_checks(&o, b, old, snap, res);
    }
    if (o.json) {
        json_object_set_new(res, "status", json_integer(rc));
        json_object_set_new(res, "ok", json_boolean(rc == CHK_OK));
        json_dumpf(res, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        putchar('\n');
    }
    fflush(stdout);
    json_decref(res);
    qp_budgets_free(b);
    qp_snapshot_free(old);
    qp_snapshot_free(snap);
    free(raw);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Text tables                                                             */
/* ---------------------------------------------------------------------- */

void chk_table_init(chk_table_t *t, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

void chk_table_add(chk_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        char **nc = realloc(t->cells, ncap * t->ncols * sizeof *nc);
        if (!nc)
            return;             /* a row lost to OOM; the summary still counts it */
        t->cells = nc, t->cap = ncap;
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = strdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

/* Columns are left-aligned, two blanks apart; the last one is not padded. */
void chk_table_print(const chk_table_t *t, FILE *f)
{
    size_t w[16] = { 0 };
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols && c < 16; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t n = s ? strlen(s) : 0;
            w[c] = n > w[c] ? n : w[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(f, "%s\n", s ? s : "");
            else
                fprintf(f, "%-*s  ", (int)w[c < 16 ? c : 15], s ? s : "");
        }
    }
}

void chk_table_free(chk_table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

const char *chk_format_diff(double ns, char *buf, size_t len)
{
    char abs[32];
    snprintf(buf, len, "%s%s", ns < 0 ? "-" : "+", qp_format_ns(fabs(ns), abs, sizeof abs));
    return buf;
}
