/*
 * procs.c — the process table: a process attached (proc_new), its drops,
 * its segment closed (what happens when a producer exits or dies: final
 * drain in drain.c, mark not alive, keep the statistics --retain seconds,
 * remove the segment), forgotten, or reset.
 *
 * An exited process is compacted once the live window has passed its
 * last second (proc_compact()): only what the cumulative statistics need
 * stays, a few KiB a process.  At most --retain-max exited processes are
 * kept; past that the ones that exited first are forgotten first.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"
#include "history.h"
#include "log.h"
#include "procs.h"
#include "qpulsed.h"
#include "slowest.h"

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* Reads the drops per operation of p (open): the producer counts each
 * one there before its process-wide counter, so they are read again only
 * when that counter moved, and once more at the end (all). */
static void proc_update_op_dropped(struct proc *p, uint64_t producer_dropped, int all)
{
    if ((!all && producer_dropped == p->op_drop_seen) || (!producer_dropped && !p->nop_drop))
        return;
    uint32_t n = qp_reader_nops(p->r);
    if (n > p->nop_drop) {
        uint64_t *v = realloc(p->op_drop, n * sizeof *v);
        if (!v)
            return;
        p->op_drop = v;
        uint64_t *b = realloc(p->op_drop_base, n * sizeof *b);
        if (!b)
            return;
        p->op_drop_base = b;
        memset(v + p->nop_drop, 0, (n - p->nop_drop) * sizeof *v);
        memset(b + p->nop_drop, 0, (n - p->nop_drop) * sizeof *b);
        p->nop_drop = n;
    }
    if (qp_reader_op_dropped(p->r, p->op_drop, p->nop_drop) < 0)
        return;
    p->op_drop_seen = producer_dropped;
    /* An operation whose samples were all dropped is listed too. */
    for (uint32_t i = 0; i < p->nop_drop; i++)
        if (p->op_drop[i] > p->op_drop_base[i] && (i >= p->nops || !p->ops[i]))
            (void)proc_op(p, i);
}

void proc_update_dropped_(struct proc *p, int all)
{
    if (p->r) {
        uint64_t d = qp_reader_dropped(p->r);
        p->dropped_last = d + qp_reader_invalid(p->r) + p->lost + p->dropped_prev;
        proc_update_op_dropped(p, d, all);
    } else
        p->dropped_last = p->dropped_last > p->lost ? p->dropped_last : p->lost;
}

void proc_update_dropped(struct proc *p)
{
    proc_update_dropped_(p, 0);
}

/* Closes p's segment: it is skipped (bad) or, with unlink, removed. */
void proc_close(struct proc *p, int unlink_it)
{
    if (!p->r)
        return;
    proc_update_dropped_(p, 1);
    qp_reader_close(p->r);
    p->r = NULL;
    qpd.nopen--;
    if (unlink_it && shm_unlink(p->shm_name) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", p->shm_name, strerror(errno));
    p->alive = 0;
    p->exited_at = real_s();
    p->exit_mono = mono_ns();
    p->cpu_pct = -1;
    p->threads = 0;
}

struct proc *proc_find_open(const char *shm_name)
{
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->r && !strcmp(p->shm_name, shm_name))
            return p;
    return NULL;
}

_Static_assert(sizeof((struct proc *)0)->cmdline >= sizeof((qp_proc_info_t *)0)->cmdline,
               "a segment's command line fits the process's");

struct proc *proc_new(qp_reader_t *r)
{
    struct proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    const qp_proc_info_t *in = qp_reader_info(r);
    p->r = r;
    snprintf(p->shm_name, sizeof p->shm_name, "%s", in->shm_name);
    snprintf(p->name, sizeof p->name, "%s", in->name);
    p->pid = in->pid;
    p->uid = access_proc_uid(in);
    p->start_time = in->start_time;
    p->alive = 1;
    p->started_at = (double)in->created_realtime_ns / 1e9;
    p->seen_mono = mono_ns();
    p->cpu_pct = -1;
    p->hid = ++qpd.next_hid;
    /* The command line the process recorded at its start, then, while it
     * is still that process (not a reused pid), the one it shows now. */
    memcpy(p->cmdline, in->cmdline, in->cmdline_len);
    p->cmdline_len = in->cmdline_len;
    if (qp_proc_alive(p->pid, p->start_time))
        proc_cmdline(p);
    qpd.nopen++;
    qpd.drain_now = 1;   /* its ring may be filling fast already */
    p->next = qpd.procs;
    qpd.procs = p;
    qpd.nprocs++;
    return p;
}

