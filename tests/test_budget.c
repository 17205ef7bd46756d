/*
 * test_budget.c — the budget-file parser (lib/budget.c): the documented
 * example, every form of rule, every error with its exact message, all
 * errors of a file reported together, a bad file refused whole, and which
 * rule applies when several match.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "budget.h"

static int parse(const char *text, qp_budgets_t **b, char **errs)
{
    return qp_budgets_parse("b.conf", text, strlen(text), b, errs);
}

/* Parses text that must be valid and hold nrules rules; fails the test
 * with the errors if not. */
static qp_budgets_t *parse_ok(const char *text, unsigned nrules)
{
    qp_budgets_t *b = NULL;
    char *errs = NULL;
    int r = parse(text, &b, &errs);
    cr_assert_eq(r, 0, "expected valid, got:\n%s", errs ? errs : "(no message)");
    cr_assert_not_null(b);
    cr_assert_null(errs, "no error text on success");
    cr_assert_eq(b->nrules, nrules, "rules: got %u, want %u", b->nrules, nrules);
    return b;
}

/* One parsed rule, field by field (set and op NULL where the pattern has none). */
static void expect_rule(const qp_budget_rule_t *r, qp_pattern_kind_t kind, const char *set,
                        const char *op, qp_stat_t stat, double limit_ns, const char *text,
                        unsigned line)
{
    cr_expect_eq(r->kind, kind, "%s: kind", text);
    if (set)
        cr_expect_str_eq(r->set, set, "%s: set", text);
    else
        cr_expect_null(r->set, "%s: set", text);
    if (op)
        cr_expect_str_eq(r->op, op, "%s: op", text);
    else
        cr_expect_null(r->op, "%s: op", text);
    cr_expect_eq(r->stat, stat, "%s: stat", text);
    cr_expect_float_eq(r->limit_ns, limit_ns, 1e-6, "%s: limit", text);
    cr_expect_str_eq(r->text, text);
    cr_expect_eq(r->line, line, "%s: line", text);
}

Test(budget, documented_example)
{
    qp_budgets_t *b = parse_ok("# operation              stat   limit\n"
                               "trading.OrderValidation  p99  < 100us\n"
                               "trading.*                mean < 1ms\n"
                               "*                        p999 < 10ms\n", 3);
    cr_expect_str_eq(b->path, "b.conf");
    expect_rule(&b->rules[0], QP_PAT_OP, "trading", "OrderValidation", QP_STAT_P99, 100e3,
                "trading.OrderValidation p99 < 100us", 2);
    expect_rule(&b->rules[1], QP_PAT_SET, "trading", NULL, QP_STAT_MEAN, 1e6,
                "trading.* mean < 1ms", 3);
    expect_rule(&b->rules[2], QP_PAT_ALL, NULL, NULL, QP_STAT_P999, 10e6, "* p999 < 10ms", 4);
    qp_budgets_free(b);
}

Test(budget, every_stat_and_unit)
{
    qp_budgets_t *b = parse_ok("a.b mean < 5ns\n"
                               "a.b p50 < 2.5us\n"
                               "a.b p90<1ms\n"
                               "a.b\tp99\t<\t0.5s\n"
                               "a.b p999 < 1.25 ms\n"
                               "_x9.Y_ max < 3s", 6);   /* no final newline */
    static const double want[] = { 5, 2500, 1e6, 5e8, 1.25e6, 3e9 };
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(b->rules[i].stat, (qp_stat_t)i, "rule %d", i);
        cr_expect_float_eq(b->rules[i].limit_ns, want[i], 1e-6, "rule %d", i);
    }
    cr_expect_str_eq(b->rules[4].text, "a.b p999 < 1.25ms", "blanks are normalised away");
    cr_expect_str_eq(b->rules[5].set, "_x9");
    qp_budgets_free(b);
}

Test(budget, comments_blanks_and_crlf)
{
    qp_budgets_t *b = parse_ok("\n   \n# only a comment\n"
                               "  a.* p99 < 1ms   # trailing comment with < and * in it\r\n"
                               "\t\r\n"
                               "* max < 1s#tight comment\n", 2);
    cr_expect_eq(b->rules[0].line, 4);
    cr_expect_eq(b->rules[1].line, 6);
    qp_budgets_free(b);
}

Test(budget, empty_file_has_no_rules)
{
    qp_budgets_t *b = parse_ok("", 0);
    qp_budgets_free(b);
}

