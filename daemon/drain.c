/*
 * drain.c — draining the segments: each sample is filed under its
 * process's operation, in the second it started (agg.c), offered to the
 * flight recorder and the slowest samples; a producer that exited or died
 * is drained to the end before its segment is removed.
 *
 * With --threads N the drain is spread over N threads, fork-join: at each
 * drain the main thread wakes the N - 1 others, each drains its shard of
 * the processes (those whose hid % N is its number: a process always goes
 * to the same thread, and its samples to that thread's lane of the
 * recorder), and the main thread waits for all of them before anything
 * else runs - closing segments, the second tick, the clients, rendering -
 * so nothing reads the statistics while a thread writes them.  What a
 * thread shares with the others (the samples counted, the ring fill, the
 * processes to close) is kept per thread or per process and gathered by
 * the main thread after the join.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "common.h"
#include "history.h"
#include "log.h"
#include "procs.h"
#include "qpulsed.h"
#include "slowest.h"

#define DRAIN_MAX (1u << 20)      /* samples per reader per call */
#define DRAIN_ROUNDS 4            /* calls per tick: bounded even if a
                                     producer writes as fast as we read */

/* One drain thread's state; drainers[0] is the main thread's, which also
 * drains alone (a single thread, attaching, exits found by the second
 * tick, shutdown) while the others wait. */
struct drainer {
    int64_t cur_sec;              /* the daemon's second at this drain */
    /* The last second a sample was filed under, and the span of start
     * times that map to it: a division per sample only when the second
     * changes. */
    uint64_t sec_lo, sec_hi;
    int64_t sec_val;
    unsigned sec_idx;             /* sec_val % agg_slots */
    unsigned lane;                /* the recorder lane of p */
    struct proc *p;               /* the process being drained */
    uint64_t aggregated;          /* samples aggregated, not yet in qpd */
    double worst;                 /* the highest ring fill seen */
    unsigned k;                   /* its shard: the processes of hid % n == k */
    pthread_t th;
} __attribute__((aligned(64)));

static struct drainer drainers[DRAIN_THREADS_MAX];
static unsigned ndrain = 1;

/* Fork-join: the main thread bumps gen and wakes the others, drains its own
 * shard, and waits until `left` is 0. */
static pthread_mutex_t fj_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fj_go = PTHREAD_COND_INITIALIZER, fj_done = PTHREAD_COND_INITIALIZER;
static uint64_t fj_gen;
static unsigned fj_left;
static int fj_quit;

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
static void set_cur_sec(struct drainer *d, int64_t now_sec)
{
    d->cur_sec = now_sec;
    d->sec_lo = 1;
    d->sec_hi = 0;
}

/* The window second of a sample that started at monotonic ns `start`: its
 * own second, never later than now (a producer's clock cannot run ahead of
 * ours; a hostile one's may); INT64_MIN when it is older than the window's
 * ring holds, so it counts since start only. */
static int64_t sample_sec_slow(struct drainer *d, uint64_t start)
{
    const int64_t cur_sec = d->cur_sec;
    int64_t s = start / 1000000000u > (uint64_t)cur_sec ? cur_sec
                                                         : (int64_t)(start / 1000000000u);
    int64_t v = s <= cur_sec - (int64_t)agg_slots ? INT64_MIN : s;
    if (s < cur_sec || start / 1000000000u == (uint64_t)cur_sec) {
        d->sec_lo = (uint64_t)s * 1000000000u;
        d->sec_hi = d->sec_lo + 1000000000u;
        d->sec_val = v;
        d->sec_idx = v == INT64_MIN ? 0 : (unsigned)((uint64_t)v % agg_slots);
    }
    return v;
}

