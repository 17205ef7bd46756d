/*
 * bench_slowest.c — the flight recorder and the slowest samples, through
 * the daemon's own code (daemon/agg.c, history.c, slowest.c), fed the way
 * its drain callback feeds them:
 *
 *  1. exactness: N requests (default 10^6) on 4 threads, each a parent with
 *     two children (the second with a grandchild), ending in drain order
 *     (children first, threads interleaved in runs of 6 samples), with OUTLIERS (default 20) injected at random
 *     places whose inside is known.  Every outlier must be among the
 *     cumulative slowest, its children's offsets and durations exact, and
 *     children + self = duration at every level.
 *  2. cost: ns per sample with the recorder and slowest tracking, against
 *     the same feed through the statistics alone (the baseline, same run).
 *  3. memory: the recorder's bound, and the slowest sets' bytes.
 *
 *   bench_slowest [-n REQUESTS] [-o OUTLIERS] [-m HISTORY_MB]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "agg.h"
#include "history.h"
#include "slowest.h"

#define NOPS 4      /* 0 Request, 1 Parse, 2 Risk, 3 Db */
#define THREADS 4

static uint64_t rng = BENCH_RNG_SEED;
static uint64_t rnd(void)
{
    return bench_rnd(&rng);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);   /* CPU time: a busy machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ev {
    uint64_t start, dur, self;
    uint32_t op, parent;
    int32_t tid;
};

/* What one request records, in the order the samples end. */
static int make_request(struct ev *e, uint64_t t0, int32_t tid, int outlier, uint64_t *shape)
{
    uint64_t scale = outlier ? 1000 : 1;
    uint64_t pa_off = (100 + rnd() % 50) * scale, pa_dur = (200 + rnd() % 100) * scale;
    uint64_t ri_off = pa_off + pa_dur + (50 + rnd() % 20) * scale;
    uint64_t db_off = (30 + rnd() % 10) * scale, db_dur = (300 + rnd() % 200) * scale;
    uint64_t ri_dur = db_off + db_dur + (40 + rnd() % 10) * scale;
    uint64_t dur = ri_off + ri_dur + (60 + rnd() % 30) * scale;
    if (outlier)
        dur += (uint64_t)outlier * 2000000;   /* distinct durations */
    e[0] = (struct ev){ t0 + pa_off, pa_dur, pa_dur, 1, 1, tid };
    e[1] = (struct ev){ t0 + ri_off + db_off, db_dur, db_dur, 3, 3, tid };
    e[2] = (struct ev){ t0 + ri_off, ri_dur, ri_dur - db_dur, 2, 1, tid };
    e[3] = (struct ev){ t0, dur, dur - pa_dur - ri_dur, 0, 0, tid };
    if (shape) {
        shape[0] = dur, shape[1] = pa_off, shape[2] = pa_dur, shape[3] = ri_off;
        shape[4] = ri_dur, shape[5] = db_off, shape[6] = db_dur;
    }
    return 4;
}

static struct agg_op *ops[NOPS];
static struct hist_tails tails;   /* the process's threads' tails */

/* The drain callback's work per sample (daemon/drain.c on_events). */
static void feed(const struct ev *e, size_t n, int full)
{
    for (size_t i = 0; i < n; i++) {
        int64_t sec = (int64_t)(e[i].start / 1000000000u);
        struct agg_op *o = ops[e[i].op];
        agg_add(o, sec, e[i].dur, e[i].self);
        if (full) {
            uint64_t h = history_add(e[i].start, e[i].dur, e[i].self, e[i].tid, e[i].op,
                                     e[i].parent, 1);
            const struct hist_rec hr = { e[i].start, e[i].dur, e[i].self, e[i].tid, e[i].op,
                                         e[i].parent, 1 };
            history_keep(&tails, &hr, h);
            if (slowest_wants(o, sec, (unsigned)((uint64_t)sec % agg_slots), e[i].dur))
                slowest_offer(o, sec, h, e[i].start, e[i].dur, e[i].self, e[i].tid, 1);
        }
        if (e[i].parent)
            agg_add_child(ops[e[i].parent - 1], sec, e[i].op, e[i].dur);
    }
}

