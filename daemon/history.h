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
 * daemon does not pay for the bound it was given.  Written by the drain
 * threads (each its own lane, below), read by the main thread between
 * drains.
 *
 * So that a busy thread cannot push a quiet one out entirely, each thread
 * also keeps its own last HIST_TAIL_N samples in a small tail (struct
 * hist_tails, one per process).  Tails take at most an eighth of the bound;
 * the ring the rest.  A trace takes a tail's samples that the ring no
 * longer holds.
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

/* With several drain threads (qpulsed --threads) the ring is cut into one
 * lane per thread, each written by its own thread only: a process's
 * samples go to the lane of the thread that drains it (always the same),
 * so what ran inside a sample still sits just before it in its lane.  A
 * record's index is (its position in its lane) x lanes + lane: with one
 * lane, the position in the ring. */
#define HIST_LANES_MAX 64
struct hist_lane {
    struct hist_rec *v;  /* cap records */
    uint64_t cap;
    uint64_t head;       /* records ever written; the newest is head - 1 */
    uint64_t pos;        /* head % cap, kept without a division */
} __attribute__((aligned(64)));

struct history {
    struct hist_rec *v;  /* cap records, the lanes one after another */
    uint64_t cap;        /* 0: the recorder is off */
    unsigned nlanes;
    struct hist_lane lane[HIST_LANES_MAX];
    size_t tail_bytes;   /* held by every process's tails */
    size_t tail_bound;   /* their share of the bound */
    uint64_t tails_refused;  /* threads given no tail: the share was used */
};

/* A thread's last samples, with their ring indices (a sample the ring
 * still holds is taken from the ring). */
#define HIST_TAIL_N 32u
struct hist_tail {
    int32_t tid;
    uint32_t pad_;
    uint64_t head;       /* samples ever kept; the newest is head - 1 */
    struct hist_rec v[HIST_TAIL_N];
    uint64_t idx[HIST_TAIL_N];
};

/* One process's tails. */
struct hist_tails {
    struct hist_tail **t;
    uint32_t n, cap;
    uint32_t last;       /* the last one written: samples come in runs */
};

extern struct history hist_ring;
/* The tail history_keep() last wrote on this thread (NULL: none, the
 * share was used): a slowest sample's tree starts there (slowest.c). */
extern __thread const struct hist_tail *hist_kept;

/* Reserves the ring for `mb` MiB (0 turns the recorder off) in `lanes`
 * lanes (1..HIST_LANES_MAX).  0 or -ENOMEM. */
int history_init_lanes(unsigned mb, unsigned lanes);
int history_init(unsigned mb);
void history_fini(void);
/* Forgets every record (RESET). */
void history_clear(void);

static inline struct hist_lane *history_lane_of(uint64_t i)
{
    return &hist_ring.lane[hist_ring.nlanes > 1 ? i % hist_ring.nlanes : 0];
}

/* The record of index i (one the ring still holds, see history_held). */
static inline struct hist_rec *history_at(uint64_t i)
{
    const struct hist_lane *l = history_lane_of(i);
    uint64_t k = hist_ring.nlanes > 1 ? i / hist_ring.nlanes : i;
    return &l->v[k % l->cap];
}

/* Whether the ring still holds index i. */
static inline int history_held(uint64_t i)
{
    const struct hist_lane *l = history_lane_of(i);
    uint64_t k = hist_ring.nlanes > 1 ? i / hist_ring.nlanes : i;
    return l->cap && k < l->head && k + l->cap >= l->head;
}

/* The index before i in its lane, or UINT64_MAX when the lane no longer
 * holds it. */
static inline uint64_t history_prev(uint64_t i)
{
    const struct hist_lane *l = history_lane_of(i);
    uint64_t n = hist_ring.nlanes, k = n > 1 ? i / n : i;
    uint64_t first = l->head > l->cap ? l->head - l->cap : 0;
    if (k == 0 || k - 1 < first)
        return UINT64_MAX;
    return i - n;
}

/* Appends one record to lane `lane`; returns its index.  Needs cap > 0;
 * only the thread that drains the lane's processes writes to it. */
static inline uint64_t history_add_lane(unsigned lane, uint64_t start, uint64_t dur,
                                        uint64_t self, int32_t tid, uint32_t op,
                                        uint32_t parent, uint32_t proc)
{
    struct hist_lane *l = &hist_ring.lane[lane];
    uint64_t i = l->head++ * hist_ring.nlanes + lane;
    struct hist_rec *r = &l->v[l->pos];
    if (++l->pos == l->cap)
        l->pos = 0;
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

static inline uint64_t history_add(uint64_t start, uint64_t dur, uint64_t self, int32_t tid,
                                   uint32_t op, uint32_t parent, uint32_t proc)
{
    return history_add_lane(0, start, dur, self, tid, op, parent, proc);
}

/* One thread's samples of one op in the recorder (history_threads()). */
struct hist_thread {
    int32_t tid;
    uint64_t count, total, max;   /* ns */
};

/* The samples the recorder holds of op `op` of process `proc` that began
 * at or after `since` (monotonic ns), added up per thread into v (at most
 * max threads, the first seen; samples of further threads add to *other).
 * Returns how many threads; *oldest is the start of the oldest record
 * held (0 when none). */
size_t history_threads(uint32_t proc, uint32_t op, uint64_t since, struct hist_thread *v,
                       size_t max, uint64_t *other, uint64_t *oldest);

/* Keeps record r (ring index idx) in its thread's tail (the slow path
 * finds or makes the tail). */
struct hist_tail *history_tail_find(struct hist_tails *ts, int32_t tid);
static inline void history_keep(struct hist_tails *ts, const struct hist_rec *r, uint64_t idx)
{
    struct hist_tail *t;
    if (__builtin_expect(ts->n != 0 && ts->t[ts->last]->tid == r->tid, 1))
        t = ts->t[ts->last];
    else if (!(t = history_tail_find(ts, r->tid))) {
        hist_kept = NULL;
        return;
    }
    unsigned k = (unsigned)(t->head++ % HIST_TAIL_N);
    t->v[k] = *r;
    t->idx[k] = idx;
    hist_kept = t;
}
/* Forgets a process's tails (RESET), or frees them (the process is
 * forgotten). */
void history_tails_clear(struct hist_tails *ts);
void history_tails_free(struct hist_tails *ts);

/* Bytes the recorder may use (the bound) and uses now, tails included. */
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
