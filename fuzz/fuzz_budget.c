/*
 * fuzz_budget.c — libFuzzer target for the budget-file parser
 * (qp_budgets_parse in lib/budget.c).  Budget files are written by hand,
 * so every byte sequence must give either rules or a list of errors.
 *
 * The input is the file's text as is (not NUL-terminated: the parser is
 * given the length).  Successful parses are matched against a few names
 * and every rule's strings are walked.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

static uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qp_budgets_t *b = NULL;
    char *errors = NULL;
    int r = qp_budgets_parse("fuzz.budgets", (const char *)data, size, &b, &errors);
    if (errors)
        sink += strlen(errors);
    free(errors);
    if (r != 0 || !b)
        return 0;
    for (size_t i = 0; i < b->nrules; i++) {
        const qp_budget_rule_t *ru = &b->rules[i];
        sink += (ru->set ? strlen(ru->set) : 0) + (ru->op ? strlen(ru->op) : 0) +
                (ru->text ? strlen(ru->text) : 0) + (uint64_t)ru->line +
                strlen(qp_stat_name(ru->stat));
    }
    static const char *const names[][2] = {
        { "trading", "OrderValidation" }, { "trading", "x" }, { "a", "b" }, { "", "" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const qp_budget_rule_t *out[QP_STAT_COUNT_];
        sink += qp_budgets_match(b, names[i][0], names[i][1], out);
    }
    qp_budgets_free(b);
    return 0;
}
