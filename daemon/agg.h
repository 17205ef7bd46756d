/*
 * agg.h — what qpulsed keeps per process x operation: count, total, self
 * time, min, max, mean, standard deviation and a histogram, both since the
 * process started (cumulative) and per second of the live window, plus the
 * operations that ran nested inside it (from each sample's parent).
 *
 * The window is a ring of --window per-second slots; a slot tagged with an
 * older second is emptied when it is reused, so the window slides without a
 * sweep over every operation.
 *
 * Memory: histograms are sparse until busy (lib/hist.h); a second that is
 * over is packed (1 to 2 bytes per non-empty bucket) and hands its
 * counters or its array to the next second.  An exited process's
 * operations are compacted once the window has passed them
 * (agg_op_compact()): the structure, its names and the frozen cumulative
 * histogram remain, a few hundred bytes.
 *
 * Variance: each stats block sums (x - shift)^2 around its first value, so
 * no division happens per sample and the sum does not cancel
 * catastrophically; blocks with different shifts merge exactly.
 */
#ifndef QPULSED_AGG_H
#define QPULSED_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "hist.h"
#include "reader.h"

struct agg_child {
    uint32_t op;          /* child operation (index in the process's table) */
    uint32_t reserved;
    uint64_t count, total;
};

struct agg_stats {
    hist_t h;             /* count, total, min, max and the buckets */
    uint64_t self;        /* sum of self times */
    uint64_t shift;       /* first value: variance is summed around it */
    double s1;            /* sum of (x - shift): not from h.total, which
                             saturates on garbage durations */
    double s2;            /* sum of (x - shift)^2 */
    struct agg_child *kids;
    uint32_t nkids, capkids;
};

struct agg_slot {
    int64_t sec;          /* monotonic second this slot holds */
    int late;             /* written after a newer second began: dense
                             until agg_settle() packs it */
    struct agg_stats st;
};

struct slow_op;           /* slowest.h */

struct agg_op {
    char *set, *name, *group, *desc;  /* one allocation, at set */
    int priority;
    struct agg_stats cum;
    struct agg_slot *win;             /* agg_slots slots, allocated lazily */
    int cur;                          /* the slot being written, -1 none;
                                         the others are packed (hist_pack) */
    uint64_t p99_prev;                /* p99 of the previous window */
    const qp_budget_rule_t *rules[QP_STAT_COUNT_];   /* budgets that apply */
    /* Each rule's state in the window as the last tick found it
     * (budgets_check): what the log and the window views report. */
    double budget_actual[QP_STAT_COUNT_];
    uint8_t broken[QP_STAT_COUNT_];
    uint8_t rules_matched;
    struct slow_op *slow;             /* slowest samples (slowest.h), lazily */
    uint8_t inblock;                  /* AGG_INBLOCK: packed by agg_op_pack() */
};

/* agg_op.inblock: the op, its names, children and slowest samples lie in
 * its process's block (freed with it, never on their own), and with
 * AGG_HIST_INBLOCK its histogram's entries too (else it owns them). */
#define AGG_INBLOCK 1
#define AGG_HIST_INBLOCK 2

/* Window length in seconds (qpulsed --window), set once at start, and the
 * per-second slots kept: one more than the window, so that the slot the
 * new second reuses is never one the window that just ended still needs. */
extern unsigned agg_window_s;
extern unsigned agg_slots;

struct agg_op *agg_op_new(const qp_op_info_t *info);
void agg_op_free(struct agg_op *o);
/* Clears every statistic of o (RESET). */
void agg_op_clear(struct agg_op *o);
/* Once o's process has exited and the live window has passed its last
 * second: frees the window's ring, freezes the cumulative histogram
 * (hist_pack), trims its children to their number and keeps only the
 * cumulative slowest samples (slowest_compact).  What the cumulative
 * statistics say is unchanged; the window then holds nothing of o, as it
 * would anyway.  Recording into o afterwards still works. */
void agg_op_compact(struct agg_op *o);
/* Packing a compacted o into one block with the rest of its process
 * (procs.c): agg_op_pack_size() bytes (a multiple of 8) are taken at *cur,
 * which advances; returns the copy, which takes over a dense histogram's
 * counters.  Free the original with agg_op_free() afterwards.  The copy
 * is read-only: nothing may be recorded into it. */
size_t agg_op_pack_size(const struct agg_op *o);
struct agg_op *agg_op_pack(struct agg_op *o, char **cur);
/* Bytes o holds (structure, names, histograms, children, slowest). */
size_t agg_op_memory(const struct agg_op *o);

/* Adds one sample recorded in monotonic second sec (the second its sample
 * started: the window counts samples when they happened, not when they
 * were drained), or INT64_MIN for a sample too old for the window (counted
 * since start only).  A second older than the ring holds goes to the
 * cumulative statistics only.  Returns -ENOMEM when it could not be
 * counted. */
int agg_add(struct agg_op *o, int64_t sec, uint64_t dur, uint64_t self);
/* Packs the seconds that late samples made dense again (once a second). */
void agg_settle(struct agg_op *o);
/* Adds a child sample (op child, duration dur) to parent p. */
void agg_add_child(struct agg_op *p, int64_t sec, uint32_t child, uint64_t dur);

void agg_stats_init(struct agg_stats *s);
void agg_stats_free(struct agg_stats *s);
/* dst += src. */
void agg_stats_merge(struct agg_stats *dst, const struct agg_stats *src);
/* The window ending with second `sec` ((sec - agg_window_s, sec]) into out
 * (initialised here; free with agg_stats_free). */
void agg_window(const struct agg_op *o, int64_t sec, struct agg_stats *out);
/* The same without the buckets (hist_merge_sums()): count, total, min,
 * max, mean, stddev, self and children, but no percentile. */
void agg_window_sums(const struct agg_op *o, int64_t sec, struct agg_stats *out);
/* Mean (ns); from the shifted sums when h.total saturated. */
double agg_mean(const struct agg_stats *s);
/* Population standard deviation. */
double agg_stddev(const struct agg_stats *s);

#endif /* QPULSED_AGG_H */
