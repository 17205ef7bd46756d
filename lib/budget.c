/*
 * budget.c — the one parser of latency budget files (qpulse-check(1)), shared
 * by qpulsed, qptop and `qpulse check`.
 *
 * Grammar, one rule a line ('#' starts a comment anywhere, blank lines and
 * CRLF endings are fine):
 *
 *   rule    := pattern stat '<' limit
 *   pattern := '*' | IDENT '.' '*' | IDENT '.' IDENT     (IDENT: a C identifier)
 *   stat    := mean | p50 | p90 | p99 | p999 | max
 *   limit   := DIGITS ['.' DIGITS] unit                  (greater than 0)
 *   unit    := ns | us | ms | s
 *
 * The unit is required: a bare "100" could mean ns to one reader and us to
 * another, and a budget that is silently 1000x too loose never fails a CI run.
 *
 * The file is meant to gate CI, so it is strict: every line is checked, every
 * error is collected (at most one per line: what follows the first error on a
 * line is usually its echo), and a file with any error is refused whole — a
 * half-loaded budget file would pass builds it was written to fail.  The same
 * pattern and stat twice is an error too, since one of the two limits would
 * be silently ignored.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "common.h"

#define BUDGET_FILE_MAX (1u << 20)      /* a budget file is a few dozen lines */
#define BUDGET_IDENT_MAX 63             /* set and op names fit QP_NAME_MAX */

/* The one table of stats: each one's name and the percentile it is. */
static const struct { const char *name; double pct; } stats[QP_STAT_COUNT_] = {
    [QP_STAT_MEAN] = { "mean", -1 }, [QP_STAT_P50] = { "p50", 50 },
    [QP_STAT_P90] = { "p90", 90 },   [QP_STAT_P99] = { "p99", 99 },
    [QP_STAT_P999] = { "p999", 99.9 }, [QP_STAT_MAX] = { "max", 100 },
};

const char *qp_stat_name(qp_stat_t s)
{
    return (unsigned)s < QP_STAT_COUNT_ ? stats[s].name : "?";
}

double qp_stat_percentile(qp_stat_t s)
{
    return (unsigned)s < QP_STAT_COUNT_ ? stats[s].pct : -1;
}

