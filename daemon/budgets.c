/*
 * budgets.c — qpulsed --budgets: which rules apply to each operation, their
 * state in the live window (evaluated once a tick, kept in the op for the
 * log and the views), and one log line when a breach starts and one when it
 * clears (per process x operation x stat), not one per tick.
 */
#include "config.h"

#include "common.h"
#include "log.h"
#include "qpulsed.h"
#include "slowest.h"

void budgets_match(struct agg_op *o)
{
    if (!qpd.budgets)
        return;
    o->rules_matched = qp_budgets_match(qpd.budgets, o->set, o->name, o->rules) > 0;
}

/* The value of a stat in st (ns). */
static double stat_value(const struct agg_stats *st, qp_stat_t stat)
{
    double pct = qp_stat_percentile(stat);
    if (pct < 0)
        return stat == QP_STAT_MEAN ? agg_mean(st) : 0.0;
    return pct >= 100 ? (double)hist_max(&st->h) : (double)hist_percentile(&st->h, pct);
}

unsigned budgets_states(const struct agg_op *o, const struct agg_stats *st,
                        struct budget_state out[QP_STAT_COUNT_])
{
    unsigned n = 0;
    for (int s = 0; s < QP_STAT_COUNT_; s++) {
        const qp_budget_rule_t *r = o->rules[s];
        if (!r)
            continue;
        struct budget_state *b = &out[n++];
        b->rule = r;
        if (st) {
            b->actual = stat_value(st, r->stat);
            b->broken = st->h.count > 0 && qp_budget_broken(r, b->actual);
        } else {
            b->actual = o->budget_actual[s];
            b->broken = o->broken[s];
        }
    }
    return n;
}

void budgets_check(const struct proc *p, struct agg_op *o, const struct agg_stats *st,
                   int64_t sec)
{
    struct budget_state bs[QP_STAT_COUNT_];
    unsigned n = budgets_states(o, st, bs);
    for (unsigned k = 0; k < n; k++) {
        const qp_budget_rule_t *r = bs[k].rule;
        const qp_stat_t s = r->stat;
        const double actual = bs[k].actual;
        const int broken = bs[k].broken;
        o->budget_actual[s] = actual;
        if (broken == o->broken[s])
            continue;
        o->broken[s] = (uint8_t)broken;
        char a[32], l[32];
        qp_format_ns(actual, a, sizeof a);
        qp_format_ns(r->limit_ns, l, sizeof l);
        if (broken) {
            log_warn("budget broken: %s[%ld] %s.%s %s = %s, limit %s (%s:%d: %s)", p->name,
                     (long)p->pid, o->set, o->name, qp_stat_name(s), a, l,
                     qpd.budgets->path, r->line, r->text);
            uint64_t dur;
            int32_t tid;
            double at;
            if (slowest_recent(o, sec, &dur, &tid, &at)) {
                char d[32];
                qp_format_ns((double)dur, d, sizeof d);
                log_warn("  slowest sample of %s.%s in the window: %s, tid %ld, at %.6f", o->set,
                         o->name, d, (long)tid, at);
            }
            trace_breach(p, o, r);
        } else
            log_notice("budget holds again: %s[%ld] %s.%s %s = %s, limit %s (%s)", p->name,
                       (long)p->pid, o->set, o->name, qp_stat_name(s), a, l,
                       r->text);
    }
}
