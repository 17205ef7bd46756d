/*
 * history.c — the flight recorder's ring (see history.h).  Its Trace Event
 * Format writer is in trace.c.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

__thread const struct hist_tail *hist_kept;
struct history hist_ring = { .nlanes = 1 };

static pthread_mutex_t tail_lock = PTHREAD_MUTEX_INITIALIZER;   /* tail_bytes */

int history_init_lanes(unsigned mb, unsigned lanes)
{
    history_fini();
    if (lanes < 1)
        lanes = 1;
    if (lanes > HIST_LANES_MAX)
        lanes = HIST_LANES_MAX;
    hist_ring.nlanes = lanes;
    if (mb == 0)
        return 0;
    size_t bytes = (size_t)mb << 20;
    /* Reserved, not touched: pages arrive as the ring fills. */
    void *v = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (v == MAP_FAILED)
        return -ENOMEM;
    hist_ring.v = v;
    /* An eighth for the threads' tails, the rest for the ring. */
    hist_ring.tail_bound = bytes / 8;
    uint64_t per = (bytes - hist_ring.tail_bound) / sizeof(struct hist_rec) / lanes;
    hist_ring.cap = per * lanes;
    for (unsigned k = 0; k < lanes; k++)
        hist_ring.lane[k] = (struct hist_lane){ hist_ring.v + k * per, per, 0, 0 };
    return 0;
}

int history_init(unsigned mb)
{
    return history_init_lanes(mb, 1);
}

void history_fini(void)
{
    if (hist_ring.v)
        munmap(hist_ring.v, (size_t)hist_ring.cap * sizeof(struct hist_rec));
    /* Tails belong to their processes, which free them. */
    size_t tb = hist_ring.tail_bytes;
    memset(&hist_ring, 0, sizeof hist_ring);
    hist_ring.tail_bytes = tb;
    hist_ring.nlanes = 1;
}

void history_clear(void)
{
    for (unsigned k = 0; k < hist_ring.nlanes; k++)
        hist_ring.lane[k].head = hist_ring.lane[k].pos = 0;
}

size_t history_bound(void)
{
    return (size_t)hist_ring.cap * sizeof(struct hist_rec) + hist_ring.tail_bound;
}

size_t history_used(void)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < hist_ring.nlanes; k++) {
        const struct hist_lane *l = &hist_ring.lane[k];
        n += l->head < l->cap ? l->head : l->cap;
    }
    return (size_t)n * sizeof(struct hist_rec) + hist_ring.tail_bytes;
}

struct hist_tail *history_tail_find(struct hist_tails *ts, int32_t tid)
{
    for (uint32_t i = 0; i < ts->n; i++)
        if (ts->t[i]->tid == tid) {
            ts->last = i;
            return ts->t[i];
        }
    /* A new thread: the drain threads share the tails' bound. */
    pthread_mutex_lock(&tail_lock);
    struct hist_tail *t = NULL;
    size_t need = sizeof(struct hist_tail) + (ts->n == ts->cap ? sizeof(void *) * (ts->cap + 4) : 0);
    if (hist_ring.tail_bytes + need > hist_ring.tail_bound) {
        hist_ring.tails_refused++;
        goto out;
    }
    if (ts->n == ts->cap) {
        uint32_t nc = ts->cap ? ts->cap * 2 : 4;
        struct hist_tail **nt = realloc(ts->t, nc * sizeof *nt);
        if (!nt)
            goto out;
        hist_ring.tail_bytes += (nc - ts->cap) * sizeof *nt;
        ts->t = nt;
        ts->cap = nc;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        goto out;
    hist_ring.tail_bytes += sizeof *t;
    t->tid = tid;
    ts->last = ts->n;
    ts->t[ts->n++] = t;
out:
    pthread_mutex_unlock(&tail_lock);
    return t;
}

void history_tails_clear(struct hist_tails *ts)
{
    for (uint32_t i = 0; i < ts->n; i++)
        ts->t[i]->head = 0;
}

void history_tails_free(struct hist_tails *ts)
{
    for (uint32_t i = 0; i < ts->n; i++) {
        if (hist_kept == ts->t[i])
            hist_kept = NULL;
        free(ts->t[i]);
    }
    free(ts->t);
    size_t b = (size_t)ts->n * sizeof(struct hist_tail) + (size_t)ts->cap * sizeof(void *);
    pthread_mutex_lock(&tail_lock);
    hist_ring.tail_bytes = hist_ring.tail_bytes > b ? hist_ring.tail_bytes - b : 0;
    pthread_mutex_unlock(&tail_lock);
    memset(ts, 0, sizeof *ts);
}


size_t history_threads(uint32_t proc, uint32_t op, uint64_t since, struct hist_thread *v,
                       size_t max, uint64_t *other, uint64_t *oldest)
{
    size_t n = 0;
    *other = 0;
    *oldest = 0;
    for (unsigned ln = 0; ln < hist_ring.nlanes; ln++) {
        const struct hist_lane *l = &hist_ring.lane[ln];
        for (uint64_t k = l->head > l->cap ? l->head - l->cap : 0; k < l->head; k++) {
            const struct hist_rec *r = &l->v[k % l->cap];
            if (!*oldest || r->start < *oldest)
                *oldest = r->start;
            if (r->proc != proc || r->op != op || r->start < since)
                continue;
            size_t i = 0;
            while (i < n && v[i].tid != r->tid)
                i++;
            if (i == n) {
                if (n == max) {
                    ++*other;
                    continue;
                }
                v[n++] = (struct hist_thread){ r->tid, 0, 0, 0 };
            }
            v[i].count++;
            v[i].total += r->dur;
            if (r->dur > v[i].max)
                v[i].max = r->dur;
        }
    }
    return n;
}