int qp_stat_parse(const char *s)
{
    for (int i = 0; i < QP_STAT_COUNT_; i++)
        if (!strcmp(s, stats[i].name))
            return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Error collection                                                        */
/* ---------------------------------------------------------------------- */

/* The parser's state: the rules so far and the error text so far. */
typedef struct bparse {
    const char *path;
    qp_budget_rule_t *rules;
    size_t nrules, cap;
    char *errs;
    size_t errlen, errcap;
    int nerrs, oom;
} bparse_t;

static void berr(bparse_t *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void berr(bparse_t *p, int line, int col, const char *fmt, ...)
{
    char msg[512];
    size_t mlen = 0;
    qp_appendf(msg, sizeof msg, &mlen, "%s:%d:%d: ", p->path, line, col);
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(msg, sizeof msg, &mlen, fmt, ap);
    va_end(ap);
    p->nerrs++;
    if (p->errlen + mlen + 2 > p->errcap) {
        size_t ncap = (p->errcap + mlen + 2) * 2;
        char *ne = realloc(p->errs, ncap);
        if (!ne) {
            p->oom = 1;
            return;
        }
        p->errs = ne, p->errcap = ncap;
    }
    memcpy(p->errs + p->errlen, msg, mlen);
    p->errlen += mlen;
    p->errs[p->errlen++] = '\n';
    p->errs[p->errlen] = '\0';
}

/* ---------------------------------------------------------------------- */
/* One line                                                                */
/* ---------------------------------------------------------------------- */

/* A cursor over one line: s[0..len) without the newline or the comment. */
typedef struct bline {
    const char *s;
    size_t len, pos;
    int no;                     /* line number */
} bline_t;

static void skip_ws(bline_t *l)
{
    while (l->pos < l->len && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' ||
                               l->s[l->pos] == '\r'))
        l->pos++;
}

static int at_end(const bline_t *l)
{
    return l->pos >= l->len;
}

static int col(const bline_t *l)
{
    return (int)l->pos + 1;
}

/* The word at the cursor (up to the next blank), quoted for messages. */
static const char *word(const bline_t *l, char *buf, size_t len)
{
    if (at_end(l))
        return "the end of the line";
    if (isspace((unsigned char)l->s[l->pos]))
        return "a blank";
    size_t e = l->pos;
    while (e < l->len && !isspace((unsigned char)l->s[e]))
        e++;
    int n = (int)(e - l->pos);
    if (n > 40)
        n = 40;
    snprintf(buf, len, "'%.*s%s'", n, l->s + l->pos, e - l->pos > 40 ? "..." : "");
    return buf;
}

static int ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static int ident_char(int c)
{
    return isalnum(c) || c == '_';
}

/* A C identifier at the cursor; its length (0 if none). */
static size_t ident(const bline_t *l, size_t at)
{
    size_t e = at;
    if (e < l->len && ident_start((unsigned char)l->s[e]))
        while (e < l->len && ident_char((unsigned char)l->s[e]))
            e++;
    return e - at;
}

static char *dup_n(bparse_t *p, const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        p->oom = 1;
    return d;
}

#define EXPECT_PATTERN "expected an operation pattern (set.op, set.* or *)"

/* pattern := '*' | IDENT '.' '*' | IDENT '.' IDENT, followed by a blank. */
static int parse_pattern(bparse_t *p, bline_t *l, qp_budget_rule_t *r)
{
    char w[64];
    size_t start = l->pos, n;
    if (l->s[l->pos] == '*') {
        r->kind = QP_PAT_ALL;
        l->pos++;
    } else if ((n = ident(l, l->pos)) > 0) {
        if (n > BUDGET_IDENT_MAX) {
            berr(p, l->no, col(l), "expected a set name of at most %d characters",
                 BUDGET_IDENT_MAX);
            return -EINVAL;
        }
        l->pos += n;
        if (!at_end(l) && l->s[l->pos] != '.' && l->s[l->pos] != ' ' &&
            l->s[l->pos] != '\t') {
            l->pos = start;     /* "trad*": a glob we do not have */
            berr(p, l->no, col(l), EXPECT_PATTERN ", got %s", word(l, w, sizeof w));
            return -EINVAL;
        }
        if (at_end(l) || l->s[l->pos] != '.') {
            berr(p, l->no, col(l), "expected '.' after the set name '%.*s' "
                 "(patterns are set.op, set.* or *), got %s", (int)n, l->s + start,
                 word(l, w, sizeof w));
            return -EINVAL;
        }
        l->pos++;
        r->set = dup_n(p, l->s + start, n);
        if (!at_end(l) && l->s[l->pos] == '*') {
            r->kind = QP_PAT_SET;
            l->pos++;
        } else if ((n = ident(l, l->pos)) > 0 && n <= BUDGET_IDENT_MAX) {
            r->kind = QP_PAT_OP;
            r->op = dup_n(p, l->s + l->pos, n);
            l->pos += n;
        } else {
            berr(p, l->no, col(l), "expected an operation name (a C identifier of at most "
                 "%d characters) or '*' after '%.*s', got %s", BUDGET_IDENT_MAX,
                 (int)(l->pos - start), l->s + start, word(l, w, sizeof w));
            return -EINVAL;
        }
    } else {
        berr(p, l->no, col(l), EXPECT_PATTERN ", got %s", word(l, w, sizeof w));
        return -EINVAL;
    }
    if (!at_end(l) && l->s[l->pos] != ' ' && l->s[l->pos] != '\t') {
        /* "trad*", "a.b.c", "set.op-x": the pattern does not end where it should. */
        l->pos = start;
        berr(p, l->no, col(l), EXPECT_PATTERN ", got %s", word(l, w, sizeof w));
        return -EINVAL;
    }
    return 0;
}

static int parse_stat(bparse_t *p, bline_t *l, qp_budget_rule_t *r)
{
    char w[64], name[8];
    size_t e = l->pos;
    while (e < l->len && isalnum((unsigned char)l->s[e]))
        e++;
    int s = -1;
    if (e > l->pos && e - l->pos < sizeof name) {
        memcpy(name, l->s + l->pos, e - l->pos);
        name[e - l->pos] = '\0';
        s = qp_stat_parse(name);
    }
    if (s < 0) {
        berr(p, l->no, col(l), "expected a stat (mean, p50, p90, p99, p999 or max), got %s",
             word(l, w, sizeof w));
        return -EINVAL;
    }
    r->stat = (qp_stat_t)s;
    l->pos = e;
    return 0;
}

/* limit := DIGITS ['.' DIGITS] unit; text gets it without blanks ("100us"). */
static int parse_limit(bparse_t *p, bline_t *l, qp_budget_rule_t *r, char *text,
                       size_t textlen)
{
    char w[64], num[48];
    size_t start = l->pos, e = l->pos;
    while (e < l->len && isdigit((unsigned char)l->s[e]))
        e++;
    if (e > start && e < l->len && l->s[e] == '.' && e + 1 < l->len &&
        isdigit((unsigned char)l->s[e + 1]))
        for (e++; e < l->len && isdigit((unsigned char)l->s[e]);)
            e++;
    if (e == start || e - start >= sizeof num) {
        berr(p, l->no, col(l), "expected a limit after '<' (a number and a unit: "
             "ns, us, ms or s, e.g. 100us), got %s", word(l, w, sizeof w));
        return -EINVAL;
    }
    memcpy(num, l->s + start, e - start);
    num[e - start] = '\0';
    double v = strtod(num, NULL);
    l->pos = e;
    skip_ws(l);                 /* "100 us" reads as "100us" */
    e = l->pos;
    size_t ue = e;
    while (ue < l->len && isalpha((unsigned char)l->s[ue]))
        ue++;
    double mul = qp_duration_unit(l->s + e, ue - e);
    if (mul > 0) {
        if (!(v > 0) || !isfinite(v * mul)) {
            l->pos = start;
            berr(p, l->no, col(l), "expected a limit greater than 0, got '%s%.*s'", num,
                 (int)(ue - e), l->s + e);
            return -EINVAL;
        }
        r->limit_ns = v * mul;
        l->pos = ue;
        snprintf(text, textlen, "%s%.*s", num, (int)(ue - e), l->s + e);
        return 0;
    }
    if (ue == e)
        berr(p, l->no, col(l), "expected a unit after %s (ns, us, ms or s: a bare number "
             "is ambiguous), got %s", num, word(l, w, sizeof w));
    else
        berr(p, l->no, col(l), "expected a unit (ns, us, ms or s), got '%.*s'",
             (int)(ue - e), l->s + e);
    return -EINVAL;
}

/* The normalised text of a rule: "trading.* p99 < 1ms". */
static char *rule_text(bparse_t *p, const qp_budget_rule_t *r, const char *lim)
{
    char buf[256];
    if (r->kind == QP_PAT_ALL)
        snprintf(buf, sizeof buf, "* %s < %s", stats[r->stat].name, lim);
    else
        snprintf(buf, sizeof buf, "%s.%s %s < %s", r->set, r->op ? r->op : "*",
                 stats[r->stat].name, lim);
    return dup_n(p, buf, strlen(buf));
}

static int same_target(const qp_budget_rule_t *a, const qp_budget_rule_t *b)
{
    if (a->kind != b->kind || a->stat != b->stat)
        return 0;
    if (a->set && strcmp(a->set, b->set))
        return 0;
    return !a->op || !strcmp(a->op, b->op);
}

static void rule_clear(qp_budget_rule_t *r)
{
    free(r->set), free(r->op), free(r->text);
    memset(r, 0, sizeof *r);
}

static int add_rule(bparse_t *p, const bline_t *l, qp_budget_rule_t *r)
{
    for (size_t i = 0; i < p->nrules; i++) {
        if (same_target(&p->rules[i], r)) {
            berr(p, l->no, 1, "expected one limit per pattern and stat, but '%s' already "
                 "has one on line %d", p->rules[i].text, p->rules[i].line);
            return -EINVAL;
        }
    }
    if (p->nrules == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        qp_budget_rule_t *nr = realloc(p->rules, ncap * sizeof *nr);
        if (!nr) {
            p->oom = 1;
            return -ENOMEM;
        }
        p->rules = nr, p->cap = ncap;
    }
    p->rules[p->nrules++] = *r;
    memset(r, 0, sizeof *r);
    return 0;
}

/* One line: blank, comment, or one rule. */
static void parse_line(bparse_t *p, bline_t *l)
{
    char w[64];
    char lim[64];
    qp_budget_rule_t r = { .line = l->no };
    const char *hash = memchr(l->s, '#', l->len);
    if (hash)
        l->len = (size_t)(hash - l->s);
    skip_ws(l);
    if (at_end(l))
        return;
    if (parse_pattern(p, l, &r) < 0)
        goto out;
    skip_ws(l);
    if (parse_stat(p, l, &r) < 0)
        goto out;
    skip_ws(l);
    if (at_end(l) || l->s[l->pos] != '<') {
        berr(p, l->no, col(l), "expected '<' after the stat (a budget is an upper limit: "
             "STAT < LIMIT), got %s", word(l, w, sizeof w));
        goto out;
    }
    l->pos++;
    skip_ws(l);
    if (parse_limit(p, l, &r, lim, sizeof lim) < 0)
        goto out;
    skip_ws(l);
    if (!at_end(l)) {
        berr(p, l->no, col(l), "expected the end of the rule or a '#' comment, got %s",
             word(l, w, sizeof w));
        goto out;
    }
    r.text = rule_text(p, &r, lim);
    if (!p->oom)
        add_rule(p, l, &r);
out:
    rule_clear(&r);
}

/* ---------------------------------------------------------------------- */
/* Files                                                                   */
/* ---------------------------------------------------------------------- */

static void rules_free(qp_budget_rule_t *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rule_clear(&rules[i]);
    free(rules);
}

int qp_budgets_parse(const char *path, const char *text, size_t len, qp_budgets_t **out,
                     char **errors)
{
    bparse_t p = { .path = path ? path : "<budgets>" };
    *out = NULL;
    if (errors)
        *errors = NULL;
    int no = 1;
    for (size_t at = 0; at < len; no++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        bline_t l = { .s = text + at, .len = end - at, .no = no };
        const char *nul = memchr(l.s, '\0', l.len);
        if (nul)
            berr(&p, no, (int)(nul - l.s) + 1, "expected text, got a NUL byte");
        else
            parse_line(&p, &l);
        at = end + 1;
    }
    qp_budgets_t *b = NULL;
    if (!p.nerrs && !p.oom) {
        b = calloc(1, sizeof *b);
        if (b && !(b->path = strdup(p.path))) {
            free(b);
            b = NULL;
        }
        if (!b)
            p.oom = 1;
    }
    if (p.nerrs || p.oom) {
        rules_free(p.rules, p.nrules);
        if (p.oom && !p.nerrs)
            berr(&p, 0, 0, "out of memory");
        if (errors)
            *errors = p.errs;
        else
            free(p.errs);
        return p.oom && p.nerrs <= 1 ? -ENOMEM : -EINVAL;
    }
    b->rules = p.rules;
    b->nrules = p.nrules;
    *out = b;
    return 0;
}

int qp_budgets_load(const char *path, qp_budgets_t **out, char **errors)
{
    *out = NULL;
    if (errors)
        *errors = NULL;
    FILE *f = fopen(path, "r");
    int r = 0;
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        r = -errno;
        goto err;
    }
    buf = malloc(BUDGET_FILE_MAX + 1);
    if (!buf) {
        r = -ENOMEM;
        goto err;
    }
    errno = 0;
    len = fread(buf, 1, BUDGET_FILE_MAX + 1, f);
    if (ferror(f))
        r = errno ? -errno : -EIO;      /* EISDIR for a directory */
    else if (len > BUDGET_FILE_MAX)
        r = -EFBIG;
    fclose(f);
    f = NULL;
    if (r < 0)
        goto err;
    r = qp_budgets_parse(path, buf, len, out, errors);
    free(buf);
    return r;
err:
    if (f)
        fclose(f);
    free(buf);
    if (errors && asprintf(errors, "%s: %s\n", path,
                           r == -EFBIG ? "larger than 1 MiB: not a budget file" :
                                         strerror(-r)) < 0)
        *errors = NULL;
    return r;
}

