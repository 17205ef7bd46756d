/*
 * history.h — qpulsed's flight recorder: the most recent raw samples of
 * every thread of every process, in one ring of compact records under a hard
 * memory bound (--history-mb).  The oldest records are overwritten first.
 *
 * Records are kept in drain order.  A thread's samples are drained in the
 * order they ended, so a sample's children (which end before it) always sit
 * before it in the ring; slowest.c walks back from a sample to collect them.
 *
 * The ring's memory is reserved once and touched as it fills, so an idle
 * daemon does not pay for the bound it was given.  Main thread only.
 */
#ifndef QPULSED_HISTORY_H
#define QPULSED_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jw.h"

/* One sample: 40 bytes. */
struct hist_rec {
    uint64_t start;      /* CLOCK_MONOTONIC ns */
    uint64_t dur;        /* ns */
    uint64_t self;       /* ns */
    int32_t tid;
    uint32_t op;         /* op index in its process's table */
    uint32_t parent;     /* parent op index + 1; 0 = none */
    uint32_t proc;       /* the process's history id (struct proc.hid) */
};

struct history {
    struct hist_rec *v;  /* cap records */
    uint64_t cap;        /* 0: the recorder is off */
    uint64_t head;       /* records ever written; the newest is head - 1 */
    uint64_t pos;        /* head % cap, kept without a division */
};

extern struct history hist_ring;

/* Reserves the ring for `mb` MiB (0 turns the recorder off).  0 or -ENOMEM. */
int history_init(unsigned mb);
void history_fini(void);
/* Forgets every record (RESET). */
void history_clear(void);

static inline struct hist_rec *history_at(uint64_t i)
{
    return &hist_ring.v[i % hist_ring.cap];
}

/* The oldest index still held. */
static inline uint64_t history_first(void)
{
    return hist_ring.head > hist_ring.cap ? hist_ring.head - hist_ring.cap : 0;
}

/* Appends one record; returns its index.  Needs cap > 0. */
static inline uint64_t history_add(uint64_t start, uint64_t dur, uint64_t self, int32_t tid,
                                   uint32_t op, uint32_t parent, uint32_t proc)
{
    uint64_t i = hist_ring.head++;
    struct hist_rec *r = &hist_ring.v[hist_ring.pos];
    if (++hist_ring.pos == hist_ring.cap)
        hist_ring.pos = 0;
#if defined(__x86_64__) && !defined(QPD_HISTORY_PLAIN)
    /* Streaming stores: the ring is written once and read rarely, so its
     * lines need not be fetched first nor evict the statistics. */
    long long *w = (long long *)r;
    __builtin_ia32_movnti64(&w[0], (long long)start);
    __builtin_ia32_movnti64(&w[1], (long long)dur);
    __builtin_ia32_movnti64(&w[2], (long long)self);
    __builtin_ia32_movnti64(&w[3], (long long)((uint64_t)(uint32_t)tid | (uint64_t)op << 32));
    __builtin_ia32_movnti64(&w[4], (long long)((uint64_t)parent | (uint64_t)proc << 32));
#else
    r->start = start;
    r->dur = dur;
    r->self = self;
    r->tid = tid;
    r->op = op;
    r->parent = parent;
    r->proc = proc;
#endif
    return i;
}

/* Bytes the ring may use (the bound) and uses now. */
size_t history_bound(void);
size_t history_used(void);

/* A selection of the history: one process (pid > 0) or all, samples that
 * started at or after since_mono (ns; 0 = all) and at or before until_mono
 * (0 = now). */
struct history_sel {
    pid_t pid;
    uint64_t since_mono, until_mono;
};

/* Writes the selection as a Trace Event Format object ({"traceEvents":
 * [...], ...}) into w; returns the number of sample events written. */
size_t history_trace(jw_t *w, const struct history_sel *sel);

/* Parses the socket request "HISTORY PID LAST_MS" (words after HISTORY in
 * w[0..n-1]; PID 0 = every process, LAST_MS 0 = everything held) into sel.
 * 0, or -1 with a message in err. */
int history_parse_request(char **w, int n, struct history_sel *sel, char *err, size_t errlen);

/* Writes the trace of sel to a new file in dir, named after `what`; the
 * path goes to path.  Returns the number of events, or -errno. */
long history_dump(const char *dir, const char *what, const struct history_sel *sel,
                  char *path, size_t pathlen);

#endif /* QPULSED_HISTORY_H */