static inline int64_t sample_sec(struct drainer *d, uint64_t start)
{
    if (__builtin_expect(start >= d->sec_lo && start < d->sec_hi, 1))
        return d->sec_val;
    return sample_sec_slow(d, start);
}

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    struct drainer *d = ctx;
    struct proc *p = d->p;
    const int rec = hist_ring.cap != 0;
    uint64_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        const qp_event_t *e = &ev[i];
        struct agg_op *o = proc_op(p, e->op);
        const int64_t sec = sample_sec(d, e->start_ns);
        if (__builtin_expect(!o || agg_add(o, sec, e->dur_ns, e->self_ns) < 0, 0)) {
            p->lost++;
            continue;
        }
        ok++;
        uint64_t hidx = 0;
        if (rec) {
            hidx = history_add_lane(d->lane, e->start_ns, e->dur_ns, e->self_ns, e->tid, e->op, e->parent,
                               p->hid);
            const struct hist_rec hr = { e->start_ns, e->dur_ns, e->self_ns, e->tid,
                                         e->op, e->parent, p->hid };
            history_keep(&p->tails, &hr, hidx);
        }
        const unsigned idx = sec == d->sec_val ? d->sec_idx
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
    d->aggregated += ok;
}

/* Drains p with d, at most `rounds` x DRAIN_MAX samples; the ring fill
 * seen before draining goes to *fill.  0, or -errno when the segment
 * turned out unreadable.  Touches p and d only: any drain thread. */
static long drain_rounds(struct drainer *d, struct proc *p, unsigned long rounds, double *fill)
{
    *fill = qp_reader_max_fill(p->r);
    set_cur_sec(d, mono_ns() / 1000000000);
    d->p = p;
    d->lane = hist_ring.nlanes > 1 ? p->hid % hist_ring.nlanes : 0;
    for (unsigned long round = 0; round < rounds; round++) {
        long n = qp_reader_drain(p->r, on_events, d, DRAIN_MAX);
        if (n < 0)
            return n;
        if ((size_t)n < DRAIN_MAX)
            break;
    }
    proc_update_dropped(p);
    return 0;
}

/* p's segment became unreadable (err): it is closed and skipped. */
static void drain_failed(struct proc *p, long err)
{
    log_warn("segment %s (pid %ld) became unreadable (%s); skipping it", p->shm_name,
             (long)p->pid, strerror((int)-err));
    char why[200];
    snprintf(why, sizeof why, "became unreadable: %s", strerror((int)-err));
    skip_add(p->shm_name + 1, why, (int)err);
    proc_close(p, 0);
}

/* Drains p on the main thread (the others idle), at most `rounds` x
 * DRAIN_MAX samples.  Returns the ring fill seen before draining, or -1
 * when the segment turned out unreadable (then it is closed and skipped). */
static double proc_drain_n(struct proc *p, unsigned long rounds)
{
    if (!p->r)
        return 0;
    struct drainer *d = &drainers[0];
    double fill;
    long n = drain_rounds(d, p, rounds, &fill);
    qpd.aggregated += d->aggregated;
    d->aggregated = 0;
    if (n < 0) {
        drain_failed(p, n);
        return -1;
    }
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

/* p's producer is gone and p drained to the end: log it, remove the
 * segment. */
static void finish_close(struct proc *p, const char *why)
{
    uint64_t count = 0;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i])
            count += p->ops[i]->cum.h.count;
    log_info("process %s[%ld] %s; %llu samples, %llu dropped", p->name, (long)p->pid, why,
             (unsigned long long)count, (unsigned long long)(p->dropped_last - p->dropped_base));
    proc_close(p, 1);
}

/* The producer exited or died: drain what is left and remove the segment. */
void proc_finish(struct proc *p, const char *why)
{
    if (!p->r || proc_drain_n(p, rounds_to_empty(p)) < 0)
        return;
    finish_close(p, why);
}

/* ---------------------------------------------------------------------- */
/* Draining and housekeeping                                               */
/* ---------------------------------------------------------------------- */

/* Drains d's shard: the open processes of hid % n == d->k (every one with
 * n == 1).  A process found EXITED is drained to the end (that drain then
 * gets everything); closing it, and one that turned unreadable, is left
 * to the main thread (drain_settle).  Touches only the shard's processes,
 * their lane of the recorder and d. */