/* Each bad line and its whole message. */
static const struct bad_case {
    const char *text, *msg;
} bad[] = {
    { "trad* p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got 'trad*'" },
    { "trading p99 < 1ms",
      "b.conf:1:8: expected '.' after the set name 'trading' (patterns are set.op, set.* or *), "
      "got a blank" },
    { "trading. p99 < 1ms",
      "b.conf:1:9: expected an operation name (a C identifier of at most 63 characters) or '*' "
      "after 'trading.', got a blank" },
    { "trading.9x p99 < 1ms",
      "b.conf:1:9: expected an operation name (a C identifier of at most 63 characters) or '*' "
      "after 'trading.', got '9x'" },
    { "1set.op p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got '1set.op'" },
    { "a.b.c p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got 'a.b.c'" },
    { "set.op-x p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got 'set.op-x'" },
    { "*.op p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got '*.op'" },
    { "trading.*p99 < 1ms",
      "b.conf:1:1: expected an operation pattern (set.op, set.* or *), got 'trading.*p99'" },
    { "  < 1ms",
      "b.conf:1:3: expected an operation pattern (set.op, set.* or *), got '<'" },
    { "trading.* p95 < 1ms",
      "b.conf:1:11: expected a stat (mean, p50, p90, p99, p999 or max), got 'p95'" },
    { "trading.* P99 < 1ms",
      "b.conf:1:11: expected a stat (mean, p50, p90, p99, p999 or max), got 'P99'" },
    { "trading.*",
      "b.conf:1:10: expected a stat (mean, p50, p90, p99, p999 or max), got the end of the line" },
    { "trading.*   # no stat",
      "b.conf:1:13: expected a stat (mean, p50, p90, p99, p999 or max), got the end of the line" },
    { "trading.* p99 1ms",
      "b.conf:1:15: expected '<' after the stat (a budget is an upper limit: STAT < LIMIT), "
      "got '1ms'" },
    { "trading.* p99 > 1ms",
      "b.conf:1:15: expected '<' after the stat (a budget is an upper limit: STAT < LIMIT), "
      "got '>'" },
    { "trading.* p99",
      "b.conf:1:14: expected '<' after the stat (a budget is an upper limit: STAT < LIMIT), "
      "got the end of the line" },
    { "trading.* p99 <= 1ms",
      "b.conf:1:16: expected a limit after '<' (a number and a unit: ns, us, ms or s, "
      "e.g. 100us), got '='" },
    { "trading.* p99 < -1ms",
      "b.conf:1:17: expected a limit after '<' (a number and a unit: ns, us, ms or s, "
      "e.g. 100us), got '-1ms'" },
    { "trading.* p99 <",
      "b.conf:1:16: expected a limit after '<' (a number and a unit: ns, us, ms or s, "
      "e.g. 100us), got the end of the line" },
    { "trading.* p99 < 100",
      "b.conf:1:20: expected a unit after 100 (ns, us, ms or s: a bare number is ambiguous), "
      "got the end of the line" },
    { "trading.* p99 < 100 # bare",
      "b.conf:1:21: expected a unit after 100 (ns, us, ms or s: a bare number is ambiguous), "
      "got the end of the line" },
    { "trading.* p99 < 1.ms",
      "b.conf:1:18: expected a unit after 1 (ns, us, ms or s: a bare number is ambiguous), "
      "got '.ms'" },
    { "trading.* p99 < 100sec",
      "b.conf:1:20: expected a unit (ns, us, ms or s), got 'sec'" },
    { "trading.* p99 < 100 US",
      "b.conf:1:21: expected a unit (ns, us, ms or s), got 'US'" },
    { "trading.* p99 < 0ms",
      "b.conf:1:17: expected a limit greater than 0, got '0ms'" },
    { "trading.* p99 < 0.000us",
      "b.conf:1:17: expected a limit greater than 0, got '0.000us'" },
    { "trading.* p99 < 1ms extra",
      "b.conf:1:21: expected the end of the rule or a '#' comment, got 'extra'" },
    { "trading.* p99 < 1ms < 2ms",
      "b.conf:1:21: expected the end of the rule or a '#' comment, got '<'" },
    { "a.* p99 < 1ms\na.* p99 < 2ms",
      "b.conf:2:1: expected one limit per pattern and stat, but 'a.* p99 < 1ms' already has "
      "one on line 1" },
    { "* max < 1s\n\n# x\n*   max < 5s",
      "b.conf:4:1: expected one limit per pattern and stat, but '* max < 1s' already has one "
      "on line 1" },
    { "a.b mean < 1us\na.b mean < 1us",
      "b.conf:2:1: expected one limit per pattern and stat, but 'a.b mean < 1us' already has "
      "one on line 1" },
    { "a0123456789012345678901234567890123456789012345678901234567890123.* p99 < 1ms",
      "b.conf:1:1: expected a set name of at most 63 characters" },
};

