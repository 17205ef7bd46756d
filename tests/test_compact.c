/*
 * test_compact.c — an exited process's statistics compacted and packed
 * into one block (daemon/agg.c agg_op_compact() and agg_op_pack(),
 * daemon/slowest.c): everything the cumulative view reads is unchanged —
 * count, total, min, max, mean, standard deviation, every bucket, the
 * children, the slowest samples with their trees — for sparse, dense and
 * wide (count past 2^32 in a bucket) histograms; the window is empty; the
 * block is exactly the size announced; and an op compacted in place still
 * records (its slowest sets grow back).  Also: the window's slowest samples
 * stay exact while the seconds that are over are pruned.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "common.h"
#include "history.h"
#include "slowest.h"

static const qp_op_info_t info = { "set", "Op", "grp", "an operation", 3, 0 };

/* n samples of op o (second sec), each with two children that ran inside
 * it on its thread, through the flight recorder as the daemon does. */
static void feed(struct agg_op *o, int64_t sec, unsigned n, uint64_t (*dur)(unsigned))
{
    static uint64_t t = 1000000000ull;
    for (unsigned i = 0; i < n; i++) {
        uint64_t d = dur(i);
        uint64_t start = t;
        t += d + 1000;
        history_add(start + 10, d / 4, d / 4, 7, 1, 1, 1);
        history_add(start + 20 + d / 4, d / 4, d / 4, 7, 2, 1, 1);
        uint64_t h = history_add(start, d, d / 2, 7, 0, 0, 1);
        cr_assert_eq(agg_add(o, sec, d, d / 2), 0);
        agg_add_child(o, sec, 1, d / 4);
        agg_add_child(o, sec, 2, d / 4);
        if (slowest_wants(o, sec, (unsigned)((uint64_t)sec % agg_slots), d))
            slowest_offer(o, sec, h, start, d, d / 2, 7, 1);
    }
}

static uint64_t d_spread(unsigned i) { return 1000 + (uint64_t)i * 37 % 5000000; }
static uint64_t d_few(unsigned i) { return 2000 + i % 7; }
static uint64_t d_same(unsigned i) { return 4000 + (i == 12345 ? 900000 : 0); }

struct bucket { uint64_t lo, hi, count; };
struct view {
    uint64_t count, total, min, max, self, p[4];
    double mean, sd;
    struct bucket *b;
    size_t nb, capb;
    uint32_t nkids;
    struct agg_child kids[8];
    unsigned nslow;
    struct slow_sample slow[SLOW_K_MAX];
    struct slow_node nodes[SLOW_K_MAX][4];
};

static int put_bucket(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    struct view *v = ctx;
    if (v->nb == v->capb) {
        v->capb = v->capb ? v->capb * 2 : 64;
        v->b = realloc(v->b, v->capb * sizeof *v->b);
        cr_assert_not_null(v->b);
    }
    v->b[v->nb++] = (struct bucket){ lo, hi, count };
    return 0;
}

static void look(const struct agg_op *o, struct view *v)
{
    memset(v, 0, sizeof *v);
    const hist_t *h = &o->cum.h;
    v->count = h->count;
    v->total = h->total;
    v->min = hist_min(h);
    v->max = hist_max(h);
    v->self = o->cum.self;
    static const double ps[4] = { 50, 90, 99, 99.9 };
    hist_percentiles(h, ps, v->p, 4);
    v->mean = agg_mean(&o->cum);
    v->sd = agg_stddev(&o->cum);
    hist_iterate(h, put_bucket, v);
    v->nkids = o->cum.nkids;
    cr_assert_leq(v->nkids, 8);
    memcpy(v->kids, o->cum.kids, v->nkids * sizeof *v->kids);
    const struct slow_sample *s[SLOW_K_MAX];
    v->nslow = slowest_list(o, 1, 0, s, slow_k);
    for (unsigned i = 0; i < v->nslow; i++) {
        v->slow[i] = *s[i];
        cr_assert_not_null(s[i]->tree, "slowest sample %u has no tree", i);
        cr_assert_eq(s[i]->tree->n, 2);
        memcpy(v->nodes[i], s[i]->tree->nodes, 2 * sizeof s[i]->tree->nodes[0]);
    }
}

