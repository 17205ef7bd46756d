/*
 * hist.c — log-linear latency histogram (see hist.h for the layout and the
 * error guarantee).  The record path is inline in hist.h; this file holds
 * what is off the drain's hot path: allocation, merge, percentiles,
 * iteration.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

_Static_assert(HIST_MAX_NS < (1ull << (HIST_GROUPS + HIST_SUB_BITS - 1)),
               "the top group holds HIST_MAX_NS");

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_free(hist_t *h)
{
    for (unsigned g = 0; g < HIST_GROUPS; g++)
        free(h->grp[g]);
    hist_init(h);
}

void hist_reset(hist_t *h)
{
    for (unsigned g = 0; g < HIST_GROUPS; g++)
        if (h->grp[g])
            memset(h->grp[g], 0, HIST_SUB * sizeof(uint64_t));
    h->count = h->total = h->clamped = h->nomem = h->max = 0;
    h->min = UINT64_MAX;
}

int hist__grow(hist_t *h, unsigned g)
{
    h->grp[g] = calloc(HIST_SUB, sizeof(uint64_t));
    return h->grp[g] ? 0 : -ENOMEM;
}

/* Bounds of bucket (g, sub). */
static inline void bucket_bounds(unsigned g, unsigned sub, uint64_t *lo, uint64_t *hi)
{
    if (g == 0) {
        *lo = sub;
        *hi = sub + 1ull;
        return;
    }
    unsigned shift = g - 1;
    *lo = (uint64_t)(HIST_SUB + sub) << shift;
    *hi = *lo + (1ull << shift);
}

void hist_bucket_of(uint64_t v, uint64_t *lo, uint64_t *hi)
{
    unsigned sub, g = hist__group(v > HIST_MAX_NS ? HIST_MAX_NS : v, &sub);
    bucket_bounds(g, sub, lo, hi);
}

int hist_merge(hist_t *dst, const hist_t *src)
{
    int ret = 0;
    uint64_t lost_all = 0;
    for (unsigned g = 0; g < HIST_GROUPS; g++) {
        const uint64_t *s = src->grp[g];
        if (!s)
            continue;
        if (!dst->grp[g] && hist__grow(dst, g) < 0) {
            uint64_t lost = 0;
            for (unsigned i = 0; i < HIST_SUB; i++)
                lost += s[i];
            lost_all += lost;
            ret = -ENOMEM;
            continue;
        }
        uint64_t *d = dst->grp[g];
        for (unsigned i = 0; i < HIST_SUB; i++)
            d[i] += s[i];
    }
    dst->count += src->count - lost_all;
    dst->total += src->total;
    dst->clamped += src->clamped;
    dst->nomem += src->nomem + lost_all;
    if (src->count && src->min < dst->min)
        dst->min = src->min;
    if (src->count && src->max > dst->max)
        dst->max = src->max;
    return ret;
}

/* The value reported for a bucket: its midpoint, clipped to the recorded
 * range, so that the extremes (p0, p100, one-value histograms) are exact. */
static uint64_t bucket_value(const hist_t *h, unsigned g, unsigned sub)
{
    uint64_t lo, hi;
    bucket_bounds(g, sub, &lo, &hi);
    uint64_t v = lo + (hi - lo - 1) / 2;
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

void hist_percentiles(const hist_t *h, const double *ps, uint64_t *out, size_t n)
{
    uint64_t have = h->count;   /* nomem values are not in it */
    size_t k = 0;
    if (have == 0) {
        for (; k < n; k++)
            out[k] = 0;
        return;
    }
    /* rank of percentile p: the ceil(p/100 * n)-th smallest value, >= 1 */
    uint64_t seen = 0;
    for (unsigned g = 0; g < HIST_GROUPS && k < n; g++) {
        const uint64_t *c = h->grp[g];
        if (!c)
            continue;
        for (unsigned i = 0; i < HIST_SUB && k < n; i++) {
            if (!c[i])
                continue;
            seen += c[i];
            while (k < n) {
                /* the tolerance keeps 99.9% of 200000 at rank 199800
                 * although the product rounds to 199800.00000000003 */
                double r = ps[k] / 100.0 * (double)have - 1e-7;
                uint64_t rank = r <= 1 ? 1 : (uint64_t)ceil(r);
                if (rank > have)
                    rank = have;
                if (rank > seen)
                    break;
                /* the smallest and the largest value are known exactly */
                out[k++] = rank == 1 ? h->min : rank == have ? h->max : bucket_value(h, g, i);
            }
        }
    }
    for (; k < n; k++)
        out[k] = h->max;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    uint64_t v;
    hist_percentiles(h, &p, &v, 1);
    return v;
}

int hist_iterate(const hist_t *h, hist_bucket_fn fn, void *ctx)
{
    for (unsigned g = 0; g < HIST_GROUPS; g++) {
        const uint64_t *c = h->grp[g];
        if (!c)
            continue;
        for (unsigned i = 0; i < HIST_SUB; i++) {
            if (!c[i])
                continue;
            uint64_t lo, hi;
            bucket_bounds(g, i, &lo, &hi);
            int r = fn(ctx, lo, hi, c[i]);
            if (r)
                return r;
        }
    }
    return 0;
}

uint64_t hist_count_le(const hist_t *h, uint64_t v)
{
    unsigned vsub, vg = hist__group(v > HIST_MAX_NS ? HIST_MAX_NS : v, &vsub);
    uint64_t n = 0;
    for (unsigned g = 0; g <= vg; g++) {
        const uint64_t *c = h->grp[g];
        if (!c)
            continue;
        unsigned last = g == vg ? vsub : HIST_SUB - 1;
        for (unsigned i = 0; i <= last; i++)
            n += c[i];
    }
    return n;
}

uint64_t hist_min(const hist_t *h)
{
    return h->count ? h->min : 0;
}

uint64_t hist_max(const hist_t *h)
{
    return h->count ? h->max : 0;
}

double hist_mean(const hist_t *h)
{
    return h->count ? (double)h->total / (double)h->count : 0.0;
}