Test(budget, every_error_has_its_message)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qp_budgets_t *b = (qp_budgets_t *)1;
        char *errs = NULL;
        int r = parse(bad[i].text, &b, &errs);
        cr_expect_eq(r, -EINVAL, "case %zu '%s' must be refused", i, bad[i].text);
        cr_expect_null(b, "case %zu: nothing is returned for a bad file", i);
        cr_assert_not_null(errs, "case %zu: errors are given", i);
        char want[512];
        snprintf(want, sizeof want, "%s\n", bad[i].msg);
        cr_expect_str_eq(errs, want, "case %zu '%s'", i, bad[i].text);
        free(errs);
    }
}

Test(budget, nul_byte_is_an_error)
{
    static const char text[] = "a.* p99 < 1ms\nb.*\0 p99 < 1ms\n";
    qp_budgets_t *b;
    char *errs = NULL;
    cr_expect_eq(qp_budgets_parse("b.conf", text, sizeof text - 1, &b, &errs), -EINVAL);
    cr_expect_str_eq(errs, "b.conf:2:4: expected text, got a NUL byte\n");
    free(errs);
}

Test(budget, all_errors_are_reported_and_the_file_refused)
{
    qp_budgets_t *b = (qp_budgets_t *)1;
    char *errs = NULL;
    int r = parse("good.* p99 < 1ms\n"
                  "bad p99 < 1ms\n"
                  "good.op p99 < 1ms\n"
                  "x.y p95 < 1ms   # two errors on this line: only the first is told\n"
                  "\n"
                  "z.* max < 7\n"
                  "good.* p99 < 2ms\n",
                  &b, &errs);
    cr_expect_eq(r, -EINVAL);
    cr_expect_null(b, "a file with any error is refused whole");
    cr_assert_not_null(errs);
    cr_expect_str_eq(errs,
                     "b.conf:2:4: expected '.' after the set name 'bad' (patterns are set.op, "
                     "set.* or *), got a blank\n"
                     "b.conf:4:5: expected a stat (mean, p50, p90, p99, p999 or max), got 'p95'\n"
                     "b.conf:6:12: expected a unit after 7 (ns, us, ms or s: a bare number is "
                     "ambiguous), got the end of the line\n"
                     "b.conf:7:1: expected one limit per pattern and stat, but 'good.* p99 < "
                     "1ms' already has one on line 1\n");
    free(errs);
}

