/*
 * slowest.h — per operation, the K slowest samples of each second of the
 * live window and since start (qpulsed --slowest K), each with the tree of
 * samples that ran inside it on its thread.
 *
 * Exact: every sample is compared with the K-th slowest of its second and of
 * the cumulative set (slowest_wants(), a couple of loads and compares), so
 * the true slowest are always kept.  Only a sample that makes it into a set
 * pays for its tree: its children ended before it and were drained before
 * it, so they sit just before it in the flight recorder (history.h), and
 * slowest_offer() walks back over them.  A tree holds at most
 * SLOW_NODES_MAX samples; with the recorder off (--history-mb 0) trees are
 * empty.
 *
 * Memory per operation: nothing until its first sample, then K entries for
 * the cumulative set and for the current second, and for each earlier
 * second of the window those of its K that are not outranked by K samples
 * of it and the two seconds after (struct slow_set: about 4 K for the
 * whole window, not 10 K, with samples of a steady distribution), plus the trees
 * (32 bytes a node), shared between the sets that hold a sample.
 * Compacted (an exited process, past the window): the cumulative set's
 * samples (40 bytes each) and their trees only.
 */
#ifndef QPULSED_SLOWEST_H
#define QPULSED_SLOWEST_H

#include <stdint.h>

#include "agg.h"

#define SLOW_K_MAX 100
#define SLOW_NODES_MAX 512    /* samples kept inside one slowest sample */
#define SLOW_WALK_MAX 65536   /* recorder records looked at per tree */

/* One sample inside a slowest sample, in order of start (pre-order). */
struct slow_node {
    uint64_t offset;          /* start after the slowest sample's start (ns) */
    uint64_t dur, self;
    uint32_t op;              /* op index in the process's table */
    uint32_t depth;           /* 0: ran directly inside the sample */
};

struct slow_tree {
    uint32_t refs, n;
    uint32_t truncated;       /* more samples ran inside than were kept */
    uint32_t reserved;
    struct slow_node nodes[];
};

struct slow_sample {
    uint64_t start;           /* CLOCK_MONOTONIC ns */
    uint64_t dur, self;
    int32_t tid;
    uint32_t reserved;
    struct slow_tree *tree;   /* NULL: nothing ran inside it (or unknown) */
};

/* The K slowest of one second (or since start), unordered.  A window
 * second that is over keeps only those of its K that can still be among
 * the K slowest of a window: a sample with K slower ones in its own or
 * later seconds never will be, as every window that holds its second
 * holds those too (window queries end at the present).  It is pruned so
 * once, when three seconds old (slowest.c win_prune()); it is then
 * `pruned`: its floor is the K-th slowest duration of it and the seconds
 * since, and only a sample above it is taken. */
struct slow_set {
    int64_t sec;              /* the second it holds (window sets) */
    uint32_t n;
    uint16_t cap;             /* entries allocated in v */
    uint16_t pruned;
    uint64_t floor;           /* the smallest duration held once full, else 0
                                 (or the pruning bound, above) */
    struct slow_sample *v;    /* allocated on first use */
};

struct slow_op {
    struct slow_set cum;
    uint32_t nwin;            /* agg_slots; 0 once compacted */
    uint32_t reserved;
    struct slow_set win[];    /* nwin */
};

/* --slowest K (0 turns the tracking off), set once at start. */
extern unsigned slow_k;

/* The fast test, per drained sample: could a sample of second sec (or
 * INT64_MIN: too old for the window) with duration dur enter a set of o?
 * idx is sec % agg_slots (the caller keeps it with sec: no division here). */
static inline int slowest_wants(const struct agg_op *o, int64_t sec, unsigned idx, uint64_t dur)
{
    const struct slow_op *s = o->slow;
    if (__builtin_expect(!s, 0))
        return slow_k != 0;
    if (s->cum.n < slow_k || dur > s->cum.floor)
        return 1;
    if (sec == INT64_MIN)
        return 0;
    if (__builtin_expect(!s->nwin, 0))
        return 1;   /* compacted: slowest_offer() grows the window back */
    const struct slow_set *w = &s->win[idx];
    return w->sec != sec || (w->n < slow_k && !w->pruned) || dur > w->floor;
}

/* Offers the sample held in the recorder at index hidx (or, with the
 * recorder off, described by the arguments) to o's sets. */
void slowest_offer(struct agg_op *o, int64_t sec, uint64_t hidx, uint64_t start, uint64_t dur,
                   uint64_t self, int32_t tid, uint32_t proc_hid);

/* Frees o's sets (o->slow becomes NULL). */
void slowest_free(struct agg_op *o);

/* Once o's process has exited and the live window has passed its samples:
 * frees the window's sets (and the trees only they held) and trims the
 * cumulative set to its samples.  A later offer grows it back. */
void slowest_compact(struct agg_op *o);

/* The slowest samples of o, slowest first: since start (cumulative) or of
 * the window ending with second sec.  Fills out[0..max-1] with pointers into
 * o's sets (valid until the next drain) and returns how many. */
unsigned slowest_list(const struct agg_op *o, int cumulative, int64_t sec,
                      const struct slow_sample **out, unsigned max);

/* For exemplars: the slowest sample of o in the window ending with second
 * sec.  Returns 1 and fills dur (ns), tid and start (Unix seconds), or 0
 * when the window holds none. */
int slowest_recent(const struct agg_op *o, int64_t sec, uint64_t *dur, int32_t *tid,
                   double *start_unix);

/* CLOCK_MONOTONIC ns to Unix seconds (now's offset between the clocks). */
double slowest_unix(uint64_t mono);

/* A compacted o's sets into one block (procs.c packs an exited process
 * into one allocation): slowest_pack_size() bytes (a multiple of 8) are
 * taken at *cur, which advances; returns the copy (NULL when o has none).
 * The copy is never freed on its own: see agg_op.inblock. */
size_t slowest_pack_size(const struct agg_op *o);
struct slow_op *slowest_pack(const struct agg_op *o, char **cur);

/* Bytes held by o's sets and trees. */
size_t slowest_memory(const struct agg_op *o);

#endif /* QPULSED_SLOWEST_H */
