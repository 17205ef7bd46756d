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
    hist_ring.cap = bytes / sizeof(struct hist_rec);
    hist_ring.head = 0;
    hist_ring.pos = 0;
    return 0;
}

void history_fini(void)
{
    if (hist_ring.v)
        munmap(hist_ring.v, (size_t)hist_ring.cap * sizeof(struct hist_rec));
    memset(&hist_ring, 0, sizeof hist_ring);
}

void history_clear(void)
{
    hist_ring.head = 0;
    hist_ring.pos = 0;
}

size_t history_bound(void)
{
    return (size_t)hist_ring.cap * sizeof(struct hist_rec);
}

size_t history_used(void)
{
    uint64_t n = hist_ring.head < hist_ring.cap ? hist_ring.head : hist_ring.cap;
    return (size_t)n * sizeof(struct hist_rec);
}