/* The blocks of compacted processes come from arenas of their own,
 * filled in turn: processes are compacted and forgotten in about the order
 * they exited, so an arena empties as a whole and goes back to the system,
 * and a retained process costs its block and no fragmentation of the
 * heap it lived in. */
#define ARENA_BYTES (256u << 10)

struct arena {
    size_t used, cap;             /* bytes of data */
    unsigned live;                /* blocks not freed */
    unsigned reserved;
    char data[];
};

static struct arena *arena_cur;

static void *block_alloc(size_t n)
{
    n = ALIGN8(n + sizeof(struct arena *));
    struct arena *a = arena_cur;
    if (!a || a->cap - a->used < n) {
        size_t bytes = sizeof *a + (n > ARENA_BYTES - sizeof *a ? n : ARENA_BYTES - sizeof *a);
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        a = m;
        a->used = 0;
        a->cap = bytes - sizeof *a;
        a->live = 0;
        if (arena_cur && !arena_cur->live)
            munmap(arena_cur, sizeof *arena_cur + arena_cur->cap);
        arena_cur = a;
    }
    char *b = a->data + a->used;
    a->used += n;
    a->live++;
    *(struct arena **)(void *)b = a;
    return b + sizeof(struct arena *);
}

static void block_free(void *p)
{
    struct arena *a = *(struct arena **)(void *)((char *)p - sizeof(struct arena *));
    if (--a->live)
        return;
    if (a == arena_cur)
        a->used = 0;   /* empty: filled again from the start */
    else
        munmap(a, sizeof *a + a->cap);
}

void proc_free(struct proc *p)
{
    if (p->r) {
        qp_reader_close(p->r);
        qpd.nopen--;
    }
    for (uint32_t i = 0; i < p->nops; i++)
        agg_op_free(p->ops[i]);
    history_tails_free(&p->tails);
    free(p->op_drop);          /* never packed: few processes drop */
    free(p->op_drop_base);
    if (p->compacted != 2) {   /* else all is in p's block */
        free(p->ops);
        free(p);
    } else {
        block_free(p);
    }
    qpd.proc_gen++;
}

/* Bytes the statistics of p hold, its structure included. */
static size_t proc_memory(const struct proc *p)
{
    size_t b = sizeof *p + p->nops * sizeof *p->ops;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i])
            b += agg_op_memory(p->ops[i]);
    return b;
}

/* *pp has exited and the window has passed its last second: keep only
 * what the cumulative statistics need (agg_op_compact()), and move it all
 * - the process, its op table, ops, names, histograms, children and
 * slowest samples - into one allocation.  Its old pieces lay among those
 * of the processes that ran beside it; freed together, whole pages come
 * free, and a process forgotten later frees one block. */
void proc_compact(struct proc **pp)
{
    struct proc *p = *pp;
    size_t before = proc_memory(p);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i]) {
            agg_op_compact(p->ops[i]);
            n = i + 1;
        }
    p->compacted = 1;
    size_t size = ALIGN8(sizeof *p) + ALIGN8(n * sizeof *p->ops);
    for (uint32_t i = 0; i < n; i++)
        if (p->ops[i])
            size += agg_op_pack_size(p->ops[i]);
    char *block = block_alloc(size), *cur = block;
    if (!block)
        return;   /* compacted, in its pieces */
    struct proc *d = (struct proc *)(void *)cur;
    cur += ALIGN8(sizeof *d);
    *d = *p;
    d->compacted = 2;
    /* The op table as far as the last op with samples: nothing of the
     * segment is added any more. */
    d->nops = n;
    d->ops = n ? (struct agg_op **)(void *)cur : NULL;
    cur += ALIGN8(n * sizeof *p->ops);
    for (uint32_t i = 0; i < n; i++) {
        d->ops[i] = p->ops[i] ? agg_op_pack(p->ops[i], &cur) : NULL;
        agg_op_free(p->ops[i]);
    }
    free(p->ops);
    free(p);
    *pp = d;
    qpd.proc_gen++;   /* p is gone */
    log_debug("compacted %s[%ld]: %zu bytes in one block, %zu before", d->name, (long)d->pid,
              size, before);
}