Test(budget, long_path_cuts_the_message)
{
    /* A path about as long as a message's room once wrote past the end of
     * the message buffer (caught by the ASan stage of CI). */
    char path[511];
    memset(path, 'd', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    qp_budgets_t *b = (qp_budgets_t *)1;
    char *errs = NULL;
    cr_expect_eq(qp_budgets_parse(path, "bad p99 < 1ms\n", 14, &b, &errs), -EINVAL);
    cr_expect_null(b);
    cr_assert_not_null(errs);
    cr_expect_eq(strlen(errs), 512, "the message is cut to 511 characters and its newline");
    cr_expect_eq(strncmp(errs, path, 510), 0, "the message starts with the path");
    cr_expect_eq(errs[511], '\n');
    free(errs);
}

Test(budget, errors_may_be_ignored)
{
    qp_budgets_t *b;
    cr_expect_eq(parse("x", &b, NULL), -EINVAL, "a NULL errors pointer is allowed");
    cr_expect_null(b);
}

Test(budget, same_target_other_stat_or_kind_is_no_duplicate)
{
    qp_budgets_t *b = parse_ok("a.* p99 < 1ms\na.* p50 < 1ms\na.b p99 < 1ms\n* p99 < 1ms\n"
                               "b.* p99 < 1ms\nb.a p99 < 1ms\n", 6);
    qp_budgets_free(b);
}

static const char *rule_of(const qp_budget_rule_t *const m[], qp_stat_t s)
{
    return m[s] ? m[s]->text : "(none)";
}

static void check_precedence(const char *text)
{
    qp_budgets_t *b = parse_ok(text, 6);
    const qp_budget_rule_t *m[QP_STAT_COUNT_];

    cr_expect_eq(qp_budgets_match(b, "trading", "Order", m), 3);
    cr_expect_str_eq(rule_of(m, QP_STAT_P99), "trading.Order p99 < 100us", "set.op wins");
    cr_expect_str_eq(rule_of(m, QP_STAT_MEAN), "* mean < 5ms", "other stats still apply");
    cr_expect_str_eq(rule_of(m, QP_STAT_P999), "trading.* p999 < 2ms");
    cr_expect_null(m[QP_STAT_MAX]);
    cr_expect_null(m[QP_STAT_P50]);

    cr_expect_eq(qp_budgets_match(b, "trading", "Price", m), 3);
    cr_expect_str_eq(rule_of(m, QP_STAT_P99), "trading.* p99 < 1ms", "set.* over *");

    cr_expect_eq(qp_budgets_match(b, "other", "Order", m), 3);
    cr_expect_str_eq(rule_of(m, QP_STAT_P99), "* p99 < 10ms", "set.op of another set: *");
    cr_expect_str_eq(rule_of(m, QP_STAT_MAX), "other.* max < 1s");
    cr_expect_null(m[QP_STAT_P999]);

    cr_expect_eq(qp_budgets_match(b, "libc", "malloc", m), 2);
    cr_expect_str_eq(rule_of(m, QP_STAT_P99), "* p99 < 10ms");
    qp_budgets_free(b);
}

Test(budget, most_specific_rule_applies_per_stat)
{
    check_precedence("* p99 < 10ms\n"
                     "trading.* p99 < 1ms\n"
                     "trading.Order p99 < 100us\n"
                     "* mean < 5ms\n"
                     "trading.* p999 < 2ms\n"
                     "other.* max < 1s\n");
}

Test(budget, precedence_does_not_depend_on_order)
{
    check_precedence("other.* max < 1s\n"
                     "trading.* p999 < 2ms\n"
                     "trading.Order p99 < 100us\n"
                     "* mean < 5ms\n"
                     "trading.* p99 < 1ms\n"
                     "* p99 < 10ms\n");
}

Test(budget, match_with_no_rules)
{
    const qp_budget_rule_t *m[QP_STAT_COUNT_];
    cr_expect_eq(qp_budgets_match(NULL, "a", "b", m), 0);
    for (int i = 0; i < QP_STAT_COUNT_; i++)
        cr_expect_null(m[i]);
}

Test(budget, broken_means_not_strictly_below)
{
    qp_budgets_t *b = parse_ok("* p99 < 100us\n", 1);
    cr_expect_not(qp_budget_broken(&b->rules[0], 99999.9));
    cr_expect(qp_budget_broken(&b->rules[0], 100000), "equal to the limit breaks '<'");
    cr_expect(qp_budget_broken(&b->rules[0], 250000));
    qp_budgets_free(b);
}

Test(budget, stat_names)
{
    static const char *names[] = { "mean", "p50", "p90", "p99", "p999", "max" };
    for (int i = 0; i < QP_STAT_COUNT_; i++) {
        cr_expect_str_eq(qp_stat_name((qp_stat_t)i), names[i]);
        cr_expect_eq(qp_stat_parse(names[i]), i);
    }
    cr_expect_eq(qp_stat_parse("p95"), -1);
    cr_expect_eq(qp_stat_parse(""), -1);
}

Test(budget, load_a_file)
{
    char path[] = "/tmp/qpulse-test-budget.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "trading.* p99 < 1ms\nbad\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    qp_budgets_t *b;
    char *errs = NULL;
    cr_expect_eq(qp_budgets_load(path, &b, &errs), -EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s:2:4: expected '.' after the set name 'bad' (patterns are "
             "set.op, set.* or *), got the end of the line\n", path);
    cr_expect_str_eq(errs, want, "messages name the file");
    free(errs);

    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, 20), 20);
    close(fd);
    cr_expect_eq(qp_budgets_load(path, &b, &errs), 0);
    cr_assert_not_null(b);
    cr_expect_eq(b->nrules, 1);
    cr_expect_str_eq(b->path, path);
    qp_budgets_free(b);
    unlink(path);
}

Test(budget, unreadable_file_is_one_error)
{
    qp_budgets_t *b;
    char *errs = NULL;
    cr_expect_eq(qp_budgets_load("/nonexistent/budgets", &b, &errs), -ENOENT);
    cr_expect_null(b);
    cr_expect_str_eq(errs, "/nonexistent/budgets: No such file or directory\n");
    free(errs);
    cr_expect_eq(qp_budgets_load("/tmp", &b, &errs), -EISDIR);
    cr_expect_str_eq(errs, "/tmp: Is a directory\n");
    free(errs);
}
