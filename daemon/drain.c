/*
 * drain.c — draining the segments: each sample is filed under its
 * process's operation, in the second it started (agg.c), offered to the
 * flight recorder and the slowest samples; a producer that exited or died
 * is drained to the end before its segment is removed.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "history.h"
#include "log.h"
#include "procs.h"
#include "qpulsed.h"
#include "slowest.h"

#define DRAIN_MAX (1u << 20)      /* samples per reader per call */
#define DRAIN_ROUNDS 4            /* calls per tick: bounded even if a
                                     producer writes as fast as we read */

static int64_t cur_sec;           /* the daemon's second at this drain */
/* The last second a sample was filed under, and the span of start times
 * that map to it: a division per sample only when the second changes. */
static uint64_t sec_lo = 1, sec_hi = 0;
static int64_t sec_val;
static unsigned sec_idx;          /* sec_val % agg_slots */

/* ---------------------------------------------------------------------- */
/* Aggregation (the drain callback)                                        */
/* ---------------------------------------------------------------------- */

/* The statistics of op idx of p, created on first use. */
struct agg_op *proc_op(struct proc *p, uint32_t idx)
{
    if (__builtin_expect(idx < p->nops && p->ops[idx] != NULL, 1))
        return p->ops[idx];
    if (!p->r)
        return NULL;
    if (idx >= p->nops) {
        uint32_t n = qp_reader_nops(p->r);
        if (idx >= n)
            return NULL;
        struct agg_op **v = realloc(p->ops, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + p->nops, 0, (n - p->nops) * sizeof *v);
        p->ops = v;
        p->nops = n;
    }
    const qp_op_info_t *info = qp_reader_op(p->r, idx);
    if (!info)
        return NULL;
    struct agg_op *o = agg_op_new(info);
    if (o && qpd.budgets)
        budgets_match(o);
    p->ops[idx] = o;
    return o;
}

/* The drain starts: samples are filed relative to second now_sec. */
static void set_cur_sec(int64_t now_sec)
{
    cur_sec = now_sec;
    sec_lo = 1;
    sec_hi = 0;
}

/* The window second of a sample that started at monotonic ns `start`: its
 * own second, never later than now (a producer's clock cannot run ahead of
 * ours; a hostile one's may); INT64_MIN when it is older than the window's
 * ring holds, so it counts since start only. */
static int64_t sample_sec_slow(uint64_t start)
{
    int64_t s = start / 1000000000u > (uint64_t)cur_sec ? cur_sec
                                                         : (int64_t)(start / 1000000000u);
    int64_t v = s <= cur_sec - (int64_t)agg_slots ? INT64_MIN : s;
    if (s < cur_sec || start / 1000000000u == (uint64_t)cur_sec) {
        sec_lo = (uint64_t)s * 1000000000u;
        sec_hi = sec_lo + 1000000000u;
        sec_val = v;
        sec_idx = v == INT64_MIN ? 0 : (unsigned)((uint64_t)v % agg_slots);
    }
    return v;
}

static inline int64_t sample_sec(uint64_t start)
{
    if (__builtin_expect(start >= sec_lo && start < sec_hi, 1))
        return sec_val;
    return sample_sec_slow(start);
}

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    struct proc *p = ctx;
    const int rec = hist_ring.cap != 0;
    uint64_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        const qp_event_t *e = &ev[i];
        struct agg_op *o = proc_op(p, e->op);
        const int64_t sec = sample_sec(e->start_ns);
        if (__builtin_expect(!o || agg_add(o, sec, e->dur_ns, e->self_ns) < 0, 0)) {
            p->lost++;
            continue;
        }
        ok++;
        uint64_t hidx = 0;
        if (rec) {
            hidx = history_add(e->start_ns, e->dur_ns, e->self_ns, e->tid, e->op, e->parent,
                               p->hid);
            const struct hist_rec hr = { e->start_ns, e->dur_ns, e->self_ns, e->tid,
                                         e->op, e->parent, p->hid };
            history_keep(&p->tails, &hr, hidx);
        }
        const unsigned idx = sec == sec_val ? sec_idx
                             : sec == INT64_MIN ? 0 : (unsigned)((uint64_t)sec % agg_slots);
        if (__builtin_expect(slowest_wants(o, sec, idx, e->dur_ns), 0))
            slowest_offer(o, sec, rec ? hidx : UINT64_MAX, e->start_ns, e->dur_ns, e->self_ns,
                          e->tid, p->hid);
        if (e->parent) {
            struct agg_op *po = proc_op(p, e->parent - 1);
            if (po)
                agg_add_child(po, sec, e->op, e->dur_ns);
        }
    }
    qpd.aggregated += ok;
}