static void same(const struct view *a, const struct view *b)
{
    cr_assert_eq(a->count, b->count);
    cr_assert_eq(a->total, b->total);
    cr_assert_eq(a->min, b->min);
    cr_assert_eq(a->max, b->max);
    cr_assert_eq(a->self, b->self);
    cr_assert_arr_eq(a->p, b->p, sizeof a->p);
    cr_assert_eq(a->mean, b->mean);
    cr_assert_eq(a->sd, b->sd);
    cr_assert_eq(a->nb, b->nb);
    cr_assert_arr_eq(a->b, b->b, a->nb * sizeof *a->b);
    cr_assert_eq(a->nkids, b->nkids);
    cr_assert_arr_eq(a->kids, b->kids, a->nkids * sizeof *a->kids);
    cr_assert_eq(a->nslow, b->nslow);
    for (unsigned i = 0; i < a->nslow; i++) {
        cr_assert_eq(a->slow[i].start, b->slow[i].start);
        cr_assert_eq(a->slow[i].dur, b->slow[i].dur);
        cr_assert_eq(a->slow[i].self, b->slow[i].self);
        cr_assert_eq(a->slow[i].tid, b->slow[i].tid);
        cr_assert_arr_eq(a->nodes[i], b->nodes[i], sizeof a->nodes[i]);
    }
}

static void setup(void)
{
    agg_window_s = 10;
    agg_slots = 11;
    slow_k = 5;
    cr_assert_eq(history_init(4), 0);
}

static void teardown(void)
{
    history_fini();
}

/* Fills an op over two seconds, compacts and packs it, compares. */
static void pack_case(uint64_t (*dur)(unsigned), unsigned n, int wide)
{
    struct agg_op *o = agg_op_new(&info);
    cr_assert_not_null(o);
    feed(o, 100, n / 2, dur);
    feed(o, 101, n - n / 2, dur);
    if (wide)   /* a bucket past 2^32: the dense form's side table */
        cr_assert_eq(hist_record(&o->cum.h, 4000, 5000000000ull), 0);
    struct view before, after;
    look(o, &before);
    cr_assert_eq(before.nslow, 5);

    agg_op_compact(o);
    cr_assert_null(o->win);
    struct view mid;
    look(o, &mid);
    same(&before, &mid);

    size_t size = agg_op_pack_size(o);
    cr_assert_eq(size % 8, 0);
    char *block = malloc(size), *cur = block;
    cr_assert_not_null(block);
    struct agg_op *d = agg_op_pack(o, &cur);
    cr_assert_eq((size_t)(cur - block), size, "packed %zu bytes of %zu", (size_t)(cur - block),
                 size);
    agg_op_free(o);
    look(d, &after);
    same(&before, &after);
    cr_assert_str_eq(d->set, "set");
    cr_assert_str_eq(d->name, "Op");
    cr_assert_str_eq(d->group, "grp");
    cr_assert_str_eq(d->desc, "an operation");
    cr_assert_eq(d->priority, 3);
    cr_assert_eq(d->inblock & AGG_INBLOCK, AGG_INBLOCK);
    /* The window holds nothing of it any more. */
    struct agg_stats w;
    agg_window(d, 101, &w);
    cr_assert_eq(w.h.count, 0);
    agg_stats_free(&w);
    const struct slow_sample *s[1];
    cr_assert_eq(slowest_list(d, 0, 101, s, 1), 0);
    agg_op_free(d);   /* only dense counters it took over */
    free(block);
    free(before.b);
    free(mid.b);
    free(after.b);
}

TestSuite(compact, .init = setup, .fini = teardown);

Test(compact, sparse_histogram_moves_into_the_block)
{
    pack_case(d_few, 300, 0);
}

Test(compact, dense_histogram_is_taken_over)
{
    pack_case(d_spread, 60000, 0);
}

Test(compact, wide_counts_survive)
{
    pack_case(d_same, 20000, 1);
}

