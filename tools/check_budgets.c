/*
 * check_budgets.c — `qpulse check --budgets`: every rule of a budget file
 * against every process and operation of a snapshot.
 *
 * A rule applies to each process that has the operation (qpulse-check(1)), so
 * one rule may give several rows; for one operation and stat only the most
 * specific rule applies (qp_budgets_match).  The report lists what broke
 * first, then what held, so a CI log shows the failure at the top.
 *
 * Two things that would let a gate pass without judging anything are not
 * silent: a snapshot in which no operation has a budget is "unusable" (exit
 * 2: usually the program under test never reached the daemon, or the rules
 * name the wrong set), and a rule that matched nothing is listed (and fails
 * the check under --strict: likely a misspelt name).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "common.h"

enum { COLS = 9 };

typedef struct bud_state {
    const chk_opts_t *o;
    const qp_budgets_t *b;
    chk_table_t table;
    json_t *results;            /* NULL unless --format json */
    char *used;                 /* per rule: matched at least one op */
    size_t checked, broken;
    struct bud_broke {          /* the broken rows, for the slowest samples */
        const qp_snap_proc_t *p;
        const qp_snap_op_t *op;
        double limit_ns;
    } *broke;
    size_t nbroke;
} bud_state_t;

/* "RiskAssessment 430us at +1.5us, Db 200us at +2us" for the samples that
 * ran directly inside, the longest first, at most 4 named. */
