/*
 * test_hist.c — the latency histogram (lib/hist.c): bucket bounds, the
 * stated error guarantee of percentiles against exact values on several
 * distributions, the 1 ns .. 1 hour range, clamping, merge, iteration.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "hist.h"
#include "testutil.h"

static uint64_t rng = 0x12345678abcdefull;

static uint64_t exact(const uint64_t *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n - 1e-9);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

/* Records v[0..n) and checks every percentile of a fine grid. */
static void check_dist(const char *name, uint64_t *v, size_t n)
{
    hist_t h;
    hist_init(&h);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(hist_record(&h, v[i], 1), 0);
    qsort(v, n, sizeof *v, tu_cmp_u64);
    cr_assert_eq(h.count, n, "%s: count", name);
    cr_assert_eq(hist_min(&h), v[0], "%s: min", name);
    cr_assert_eq(hist_max(&h), v[n - 1], "%s: max", name);
    static const double ps[] = { 0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = (double)exact(v, n, ps[i]);
        double got = (double)hist_percentile(&h, ps[i]);
        double err = fabs(got - want) / want;
        cr_assert(err <= 1.0 / 256 + 1e-12,
                  "%s: p%g = %.0f, exact %.0f: error %.4f%% exceeds the stated 0.39%%", name,
                  ps[i], got, want, err * 100);
    }
    hist_free(&h);
}

#define N 200000