/* Drains p, at most `rounds` x DRAIN_MAX samples.  Returns the ring fill
 * seen before draining, or -1 when the segment turned out unreadable (then
 * it is closed and skipped). */
static double proc_drain_n(struct proc *p, unsigned long rounds)
{
    if (!p->r)
        return 0;
    double fill = qp_reader_max_fill(p->r);
    set_cur_sec(mono_ns() / 1000000000);
    for (unsigned long round = 0; round < rounds; round++) {
        long n = qp_reader_drain(p->r, on_events, p, DRAIN_MAX);
        if (n < 0) {
            log_warn("segment %s (pid %ld) became unreadable (%s); skipping it", p->shm_name,
                     (long)p->pid, strerror((int)-n));
            char why[200];
            snprintf(why, sizeof why, "became unreadable: %s", strerror((int)-n));
            skip_add(p->shm_name + 1, why, (int)n);
            proc_close(p, 0);
            return -1;
        }
        if ((size_t)n < DRAIN_MAX)
            break;
    }
    proc_update_dropped(p);
    return fill;
}

double proc_drain(struct proc *p)
{
    return proc_drain_n(p, DRAIN_ROUNDS);
}

/* Enough rounds to empty every ring of p once: a producer that is gone
 * adds nothing, so this drains all it left (and stays bounded even if a
 * hostile one keeps writing). */
static unsigned long rounds_to_empty(const struct proc *p)
{
    const qp_proc_info_t *in = qp_reader_info(p->r);
    return (unsigned long)((uint64_t)in->slot_count * in->ring_records / DRAIN_MAX) + 2;
}

/* The producer exited or died: drain what is left and remove the segment. */
void proc_finish(struct proc *p, const char *why)
{
    if (!p->r || proc_drain_n(p, rounds_to_empty(p)) < 0)
        return;
    uint64_t count = 0;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i])
            count += p->ops[i]->cum.h.count;
    log_info("process %s[%ld] %s; %llu samples, %llu dropped", p->name, (long)p->pid, why,
             (unsigned long long)count, (unsigned long long)(p->dropped_last - p->dropped_base));
    proc_close(p, 1);
}

/* ---------------------------------------------------------------------- */
/* Draining and housekeeping                                               */
/* ---------------------------------------------------------------------- */

double procs_drain_all(void)
{
    double worst = 0;
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r)
            continue;
        /* EXITED before the drain: that drain then gets everything. */
        if (qp_reader_exited(p->r)) {
            proc_finish(p, "exited");
            continue;
        }
        double f = proc_drain(p);
        if (f > worst)
            worst = f;
    }
    return worst;
}

void procs_shutdown(void)
{
    /* Tell the producers first that nobody will drain them any more, then
     * drain: a producer exiting from now on removes its own segment, and
     * one that exited before is seen EXITED below and removed by us.  The
     * fence orders our stores before the loads of the exit state (the
     * producer stores EXITED before it reads daemon_pid). */
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->r)
            (void)qp_reader_set_daemon(p->r, 0);   /* -EFAULT: the drain below sees it */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    procs_retry_pending();
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r)
            continue;
        int gone = qp_reader_exited(p->r) || !qp_proc_alive(p->pid, p->start_time);
        if (gone)
            proc_finish(p, "exited");
        else
            proc_drain(p);
    }
}