static void drain_shard(struct drainer *d, unsigned n)
{
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r || (n > 1 && p->hid % n != d->k))
            continue;
        p->drain_exited = qp_reader_exited(p->r) != 0;
        double f;
        p->drain_err = drain_rounds(d, p, p->drain_exited ? rounds_to_empty(p) : DRAIN_ROUNDS, &f);
        if (!p->drain_err && !p->drain_exited && f > d->worst)
            d->worst = f;
    }
}

static void *drain_thread(void *arg)
{
    struct drainer *d = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&fj_lock);
    for (;;) {
        while (fj_gen == seen && !fj_quit)
            pthread_cond_wait(&fj_go, &fj_lock);
        if (fj_quit)
            break;
        seen = fj_gen;
        pthread_mutex_unlock(&fj_lock);
        drain_shard(d, ndrain);
        pthread_mutex_lock(&fj_lock);
        if (--fj_left == 0)
            pthread_cond_signal(&fj_done);
    }
    pthread_mutex_unlock(&fj_lock);
    return NULL;
}

int drain_start(unsigned n)
{
    if (n < 1)
        n = 1;
    if (n > DRAIN_THREADS_MAX)
        n = DRAIN_THREADS_MAX;
    for (unsigned k = 0; k < n; k++)
        drainers[k].k = k;
    ndrain = 1;
    for (unsigned k = 1; k < n; k++) {
        int e = pthread_create(&drainers[k].th, NULL, drain_thread, &drainers[k]);
        if (e) {
            log_err("cannot start drain thread %u: %s", k, strerror(e));
            drain_stop();
            return -e;
        }
        ndrain = k + 1;
    }
    ndrain = n;
    if (n > 1)
        log_info("%u drain threads", n);
    return 0;
}

void drain_stop(void)
{
    pthread_mutex_lock(&fj_lock);
    fj_quit = 1;
    pthread_cond_broadcast(&fj_go);
    pthread_mutex_unlock(&fj_lock);
    for (unsigned k = 1; k < ndrain; k++)
        pthread_join(drainers[k].th, NULL);
    ndrain = 1;
    fj_quit = 0;
}

double procs_drain_all(void)
{
    unsigned open = 0;
    for (struct proc *p = qpd.procs; p && open < 2; p = p->next)
        open += p->r != NULL;
    if (ndrain > 1 && open > 1) {
        /* Fork-join: each thread its shard, nothing else runs meanwhile. */
        pthread_mutex_lock(&fj_lock);
        fj_left = ndrain - 1;
        fj_gen++;
        pthread_cond_broadcast(&fj_go);
        pthread_mutex_unlock(&fj_lock);
        drain_shard(&drainers[0], ndrain);
        pthread_mutex_lock(&fj_lock);
        while (fj_left)
            pthread_cond_wait(&fj_done, &fj_lock);
        pthread_mutex_unlock(&fj_lock);
    } else {
        drain_shard(&drainers[0], 1);
    }
    double worst = 0;
    for (unsigned k = 0; k < ndrain; k++) {
        struct drainer *d = &drainers[k];
        qpd.aggregated += d->aggregated;
        d->aggregated = 0;
        if (d->worst > worst)
            worst = d->worst;
        d->worst = 0;
    }
    /* What the threads left to the main thread. */
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r)
            continue;
        if (p->drain_err)
            drain_failed(p, p->drain_err);
        else if (p->drain_exited)
            finish_close(p, "exited");
        p->drain_err = 0;
        p->drain_exited = 0;
    }
    return worst;
}

void procs_shutdown(void)
{
    /* Tell the producers first that nobody will drain them any more, then
     * drain: a producer exiting from now on removes its own segment, and
     * one that exited before is seen EXITED below and removed by us (both
     * sides seq_cst: qp_reader_set_daemon, qp_reader_exited). */
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->r)
            (void)qp_reader_set_daemon(p->r, 0);   /* -EFAULT: the drain below sees it */
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

