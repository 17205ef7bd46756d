/*
 * check.h — the pieces of `qpulse check` (tools/cmd_check.c): its options,
 * the budget check (tools/check_budgets.c), the baseline comparison
 * (tools/check_baseline.c) and the aligned text table both print.
 *
 * Exit statuses, as qpulse-check(1) documents them: CHK_OK when everything holds,
 * CHK_BROKEN when a budget is broken or an operation regressed, CHK_UNUSABLE
 * when the input cannot be judged (missing or bad file, no daemon, nothing
 * to check).
 */
#ifndef QPULSE_TOOLS_CHECK_H
#define QPULSE_TOOLS_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "budget.h"
#include "snapshot.h"

enum { CHK_OK = 0, CHK_BROKEN = 1, CHK_UNUSABLE = 2 };

typedef struct chk_opts {
    const char *budgets;        /* --budgets FILE */
    const char *baseline;       /* --baseline OLD.json */
    const char *input;          /* --input SNAPSHOT.json, NULL: the daemon */
    const char *save;           /* --save FILE: the snapshot checked */
    const char *ns;
    int json;                   /* --format json */
    int strict;                 /* unmatched rules / vanished ops fail */
    int quiet;                  /* only what broke */
    double tolerance_pct;       /* --tolerance, default 10 */
    int stats[QP_STAT_COUNT_];  /* --stat list, default p50,p99 */
    size_t nstats;
    long min_count;             /* --min-count, -1: per stat (chk_min_count) */
} chk_opts_t;

/* Evaluates every rule of b against snap.  Prints the text report on stdout
 * (unless o->json), fills *res (a JSON object) when o->json.  Returns an
 * exit status. */
int chk_budgets(const chk_opts_t *o, const qp_budgets_t *b, const qp_snapshot_t *snap,
                json_t *res);

/* Compares now against old, per (process name, set, op). */
int chk_baseline(const chk_opts_t *o, const qp_snapshot_t *old, const qp_snapshot_t *now,
                 json_t *res);

/* The fewest samples a stat needs on both sides to be compared. */
long chk_min_count(qp_stat_t s);

/* A text table printed with aligned columns. */
typedef struct chk_table {
    char **cells;
    size_t ncols, nrows, cap;
} chk_table_t;

void chk_table_init(chk_table_t *t, size_t ncols);
/* Adds a row of t->ncols cells (copied). */
void chk_table_add(chk_table_t *t, const char *const *cells);
void chk_table_print(const chk_table_t *t, FILE *f);
void chk_table_free(chk_table_t *t);

/* "+1.50ms" / "-20.0us": a signed difference of durations. */
const char *chk_format_diff(double ns, char *buf, size_t len);

#endif
