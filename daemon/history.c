/*
 * history.c — the flight recorder's ring (see history.h).  Its Trace Event
 * Format writer is in trace.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

struct history hist_ring;

int history_init(unsigned mb)
{
    history_fini();
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
    hist_ring.cap = (bytes - hist_ring.tail_bound) / sizeof(struct hist_rec);
    hist_ring.head = 0;
    hist_ring.pos = 0;
    return 0;
}

void history_fini(void)
{
    if (hist_ring.v)
        munmap(hist_ring.v, (size_t)hist_ring.cap * sizeof(struct hist_rec));
    /* Tails belong to their processes, which free them. */
    size_t tb = hist_ring.tail_bytes;
    memset(&hist_ring, 0, sizeof hist_ring);
    hist_ring.tail_bytes = tb;
}

void history_clear(void)
{
    hist_ring.head = 0;
    hist_ring.pos = 0;
    hist_ring.kept = NULL;
}

size_t history_bound(void)
{
    return (size_t)hist_ring.cap * sizeof(struct hist_rec) + hist_ring.tail_bound;
}

size_t history_used(void)
{
    uint64_t n = hist_ring.head < hist_ring.cap ? hist_ring.head : hist_ring.cap;
    return (size_t)n * sizeof(struct hist_rec) + hist_ring.tail_bytes;
}

struct hist_tail *history_tail_find(struct hist_tails *ts, int32_t tid)
{
    for (uint32_t i = 0; i < ts->n; i++)
        if (ts->t[i]->tid == tid) {
            ts->last = i;
            return ts->t[i];
        }
    size_t need = sizeof(struct hist_tail) + (ts->n == ts->cap ? sizeof(void *) * (ts->cap + 4) : 0);
    if (hist_ring.tail_bytes + need > hist_ring.tail_bound) {
        hist_ring.tails_refused++;
        return NULL;
    }
    if (ts->n == ts->cap) {
        uint32_t nc = ts->cap ? ts->cap * 2 : 4;
        struct hist_tail **nt = realloc(ts->t, nc * sizeof *nt);
        if (!nt)
            return NULL;
        hist_ring.tail_bytes += (nc - ts->cap) * sizeof *nt;
        ts->t = nt;
        ts->cap = nc;
    }
    struct hist_tail *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    hist_ring.tail_bytes += sizeof *t;
    t->tid = tid;
    ts->last = ts->n;
    ts->t[ts->n++] = t;
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
        if (hist_ring.kept == ts->t[i])
            hist_ring.kept = NULL;
        free(ts->t[i]);
    }
    free(ts->t);
    size_t b = (size_t)ts->n * sizeof(struct hist_tail) + (size_t)ts->cap * sizeof(void *);
    hist_ring.tail_bytes = hist_ring.tail_bytes > b ? hist_ring.tail_bytes - b : 0;
    memset(ts, 0, sizeof *ts);
}


size_t history_threads(uint32_t proc, uint32_t op, uint64_t since, struct hist_thread *v,
                       size_t max, uint64_t *other, uint64_t *oldest)
{
    size_t n = 0;
    uint64_t first = history_first();
    *other = 0;
    *oldest = 0;
    for (uint64_t i = first; i < hist_ring.head; i++) {
        const struct hist_rec *r = history_at(i);
        if (!*oldest || r->start < *oldest)
            *oldest = r->start;
        if (r->proc != proc || r->op != op || r->start < since)
            continue;
        size_t k = 0;
        while (k < n && v[k].tid != r->tid)
            k++;
        if (k == n) {
            if (n == max) {
                ++*other;
                continue;
            }
            v[n++] = (struct hist_thread){ r->tid, 0, 0, 0 };
        }
        v[k].count++;
        v[k].total += r->dur;
        if (r->dur > v[k].max)
            v[k].max = r->dur;
    }
    return n;
}
