/*
 * budget.h — latency budget files (qpulse-check(1)): the one parser, shared by
 * qpulsed, qptop and `qpulse check`.
 *
 *   # operation              stat   limit
 *   trading.OrderValidation  p99  < 100us
 *   trading.*                mean < 1ms
 *   *                        p999 < 10ms
 *
 * A file with any error is refused as a whole; every error is reported, each
 * as "FILE:LINE:COL: what was expected", one per line.
 *
 * Precedence: for one operation and one stat, the most specific rule applies
 * (set.op over set.* over *); rules on different stats all apply.
 */
#ifndef QPULSE_BUDGET_H
#define QPULSE_BUDGET_H

#include <stddef.h>

typedef enum qp_stat {
    QP_STAT_MEAN, QP_STAT_P50, QP_STAT_P90, QP_STAT_P99, QP_STAT_P999, QP_STAT_MAX,
    QP_STAT_COUNT_
} qp_stat_t;

typedef enum qp_pattern_kind {
    QP_PAT_ALL = 0,        /* "*" */
    QP_PAT_SET = 1,        /* "set.*" */
    QP_PAT_OP = 2,         /* "set.op" (higher = more specific) */
} qp_pattern_kind_t;

typedef struct qp_budget_rule {
    qp_pattern_kind_t kind;
    char *set;             /* NULL for QP_PAT_ALL */
    char *op;              /* NULL unless QP_PAT_OP */
    qp_stat_t stat;
    double limit_ns;
    char *text;            /* normalised: "trading.* p99 < 1ms" */
    int line;              /* line in the file */
} qp_budget_rule_t;

typedef struct qp_budgets {
    char *path;
    qp_budget_rule_t *rules;
    size_t nrules;
} qp_budgets_t;

/* Parses text (named path in messages).  On success returns 0 and *out; on
 * any error returns -EINVAL, *out = NULL and *errors = every error, one per
 * line (malloc'd; the caller frees it). */
int qp_budgets_parse(const char *path, const char *text, size_t len,
                     qp_budgets_t **out, char **errors);
/* Reads and parses a file; an unreadable file is one error. */
int qp_budgets_load(const char *path, qp_budgets_t **out, char **errors);
void qp_budgets_free(qp_budgets_t *b);

/* For (set, op), the rule that applies per stat (the most specific), written
 * into out[QP_STAT_COUNT_] (NULL where none applies).  Returns how many
 * stats have a rule. */
size_t qp_budgets_match(const qp_budgets_t *b, const char *set, const char *op,
                        const qp_budget_rule_t *out[QP_STAT_COUNT_]);

/* 1 when actual_ns breaks rule r ("p99 < 100us" holds while p99 is strictly
 * below 100us), else 0.  Everyone decides a breach through this one test. */
int qp_budget_broken(const qp_budget_rule_t *r, double actual_ns);

/* "mean", "p50", ... */
const char *qp_stat_name(qp_stat_t s);
/* The percentile a stat is (50 for p50, 99.9 for p999, 100 for max); -1
 * for the mean. */
double qp_stat_percentile(qp_stat_t s);
/* Parses a stat name; -1 if unknown. */
int qp_stat_parse(const char *s);

#endif /* QPULSE_BUDGET_H */