/* Whether p is an exited process that may be forgotten or compacted (not
 * a saved one still waiting for its segment). */
int proc_exited(const struct proc *p)
{
    return !p->r && !p->saved;
}

static int exit_cmp(const void *a, const void *b)
{
    const struct proc *x = *(const struct proc *const *)a, *y = *(const struct proc *const *)b;
    return QP_CMP(x->exit_mono, y->exit_mono);
}

/* More than --retain-max exited processes: marks the ones that exited
 * first for forgetting (exit_mono = INT64_MIN). */
void retain_cap(void)
{
    unsigned n = 0;
    for (struct proc *p = qpd.procs; p; p = p->next)
        n += proc_exited(p);
    if (n <= qpd.cfg.retain_max)
        return;
    struct proc **v = malloc(n * sizeof *v);
    if (!v)
        return;   /* the next second tries again */
    unsigned k = 0;
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (proc_exited(p))
            v[k++] = p;
    qsort(v, n, sizeof *v, exit_cmp);
    unsigned excess = n - qpd.cfg.retain_max;
    for (unsigned i = 0; i < excess; i++)
        v[i]->exit_mono = INT64_MIN;
    free(v);
    qpd.forgotten += excess;
    /* Logged at most once a minute, with the count so far. */
    static int64_t logged;
    static uint64_t logged_n;
    int64_t now = mono_ns();
    if (!logged || now - logged >= 60ll * 1000000000) {
        log_notice("--retain-max %u: forgot %llu exited processes before their --retain "
                   "time (%llu in all)",
                   qpd.cfg.retain_max, (unsigned long long)(qpd.forgotten - logged_n),
                   (unsigned long long)qpd.forgotten);
        logged = now;
        logged_n = qpd.forgotten;
    }
}

void procs_fini(void)
{
    while (qpd.procs) {
        struct proc *p = qpd.procs;
        qpd.procs = p->next;
        proc_free(p);
    }
    qpd.nprocs = 0;
    discover_fini();
    if (arena_cur)
        munmap(arena_cur, sizeof *arena_cur + arena_cur->cap);
    arena_cur = NULL;
}

void procs_reset(void)
{
    int64_t now = mono_ns();
    struct proc **pp = &qpd.procs;
    while (*pp) {
        struct proc *p = *pp;
        if (!access_visible(p)) {   /* system mode: another user's */
            pp = &p->next;
            continue;
        }
        if (!p->r) {   /* nothing left to show of an exited process */
            *pp = p->next;
            qpd.nprocs--;
            proc_free(p);
            continue;
        }
        proc_update_dropped_(p, 1);
        p->dropped_base = p->dropped_last;
        if (p->nop_drop)
            memcpy(p->op_drop_base, p->op_drop, p->nop_drop * sizeof *p->op_drop);
        p->lost_prev = 0;
        p->seen_mono = now;
        for (uint32_t i = 0; i < p->nops; i++)
            if (p->ops[i])
                agg_op_clear(p->ops[i]);
        pp = &p->next;
    }
    if (qpd.view_uid == (uid_t)-1) {
        /* Everything: the recorder too (a user's reset keeps it, as it
         * holds other users' samples). */
        qpd.dropped_gone = 0;
        history_clear();
        for (struct proc *p = qpd.procs; p; p = p->next)
            history_tails_clear(&p->tails);
    }
}