Test(hist, buckets_are_narrow_and_hold_their_value)
{
    for (int i = 0; i < 100000; i++) {
        uint64_t v = (uint64_t)exp(tu_u01(&rng) * log((double)HIST_MAX_NS));
        uint64_t lo, hi;
        hist_bucket_of(v, &lo, &hi);
        cr_assert(lo <= v && v < hi, "%llu outside its bucket [%llu, %llu)",
                  (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
        cr_assert(hi - lo <= (lo / HIST_SUB > 1 ? lo / HIST_SUB : 1),
                  "bucket [%llu, %llu) wider than 1/128 of its start", (unsigned long long)lo,
                  (unsigned long long)hi);
    }
}

Test(hist, small_values_are_exact)
{
    hist_t h;
    hist_init(&h);
    for (uint64_t v = 1; v < 128; v++)
        hist_record(&h, v, 1);
    for (int p = 1; p <= 100; p++) {
        uint64_t want = (uint64_t)ceil(p / 100.0 * 127);
        cr_assert_eq(hist_percentile(&h, p), want, "p%d", p);
    }
    hist_free(&h);
}

Test(hist, uniform_within_guarantee)
{
    uint64_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = 1000 + (uint64_t)(tu_u01(&rng) * 99000);
    check_dist("uniform 1us..100us", v, N);
    free(v);
}

Test(hist, lognormal_within_guarantee)
{
    uint64_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = (uint64_t)(20000 * exp(1.0 * tu_gauss(&rng))) + 1;
    check_dist("lognormal median 20us sigma 1", v, N);
    free(v);
}

Test(hist, bimodal_slow_tail_within_guarantee)
{
    uint64_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = (uint64_t)((tu_u01(&rng) < 0.01 ? 5000000.0 : 2000.0) * (0.9 + 0.2 * tu_u01(&rng)));
    check_dist("bimodal 2us / 1% 5ms", v, N);
    free(v);
}

Test(hist, one_nanosecond_and_one_hour)
{
    hist_t h;
    hist_init(&h);
    hist_record(&h, 1, 1000);
    hist_record(&h, HIST_MAX_NS, 1000);
    cr_assert_eq(hist_percentile(&h, 50), 1, "p50 of 1 ns values");
    cr_assert_eq(hist_percentile(&h, 0), 1);
    cr_assert_eq(hist_percentile(&h, 100), HIST_MAX_NS, "1 hour is the max and exact");
    double p75 = (double)hist_percentile(&h, 75);
    cr_assert(fabs(p75 - (double)HIST_MAX_NS) / (double)HIST_MAX_NS <= 1.0 / 256);
    cr_assert_eq(hist_clamped(&h), 0);
    hist_free(&h);
}

Test(hist, values_above_an_hour_are_clamped_and_counted)
{
    hist_t h;
    hist_init(&h);
    hist_record(&h, 10 * HIST_MAX_NS, 3);
    hist_record(&h, 5, 1);
    cr_assert_eq(h.count, 4);
    cr_assert_eq(hist_clamped(&h), 3);
    cr_assert_eq(hist_max(&h), 10 * HIST_MAX_NS, "max keeps the true value");
    uint64_t lo, hi;
    hist_bucket_of(HIST_MAX_NS, &lo, &hi);
    cr_assert(hist_percentile(&h, 99) >= lo, "clamped values sit in the top bucket");
    /* the count follows merges (into an empty one and a dense one), and
     * goes with a reset */
    hist_t m, d;
    hist_init(&m);
    hist_init(&d);
    for (int i = 0; i < 3000; i++)
        hist_record(&d, 1000 + 7 * (uint64_t)i, 1);
    hist_merge(&m, &h);
    hist_merge(&d, &h);
    hist_merge(&d, &m);
    cr_assert_eq(hist_clamped(&m), 3);
    cr_assert_eq(hist_clamped(&d), 6);
    cr_assert_eq(hist_nomem(&d), 0);
    cr_assert_eq(hist_set_rare(&m, 7, 2), 0);
    cr_assert_eq(hist_clamped(&m), 7);
    cr_assert_eq(hist_nomem(&m), 2);
    hist_reset(&h);
    cr_assert_eq(hist_clamped(&h), 0);
    hist_record(&h, 2 * HIST_MAX_NS, 1);
    cr_assert_eq(hist_clamped(&h), 1);
    hist_free(&h);
    hist_free(&m);
    hist_free(&d);
}

static int sum_buckets(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    uint64_t *s = ctx;
    cr_assert(lo < hi && lo >= s[1], "buckets ascend");
    s[0] += count;
    s[1] = hi;
    return 0;
}

Test(hist, merge_equals_recording_both_and_iteration_covers_all)
{
    hist_t a, b, c;
    hist_init(&a);
    hist_init(&b);
    hist_init(&c);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = (uint64_t)(1000 * exp(2 * tu_gauss(&rng))) + 1;
        hist_record(i % 3 ? &a : &b, v, 1);
        hist_record(&c, v, 1);
    }
    cr_assert_eq(hist_merge(&a, &b), 0);
    cr_assert_eq(a.count, c.count);
    cr_assert_eq(a.total, c.total);
    cr_assert_eq(a.min, c.min);
    cr_assert_eq(a.max, c.max);
    for (double p = 0; p <= 100; p += 0.5)
        cr_assert_eq(hist_percentile(&a, p), hist_percentile(&c, p), "p%g after merge", p);
    uint64_t s[2] = { 0, 0 };
    hist_iterate(&a, sum_buckets, s);
    cr_assert_eq(s[0], a.count, "the buckets hold every value");
    cr_assert_eq(hist_count_le(&a, UINT64_MAX), a.count);
    hist_free(&a);
    hist_free(&b);
    hist_free(&c);
}

Test(hist, count_le_and_reset)
{
    hist_t h;
    hist_init(&h);
    for (uint64_t v = 100; v <= 100000; v += 100)
        hist_record(&h, v, 1);
    uint64_t le = hist_count_le(&h, 10000);
    cr_assert(le >= 99 && le <= 101, "about 100 values <= 10us, got %llu",
              (unsigned long long)le);
    hist_reset(&h);
    cr_assert_eq(h.count, 0);
    cr_assert_eq(hist_percentile(&h, 50), 0, "empty histogram");
    cr_assert_eq(hist_mean(&h), 0.0);
    hist_record(&h, 7, 2);
    cr_assert_eq(hist_percentile(&h, 50), 7);
    cr_assert_eq(hist_mean(&h), 7.0);
    hist_free(&h);
}

/* A histogram starts sparse (4 bytes per non-empty bucket), turns dense
 * past HIST_SPARSE_MAX buckets, and packs back; the counts never change. */
Test(hist, sparse_dense_and_packed_forms_keep_every_count)
{
    hist_t h, all, rev, d, spare;
    hist_init(&h);
    hist_init(&all);
    hist_init(&rev);
    hist_init(&d);
    hist_init(&spare);
    uint64_t v1[300], v2[3000];
    for (int i = 0; i < 300; i++)
        v1[i] = (uint64_t)(20000 * exp(tu_gauss(&rng))) + 1;
    for (int i = 0; i < 3000; i++)
        v2[i] = (uint64_t)(20000 * exp(2 * tu_gauss(&rng))) + 1;
    for (int i = 0; i < 300; i++)
        hist_record(&h, v1[i], 1);
    cr_assert_null(h.grp, "300 values stay sparse");
    cr_assert(hist_memory(&h) <= 2048, "sparse: %zu bytes", hist_memory(&h));
    /* the same values: sparse then dense, in two orders */
    for (int i = 0; i < 300; i++)
        hist_record(&all, v1[i], 1);
    for (int i = 0; i < 3000; i++)
        hist_record(&all, v2[i], 1);
    for (int i = 2999; i >= 0; i--)
        hist_record(&rev, v2[i], 1);
    hist_merge(&rev, &h);
    cr_assert_not_null(all.grp, "3300 values over many octaves went dense");
    cr_assert_eq(all.count, 3300);
    for (double p = 0; p <= 100; p += 0.1)
        cr_assert_eq(hist_percentile(&all, p), hist_percentile(&rev, p), "p%g", p);
    cr_assert_eq(hist_count_le(&all, 30000), hist_count_le(&rev, 30000));
    /* a dense histogram with few buckets packs, its counters go spare */
    for (int i = 0; i < 3000; i++)
        hist_record(&d, v2[i], 1);
    hist_reset(&d);
    for (int i = 0; i < 300; i++)
        hist_record(&d, v1[i], 1);
    cr_assert_not_null(d.grp, "reset keeps the dense counters");
    size_t dense = hist_memory(&d);
    cr_assert_eq(hist_pack(&d, &spare), 1, "a dense histogram with few buckets packs");
    cr_assert(hist_memory(&d) < dense / 4, "packed %zu bytes, dense %zu", hist_memory(&d), dense);
    cr_assert_not_null(spare.grp, "the counters went to the spare for reuse");
    for (double p = 0; p <= 100; p += 0.1)
        cr_assert_eq(hist_percentile(&d, p), hist_percentile(&h, p), "p%g packed", p);
    hist_t m;   /* merging from the packed (frozen) form */
    hist_init(&m);
    hist_merge(&m, &d);
    hist_merge(&m, &d);
    for (int k = 1; k <= 3; k++) {
        uint64_t v = hist_percentile(&h, 25.0 * k);
        cr_assert_eq(hist_count_le(&m, v), 2 * hist_count_le(&h, v), "merge of packed at %d", k);
    }
    hist_free(&m);
    hist_record(&d, 12345, 2);
    hist_record(&h, 12345, 2);
    for (double p = 0; p <= 100; p += 0.1)
        cr_assert_eq(hist_percentile(&d, p), hist_percentile(&h, p), "p%g after packing", p);
    hist_free(&h);
    hist_free(&all);
    hist_free(&rev);
    hist_free(&d);
    hist_free(&spare);
}

/* A dense counter past 2^32 keeps its full count. */
Test(hist, counts_beyond_32_bits)
{
    hist_t h;
    hist_init(&h);
    for (int i = 0; i < 2000; i++)
        hist_record(&h, 1000 + 37 * (uint64_t)i, 1);   /* dense */
    hist_record(&h, 5000, 3000000000u);
    hist_record(&h, 5000, 3000000000u);
    hist_record(&h, 7000, 1ull << 33);
    uint64_t n = hist_count_le(&h, 5000) - hist_count_le(&h, 4991);   /* [4992, 5024) */
    cr_assert_eq(h.count, 2000 + 6000000000ull + (1ull << 33));
    cr_assert_geq(n, 6000000000ull, "bucket of 5000 holds %llu", (unsigned long long)n);
    cr_assert_lt(n, 6000000000ull + 64, "bucket of 5000 holds %llu", (unsigned long long)n);
    uint64_t le = hist_count_le(&h, HIST_MAX_NS);
    cr_assert_eq(le, h.count, "every value counted once: %llu", (unsigned long long)le);
    hist_free(&h);
}

/* Dense counters start 16 bits wide: a bucket counting past 65535, one
 * value at a time, widens its octave and loses nothing; the octaves beside
 * it stay narrow (half the memory). */
Test(hist, narrow_counters_widen_without_losing_a_count)
{
    hist_t h, ref;
    hist_init(&h);
    hist_init(&ref);
    for (int i = 0; i < 2000; i++) {   /* dense: many octaves, each busy */
        uint64_t v = 200 + 53 * (uint64_t)i;
        hist_record(&h, v, 1);
        hist_record(&ref, v, 1);
    }
    cr_assert_not_null(h.grp);
    size_t narrow = hist_memory(&h);
    for (int i = 0; i < 70000; i++)
        hist_record(&h, 5000, 1);
    hist_record(&ref, 5000, 70000);
    hist_record(&h, 20000, 65536);   /* a large n at once, into another one */
    hist_record(&ref, 20000, 65536);
    cr_assert_eq(h.count, ref.count);
    size_t wide = hist_memory(&h);
    cr_assert_eq(wide - narrow, 2 * HIST_SUB * 2, "two octaves widened: %zu -> %zu bytes", narrow,
                 wide);
    uint64_t n = hist_count_le(&h, 5000) - hist_count_le(&h, 4991);   /* [4992, 5024) */
    cr_assert_eq(n, hist_count_le(&ref, 5000) - hist_count_le(&ref, 4991));
    cr_assert_geq(n, 70000);
    for (double p = 0; p <= 100; p += 0.5)
        cr_assert_eq(hist_percentile(&h, p), hist_percentile(&ref, p), "p%g", p);
    for (uint64_t v = 100; v < 200000; v = v * 9 / 8)
        cr_assert_eq(hist_count_le(&h, v), hist_count_le(&ref, v), "le %llu", (unsigned long long)v);
    hist_reset(&h);   /* widened octaves stay wide, counting from 0 */
    hist_record(&h, 5000, 3);
    cr_assert_eq(hist_count_le(&h, 5000) - hist_count_le(&h, 4991), 3);
    hist_free(&h);
    hist_free(&ref);
}

Test(hist, busy_buckets_stay_dense)
{
    hist_t d;
    hist_init(&d);
    hist_record(&d, 300, 1u << 20);
    hist_record(&d, 5, 1);
    cr_assert_not_null(d.grp, "a count beyond the sparse width makes it dense");
    cr_assert_eq(hist_pack(&d, NULL), 0, "a count beyond the packed width stays dense");
    cr_assert_not_null(d.grp);
    cr_assert_eq(hist_percentile(&d, 50), 300);
    hist_free(&d);
}

/* A garbage duration near 2^64 (QPULSE_RECORD of a negative difference)
 * saturates the sum instead of wrapping it to a small value (a mean below
 * the minimum, a Prometheus _sum that goes backwards); merging too. */
Test(hist, total_saturates_instead_of_wrapping)
{
    hist_t h, m;
    hist_init(&h);
    hist_init(&m);
    hist_record(&h, 1000, 1);
    hist_record(&h, UINT64_MAX - 10, 1);
    cr_assert_eq(h.total, UINT64_MAX, "total %llu", (unsigned long long)h.total);
    cr_assert(hist_mean(&h) >= (double)hist_min(&h), "the mean is not below the min");
    hist_record(&h, 5, 1);
    cr_assert_eq(h.total, UINT64_MAX, "stays saturated");
    hist_record(&m, UINT64_MAX / 2, 3);
    cr_assert_eq(m.total, UINT64_MAX, "v * n saturates");
    hist_t s;
    hist_init(&s);
    hist_record(&s, UINT64_MAX / 2 + 1, 1);
    hist_merge(&s, &h);
    cr_assert_eq(s.total, UINT64_MAX, "merge saturates");
    hist_free(&h);
    hist_free(&m);
    hist_free(&s);
}

/* Merging any mix of forms (sparse, dense with sparse tails, frozen) gives
 * the sum of the parts, bucket by bucket. */
Test(hist, merging_every_form_adds_up)
{
    enum { NH = 12 };
    hist_t part[NH], sum;
    hist_init(&sum);
    for (int k = 0; k < NH; k++) {
        hist_init(&part[k]);
        int n = (k % 4 == 0) ? 3000 : 40 + 60 * k;   /* some go dense */
        for (int i = 0; i < n; i++)
            hist_record(&part[k], (uint64_t)(20000 * exp((1 + k % 3) * tu_gauss(&rng))) + 1,
                        k == 5 ? 1000 : 1);
        if (k % 2)
            hist_pack(&part[k], NULL);   /* frozen, or left dense */
    }
    for (int k = 0; k < NH; k++)
        hist_merge(&sum, &part[k]);
    uint64_t total = 0;
    for (int k = 0; k < NH; k++)
        total += part[k].count;
    cr_assert_eq(sum.count, total);
    for (uint64_t v = 1; v < 100000000; v = v * 5 / 4 + 1) {
        uint64_t want = 0;
        for (int k = 0; k < NH; k++)
            want += hist_count_le(&part[k], v);
        cr_assert_eq(hist_count_le(&sum, v), want, "count <= %llu", (unsigned long long)v);
    }
    for (int k = 0; k < NH; k++)
        hist_free(&part[k]);
    hist_free(&sum);
}
