/*
 * tick.c — the daemon's second: /proc statistics of the live processes,
 * deaths, forgetting and compacting exited ones, settling late seconds,
 * the previous window's p99 and the budgets, and the samples/s rate.
 */
#include "config.h"

#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common.h"
#include "log.h"
#include "procs.h"
#include "qpulsed.h"

/* Once a window: remember each op's p99 as the "previous window" one, and
 * (every second) check the budgets against the window. */
static void window_tick(struct proc *p, int64_t sec, int roll)
{
    for (uint32_t i = 0; i < p->nops; i++) {
        struct agg_op *o = p->ops[i];
        if (o && !o->win && roll)
            o->p99_prev = 0;   /* nothing in the window (compacted, or never) */
        if (!o || (!roll && !o->rules_matched) || !o->win)
            continue;
        struct agg_stats w;
        agg_window(o, sec, &w);
        if (roll)
            o->p99_prev = hist_percentile(&w.h, 99.0);
        if (o->rules_matched)
            budgets_check(p, o, &w, sec);
        agg_stats_free(&w);
    }
}

void procs_tick_second(void)
{
    int64_t now = mono_ns();
    int64_t sec = now / 1000000000;
    /* The window [sec - W, sec - 1] is complete when second sec begins. */
    int roll = sec % qpd.cfg.window == 0;
    int freed = 0;
    retain_cap();
    struct proc **pp = &qpd.procs;
    while (*pp) {
        struct proc *p = *pp;
        if (p->r) {
            if (!qp_proc_alive(p->pid, p->start_time))
                proc_finish(p, "died");
            else {
                p->uid = access_proc_uid(qp_reader_info(p->r));   /* setuid() */
                p->threads = qp_reader_threads(p->r);
                proc_usage(p, now);
            }
        }
        if (proc_exited(p) && (p->exit_mono == INT64_MIN ||
                               now - p->exit_mono > (int64_t)qpd.cfg.retain * 1000000000)) {
            log_debug("forgetting %s[%ld]", p->name, (long)p->pid);
            qpd.dropped_gone += p->dropped_last - p->dropped_base;
            *pp = p->next;
            qpd.nprocs--;
            proc_free(p);
            freed = 1;
            continue;
        }
        /* Its samples are all of its exit second or earlier: once the
         * window and the p99 of the previous window (window_tick) have
         * passed that second, nothing but the cumulative statistics can
         * show them. */
        if (proc_exited(p) && !p->compacted &&
            sec > p->exit_mono / 1000000000 + (int64_t)qpd.cfg.window + 1) {
            proc_compact(pp);
            p = *pp;
            freed = 1;
        }
        for (uint32_t i = 0; i < p->nops; i++)
            if (p->ops[i])
                agg_settle(p->ops[i]);
        window_tick(p, roll ? sec - 1 : sec, roll);
        pp = &p->next;
    }
#ifdef __GLIBC__
    /* What compaction freed lies between live allocations: hand the free
     * pages back once a burst of exits is over (or every 10 s in a long
     * one). */
    static int64_t trimmed;
    static int trim_due;
    trim_due |= freed;
    if (trim_due && (!freed || now - trimmed >= 10ll * 1000000000)) {
        malloc_trim(0);
        trimmed = now;
        trim_due = 0;
    }
#endif
    if (now > qpd.rate_mono) {
        if (qpd.rate_mono)
            qpd.samples_per_s = (double)(qpd.aggregated - qpd.rate_base) /
                                ((double)(now - qpd.rate_mono) / 1e9);
        qpd.rate_base = qpd.aggregated;
        qpd.rate_mono = now;
    }
}