Test(compact, compacted_in_place_still_records)
{
    struct agg_op *o = agg_op_new(&info);
    cr_assert_not_null(o);
    feed(o, 100, 50, d_few);
    agg_op_compact(o);
    cr_assert_eq(o->slow->nwin, 0);
    feed(o, 200, 10, d_spread);   /* d_spread(9) = 1333: not among the slowest */
    feed(o, 201, 1, d_same);      /* 4000: the slowest now */
    cr_assert_eq(o->cum.h.count, 61);
    cr_assert_eq(o->cum.nkids, 2);
    cr_assert_eq(o->cum.kids[0].count, 61);
    const struct slow_sample *s[SLOW_K_MAX];
    cr_assert_eq(slowest_list(o, 1, 0, s, slow_k), 5);
    cr_assert_eq(s[0]->dur, 4000);
    cr_assert_eq(slowest_list(o, 0, 201, s, slow_k), 5);   /* the window's again */
    struct agg_stats w;
    agg_window(o, 201, &w);
    cr_assert_eq(w.h.count, 11);
    agg_stats_free(&w);
    agg_op_free(o);
}

/* The window's slowest samples stay exact while the seconds that are over
 * keep only the samples that can still make the K slowest (slowest.c
 * win_prune()): against every sample kept aside, over a minute of seconds
 * with late samples of the two seconds before and, in one case, many equal
 * durations; and a second that is over keeps fewer than K. */
static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

struct ref_smp {
    int64_t sec;
    uint64_t dur;
};

static int dur_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return QP_CMP(y, x);
}

static void window_case(uint64_t dur_mod, unsigned k)
{
    slow_k = k;
    struct agg_op *o = agg_op_new(&info);
    cr_assert_not_null(o);
    size_t cap = 70 * 400, n = 0;
    struct ref_smp *all = malloc(cap * sizeof *all);
    uint64_t *best = malloc(cap * sizeof *best);
    cr_assert(all && best);
    uint64_t x = 42 + dur_mod, start = 0;
    unsigned pruned_smaller = 0;
    for (int64_t sec = 100; sec < 170; sec++) {
        unsigned m = 20 + (unsigned)(lcg(&x) % 300);
        for (unsigned i = 0; i < m; i++) {
            int64_t s = sec;
            unsigned r = (unsigned)(lcg(&x) % 100);
            if (r < 8 && sec > 100)
                s = sec - 1 - (r < 3);   /* drained late */
            uint64_t d = 1 + lcg(&x) % dur_mod;
            if (r == 99)
                d += dur_mod;   /* now and then a slow one */
            all[n++] = (struct ref_smp){ s, d };
            cr_assert_eq(agg_add(o, s, d, d), 0);
            if (slowest_wants(o, s, (unsigned)((uint64_t)s % agg_slots), d))
                slowest_offer(o, s, UINT64_MAX, (uint64_t)s * 1000000000u + ++start, d, d, 7, 1);
        }
        size_t nb = 0;
        for (size_t i = 0; i < n; i++)
            if (all[i].sec > sec - (int64_t)agg_window_s && all[i].sec <= sec)
                best[nb++] = all[i].dur;
        qsort(best, nb, sizeof *best, dur_desc);
        const struct slow_sample *got[SLOW_K_MAX];
        unsigned ng = slowest_list(o, 0, sec, got, slow_k);
        cr_assert_eq(ng, nb < slow_k ? nb : slow_k, "second %lld", (long long)sec);
        for (unsigned i = 0; i < ng; i++)
            cr_assert_eq(got[i]->dur, best[i], "second %lld, #%u: %llu, not %llu", (long long)sec,
                         i, (unsigned long long)got[i]->dur, (unsigned long long)best[i]);
        const struct slow_set *prev = &o->slow->win[(uint64_t)(sec - 4) % agg_slots];
        pruned_smaller += prev->sec == sec - 4 && prev->n < slow_k;
    }
    cr_assert_gt(pruned_smaller, 10, "seconds that are over shrink (%u times)", pruned_smaller);
    free(all);
    free(best);
    agg_op_free(o);
    slow_k = 5;
}

Test(compact, window_slowest_exact_while_pruned)
{
    window_case(1000000, 5);
    window_case(1000000, 1);
    window_case(1000000, 20);
}

Test(compact, window_slowest_exact_with_equal_durations)
{
    window_case(40, 5);
}