static void bud_inside(const qp_snap_slow_t *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    const qp_snap_span_t *v[4];
    size_t nv = 0;
    /* the longest four, longest first: insertion into a short sorted list */
    for (size_t k = 0; k < s->nchildren; k++) {
        const qp_snap_span_t *c = &s->children[k];
        size_t j = nv < 4 ? nv++ : 4;
        while (j > 0 && v[j - 1]->dur_ns < c->dur_ns) {
            if (j < 4)
                v[j] = v[j - 1];
            j--;
        }
        if (j < 4)
            v[j] = c;
    }
    for (size_t k = 0; k < nv && used < len; k++) {
        char d[32], off[32];
        int n = snprintf(buf + used, len - used, "%s%s.%s %s at +%s", k ? ", " : "", v[k]->set,
                         v[k]->op, qp_format_ns((double)v[k]->dur_ns, d, sizeof d),
                         qp_format_ns((double)v[k]->offset_ns, off, sizeof off));
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (s->nchildren > nv && used < len)
        snprintf(buf + used, len - used, " and %zu more", s->nchildren - nv);
}

/* Under the table: for each broken budget, the slowest sample over the
 * limit and what ran inside it (from the snapshot's "slowest"). */
static void bud_print_slowest(const bud_state_t *st)
{
    for (size_t i = 0; i < st->nbroke; i++) {
        const struct bud_broke *b = &st->broke[i];
        if (!b->op->nslowest)
            continue;
        const qp_snap_slow_t *s = &b->op->slowest[0];
        char d[32], self[32], when[48], inside[600];
        struct tm tm;
        time_t t = s->time >= 0 && s->time < 1e11 ? (time_t)s->time : 0;
        if (t && localtime_r(&t, &tm)) {   /* a hostile --input may hold any time */
            size_t wl = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            snprintf(when + wl, sizeof when - wl, ".%06ld",
                     (long)((s->time - floor(s->time)) * 1e6));
        } else {
            snprintf(when, sizeof when, "%.6g", s->time);
        }
        qp_format_ns((double)s->dur_ns, d, sizeof d);
        qp_format_ns((double)s->self_ns, self, sizeof self);
        printf("%s[%ld] %s.%s: the slowest %ssample took %s at %s (tid %ld)", b->p->name,
               b->p->pid, b->op->set, b->op->op,
               (double)s->dur_ns > b->limit_ns ? "breaching " : "", d, when, s->tid);
        if (s->nchildren) {
            bud_inside(s, inside, sizeof inside);
            printf("; inside it: %s; its own code %s\n", inside, self);
        } else {
            printf("; nothing instrumented ran inside it\n");
        }
    }
}

static void bud_row(bud_state_t *st, const qp_snap_proc_t *p, const qp_snap_op_t *op,
                    const qp_budget_rule_t *r, double actual, int broken)
{
    char pid[24], name[160], act[32], lim[32], diff[32], by[64], rule[320];
    double pct = (actual - r->limit_ns) / r->limit_ns * 100;
    snprintf(pid, sizeof pid, "%ld", p->pid);
    snprintf(name, sizeof name, "%s.%s", op->set, op->op);
    snprintf(by, sizeof by, "%s (%+.1f%%)",
             chk_format_diff(actual - r->limit_ns, diff, sizeof diff), pct);
    snprintf(rule, sizeof rule, "%s (line %d)", r->text, r->line);
    const char *cells[COLS] = {
        broken ? "BROKEN" : "ok", p->name, pid, name, qp_stat_name(r->stat),
        qp_format_ns(actual, act, sizeof act), qp_format_ns(r->limit_ns, lim, sizeof lim),
        by, rule,
    };
    if (!st->o->quiet || broken)
        chk_table_add(&st->table, cells);
    if (!st->results)
        return;
    json_t *res =
            json_pack("{s:s, s:s?, s:I, s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:b, s:I}",
                      "status", broken ? "broken" : "ok", "process", p->name,
                      "pid", (json_int_t)p->pid, "set", op->set, "op", op->op,
                      "stat", qp_stat_name(r->stat), "rule", r->text, "line", r->line,
                      "limit_ns", r->limit_ns, "actual_ns", actual, "over_pct", pct,
                      "broken", broken, "count", (json_int_t)op->count);
    if (res && broken && op->nslowest) {
        const qp_snap_slow_t *sl = &op->slowest[0];
        json_object_set_new(res, "slowest",
                            json_pack("{s:f, s:I, s:I, s:I, s:I}", "time", sl->time, "tid",
                                      (json_int_t)sl->tid, "dur_ns", (json_int_t)sl->dur_ns,
                                      "self_ns", (json_int_t)sl->self_ns, "children",
                                      (json_int_t)sl->nchildren));
    }
    json_array_append_new(st->results, res);
}

/* One pass over the snapshot: rows whose state is want_broken. */
static void bud_pass(bud_state_t *st, const qp_snapshot_t *s, int want_broken)
{
    const qp_budget_rule_t *m[QP_STAT_COUNT_];
    for (size_t i = 0; i < s->nprocs; i++) {
        const qp_snap_proc_t *p = &s->procs[i];
        for (size_t j = 0; j < p->nops; j++) {
            const qp_snap_op_t *op = &p->ops[j];
            if (!op->count)     /* no samples, no statistics to judge */
                continue;
            if (!qp_budgets_match(st->b, op->set, op->op, m))
                continue;
            for (int k = 0; k < QP_STAT_COUNT_; k++) {
                if (!m[k])
                    continue;
                double actual = qp_snap_op_stat(op, k);
                int broken = qp_budget_broken(m[k], actual);
                if (broken != want_broken)
                    continue;
                st->used[m[k] - st->b->rules] = 1;
                st->checked++;
                st->broken += (size_t)broken;
                bud_row(st, p, op, m[k], actual, broken);
                if (broken) {
                    struct bud_broke *nb = realloc(st->broke, (st->nbroke + 1) * sizeof *nb);
                    if (nb) {
                        st->broke = nb;
                        /* one line per op: the first (most telling) stat */
                        int seen = 0;
                        for (size_t q = 0; q < st->nbroke; q++)
                            seen |= nb[q].op == op;
                        if (!seen)
                            nb[st->nbroke++] = (struct bud_broke){ p, op, m[k]->limit_ns };
                    }
                }
            }
        }
    }
}

/* The rules that matched nothing: listed; under --strict they fail. */
static size_t bud_unmatched(bud_state_t *st, json_t *res)
{
    size_t n = 0;
    json_t *arr = res ? json_array() : NULL;
    for (size_t i = 0; i < st->b->nrules; i++) {
        if (st->used[i])
            continue;
        const qp_budget_rule_t *r = &st->b->rules[i];
        n++;
        if (!st->o->json)
            printf("%s: %s:%d: rule '%s' matched no operation in the snapshot\n",
                   st->o->strict ? "UNMATCHED" : "note", st->b->path, r->line, r->text);
        if (arr)
            json_array_append_new(arr, json_pack("{s:s, s:i}", "rule", r->text, "line",
                                                 r->line));
    }
    if (res)
        json_object_set_new(res, "unmatched", arr);
    return n;
}

static size_t count_ops(const qp_snapshot_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        n += s->procs[i].nops;
    return n;
}

int chk_budgets(const chk_opts_t *o, const qp_budgets_t *b, const qp_snapshot_t *snap,
                json_t *res)
{
    static const char *const head[COLS] = { "STATUS", "PROCESS", "PID", "OPERATION", "STAT",
                                            "ACTUAL", "LIMIT", "BY", "RULE" };
    bud_state_t st = { .o = o, .b = b, .used = calloc(b->nrules ? b->nrules : 1, 1),
                       .results = res ? json_array() : NULL };
    if (!st.used)
        return CHK_UNUSABLE;
    chk_table_init(&st.table, COLS);
    chk_table_add(&st.table, head);
    bud_pass(&st, snap, 1);
    bud_pass(&st, snap, 0);
    int rc = st.broken ? CHK_BROKEN : CHK_OK;
    if (!st.checked) {
        fprintf(stderr, "qpulse check: no operation in the snapshot has a budget in %s "
                        "(%zu processes, %zu operations): nothing was judged; are the set "
                        "and operation names right, and did the program run under qpulsed?\n",
                b->path, snap->nprocs, count_ops(snap));
        if (res)
            json_object_set_new(res, "error", json_string("no operation has a budget"));
        rc = CHK_UNUSABLE;
    } else if (!o->json && st.table.nrows > 1) {
        chk_table_print(&st.table, stdout);
        bud_print_slowest(&st);
    }
    /* With nothing judged every rule is unmatched: listing them is noise. */
    size_t unmatched = st.checked ? bud_unmatched(&st, res) : 0;
    if (rc == CHK_OK && unmatched && o->strict)
        rc = CHK_BROKEN;
    if (!o->json && st.checked)
        printf("qpulse check: %s: %zu of %zu budgets broken (%s, %zu rules%s)\n",
               rc == CHK_OK ? "ok" : "FAILED", st.broken, st.checked, b->path, b->nrules,
               unmatched && o->strict ? ", unmatched rules fail under --strict" : "");
    if (res) {
        json_object_set_new(res, "file", json_string(b->path));
        json_object_set_new(res, "rules", json_integer((json_int_t)b->nrules));
        json_object_set_new(res, "checked", json_integer((json_int_t)st.checked));
        json_object_set_new(res, "broken", json_integer((json_int_t)st.broken));
        json_object_set_new(res, "results", st.results);
    }
    chk_table_free(&st.table);
    free(st.used);
    free(st.broke);
    return rc;
}