static int sums(const struct slow_node *v, uint32_t n, uint32_t *i, uint32_t depth,
                uint64_t dur, uint64_t self)
{
    uint64_t sum = self;
    while (*i < n && v[*i].depth == depth) {
        const struct slow_node *c = &v[(*i)++];
        sum += c->dur;
        if (!sums(v, n, i, depth + 1, c->dur, c->self))
            return 0;
    }
    return sum == dur;
}

int main(int argc, char **argv)
{
    long nreq = 1000000, nout = 20;
    unsigned mb = 64;
    int c;
    while ((c = getopt(argc, argv, "n:o:m:")) != -1) {
        if (c == 'n')
            nreq = atol(optarg);
        else if (c == 'o')
            nout = atol(optarg);
        else if (c == 'm')
            mb = (unsigned)atoi(optarg);
        else
            return 2;
    }
    if (nout < 1 || nout > 64 || nreq < nout)
        return 2;
    /* the events, in drain order: per thread runs of 256 (a drain batch) */
    size_t nev = (size_t)nreq * 4;
    struct ev *ev = malloc(nev * sizeof *ev);
    uint64_t (*shape)[7] = calloc((size_t)nout, sizeof *shape);
    char *is_out = calloc((size_t)nreq, 1);
    if (!ev || !shape || !is_out)
        return 1;
    for (long k = 0; k < nout; k++) {
        long at;
        do
            at = (long)(rnd() % (uint64_t)nreq);
        while (is_out[at]);
        is_out[at] = (char)(k + 1);
    }
    /* each thread's samples in the order they end; then interleaved in
     * runs of 6 (drain batches cut requests apart) */
    uint64_t t[THREADS];
    struct ev *per[THREADS];
    size_t nper[THREADS] = { 0 };
    for (int i = 0; i < THREADS; i++) {
        t[i] = 1000ull * 1000000000u + (uint64_t)i * 7;
        per[i] = malloc(nev * sizeof *per[i]);
        if (!per[i])
            return 1;
    }
    for (long r = 0; r < nreq; r++) {
        int th = (int)(rnd() % THREADS);
        int o = is_out[r];
        struct ev *e = per[th] + nper[th];
        nper[th] += (size_t)make_request(e, t[th], 100 + th, o, o ? shape[o - 1] : NULL);
        t[th] += e[3].dur + 500;   /* the request's end, then a gap */
    }
    size_t k = 0, pos[THREADS] = { 0 };
    while (k < nev)
        for (int i = 0; i < THREADS; i++)
            for (int j = 0; j < 6 && pos[i] < nper[i]; j++)
                ev[k++] = per[i][pos[i]++];
    for (int i = 0; i < THREADS; i++)
        free(per[i]);

    /* 1 + 2: the full feed, timed; then the baseline */
    agg_window_s = 10;
    agg_slots = 11;
    slow_k = (unsigned)nout;
    static const qp_op_info_t info[NOPS] = {
        { "sp", "Request", "req", "", 1, 0 }, { "sp", "Parse", "req", "", 1, 0 },
        { "sp", "Risk", "risk", "", 1, 0 }, { "sp", "Db", "db", "", 1, 0 },
    };
    for (int i = 0; i < NOPS; i++)
        ops[i] = agg_op_new(&info[i]);
    if (history_init(mb) < 0)
        return 1;
    /* warm the ring's pages: a running daemon has them */
    for (uint64_t i = 0; i < hist_ring.cap; i++)
        history_add(0, 0, 0, 0, 0, 0, 0);
    history_clear();
    double t0 = now_s();
    feed(ev, nev, 1);
    double t_full = now_s() - t0;

    int bad = 0;
    const struct slow_sample *top[SLOW_K_MAX];
    unsigned n = slowest_list(ops[0], 1, 0, top, slow_k);
    long found = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct slow_sample *s = top[i];
        long which = -1;
        for (long o = 0; o < nout; o++)
            if (shape[o][0] == s->dur)
                which = o;
        if (which < 0)
            continue;
        found++;
        const uint64_t *e = shape[which];
        const struct slow_tree *tr = s->tree;
        if (!tr || tr->n != 3 || tr->nodes[0].op != 1 || tr->nodes[0].offset != e[1] ||
            tr->nodes[0].dur != e[2] || tr->nodes[0].depth != 0 || tr->nodes[1].op != 2 ||
            tr->nodes[1].offset != e[3] || tr->nodes[1].dur != e[4] || tr->nodes[1].depth != 0 ||
            tr->nodes[2].op != 3 || tr->nodes[2].offset != e[3] + e[5] ||
            tr->nodes[2].dur != e[6] || tr->nodes[2].depth != 1) {
            fprintf(stderr, "outlier %ld (%llu ns): wrong tree (%u nodes):", which,
                    (unsigned long long)s->dur, tr ? tr->n : 0);
            for (uint32_t q = 0; tr && q < tr->n; q++)
                fprintf(stderr, " [op %u +%llu %llu d%u]", tr->nodes[q].op,
                        (unsigned long long)tr->nodes[q].offset,
                        (unsigned long long)tr->nodes[q].dur, tr->nodes[q].depth);
            fprintf(stderr, " want Parse +%llu %llu Risk +%llu %llu Db +%llu %llu\n",
                    (unsigned long long)e[1], (unsigned long long)e[2], (unsigned long long)e[3],
                    (unsigned long long)e[4], (unsigned long long)e[5], (unsigned long long)e[6]);
            bad = 1;
        }
        uint32_t j = 0;
        if (tr && !sums(tr->nodes, tr->n, &j, 0, s->dur, s->self)) {
            fprintf(stderr, "outlier %ld: children + self != duration\n", which);
            bad = 1;
        }
    }
    size_t slow_mem = 0;
    for (int i = 0; i < NOPS; i++)
        slow_mem += slowest_memory(ops[i]);

    for (int i = 0; i < NOPS; i++)
        agg_op_free(ops[i]);
    for (int i = 0; i < NOPS; i++)
        ops[i] = agg_op_new(&info[i]);
    t0 = now_s();
    feed(ev, nev, 0);
    double t_base = now_s() - t0;

    /* the recorder alone (no slowest tracking) */
    for (int i = 0; i < NOPS; i++)
        agg_op_free(ops[i]);
    for (int i = 0; i < NOPS; i++)
        ops[i] = agg_op_new(&info[i]);
    unsigned k_saved = slow_k;
    slow_k = 0;
    history_clear();
    t0 = now_s();
    feed(ev, nev, 1);
    double t_rec = now_s() - t0;
    slow_k = k_saved;

    printf("flight recorder + slowest, through daemon/agg.c, history.c, slowest.c:\n");
    printf("  %ld outliers among %ld requests (%zu samples): %ld found, trees %s\n", nout, nreq,
           nev, found, bad ? "WRONG" : "exact (offsets, durations, children + self = duration)");
    printf("  statistics alone: %.1f ns/sample (%.1f M/s); with recorder + slowest: %.1f "
           "ns/sample (%.1f M/s); ratio %.2f\n",
           t_base / (double)nev * 1e9, (double)nev / t_base / 1e6, t_full / (double)nev * 1e9,
           (double)nev / t_full / 1e6, t_full / t_base);
    printf("  recorder without slowest: %.1f ns/sample (ratio %.2f)\n",
           t_rec / (double)nev * 1e9, t_rec / t_base);
    printf("  memory: recorder %zu bytes (bound %u MiB, %llu records), slowest sets %zu bytes "
           "for %d ops (K=%u)\n",
           history_used(), mb, (unsigned long long)hist_ring.cap, slow_mem, NOPS, slow_k);
    for (int i = 0; i < NOPS; i++)
        agg_op_free(ops[i]);
    history_fini();
    free(ev);
    free(shape);
    free(is_out);
    return found == nout && !bad ? 0 : 1;
}