void qp_budgets_free(qp_budgets_t *b)
{
    if (!b)
        return;
    rules_free(b->rules, b->nrules);
    free(b->path);
    free(b);
}

/* ---------------------------------------------------------------------- */
/* Matching                                                                */
/* ---------------------------------------------------------------------- */

static int rule_matches(const qp_budget_rule_t *r, const char *set, const char *op)
{
    switch (r->kind) {
    case QP_PAT_ALL: return 1;
    case QP_PAT_SET: return !strcmp(r->set, set);
    case QP_PAT_OP: return !strcmp(r->set, set) && !strcmp(r->op, op);
    }
    return 0;
}

size_t qp_budgets_match(const qp_budgets_t *b, const char *set, const char *op,
                        const qp_budget_rule_t *out[QP_STAT_COUNT_])
{
    size_t n = 0;
    for (int s = 0; s < QP_STAT_COUNT_; s++)
        out[s] = NULL;
    if (!b)
        return 0;
    for (size_t i = 0; i < b->nrules; i++) {
        const qp_budget_rule_t *r = &b->rules[i];
        if (!rule_matches(r, set, op))
            continue;
        /* The parser refuses two rules of one kind and stat on one target,
         * so the more specific kind decides and order does not matter. */
        if (!out[r->stat])
            n++;
        if (!out[r->stat] || r->kind > out[r->stat]->kind)
            out[r->stat] = r;
    }
    return n;
}

int qp_budget_broken(const qp_budget_rule_t *r, double actual_ns)
{
    /* "p99 < 100us" holds while the value is strictly below the limit. */
    return !(actual_ns < r->limit_ns);
}
