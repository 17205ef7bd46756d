/*
 * hist.c — log-linear latency histogram (see hist.h for the layout and the
 * error guarantee).  The record path is inline in hist.h; this file holds
 * what is off the drain's hot path: allocation, packing, merge,
 * percentiles, iteration.
 *
 * Every reader walks the non-empty buckets in ascending order through
 * walk(), which hides whether the histogram is dense or packed.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

_Static_assert(HIST_MAX_NS < (1ull << (HIST_GROUPS + HIST_SUB_BITS - 1)),
               "the top group holds HIST_MAX_NS");
_Static_assert(HIST_GROUPS * HIST_SUB < (1u << (32 - HIST_PACK_SHIFT)),
               "a bucket index fits a packed entry");

#define PACK_COUNT_MASK ((1u << HIST_PACK_SHIFT) - 1)

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_free(hist_t *h)
{
    for (unsigned g = 0; g < HIST_GROUPS; g++)
        free(h->grp[g]);
    free(h->packed);
    hist_init(h);
}

void hist_reset(hist_t *h)
{
    for (unsigned g = 0; g < HIST_GROUPS; g++)
        if (h->grp[g])
            memset(h->grp[g], 0, HIST_SUB * sizeof(uint64_t));
    free(h->packed);
    h->packed = NULL;
    h->npacked = 0;
    h->count = h->total = h->clamped = h->nomem = h->max = 0;
    h->min = UINT64_MAX;
}

/* Turns a packed histogram back into the dense form. */
static int unpack(hist_t *h)
{
    for (uint32_t i = 0; i < h->npacked; i++) {
        unsigned idx = (unsigned)(h->packed[i] >> HIST_PACK_SHIFT);
        unsigned g = idx / HIST_SUB;
        if (!h->grp[g] && !(h->grp[g] = calloc(HIST_SUB, sizeof(uint64_t)))) {
            for (unsigned k = 0; k < HIST_GROUPS; k++) {   /* back to packed */
                free(h->grp[k]);
                h->grp[k] = NULL;
            }
            return -ENOMEM;
        }
        h->grp[g][idx % HIST_SUB] = h->packed[i] & PACK_COUNT_MASK;
    }
    free(h->packed);
    h->packed = NULL;
    h->npacked = 0;
    return 0;
}

int hist__grow(hist_t *h, unsigned g)
{
    if (h->packed && unpack(h) < 0)
        return -ENOMEM;
    if (h->grp[g])
        return 0;
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

/* Calls fn(ctx, group, sub, count) for every non-empty bucket in ascending
 * order, dense or packed; stops when fn returns non-zero. */
typedef int (*walk_fn)(void *ctx, unsigned g, unsigned sub, uint64_t count);

static int walk(const hist_t *h, walk_fn fn, void *ctx)
{
    int r;
    if (h->packed) {
        for (uint32_t i = 0; i < h->npacked; i++) {
            unsigned idx = (unsigned)(h->packed[i] >> HIST_PACK_SHIFT);
            if ((r = fn(ctx, idx / HIST_SUB, idx % HIST_SUB, h->packed[i] & PACK_COUNT_MASK)))
                return r;
        }
        return 0;
    }
    for (unsigned g = 0; g < HIST_GROUPS; g++) {
        const uint64_t *c = h->grp[g];
        if (!c)
            continue;
        for (unsigned i = 0; i < HIST_SUB; i++)
            if (c[i] && (r = fn(ctx, g, i, c[i])))
                return r;
    }
    return 0;
}

static int count_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    (void)g;
    (void)sub;
    (void)count;
    ++*(uint32_t *)ctx;
    return 0;
}

struct pack_ctx {
    uint32_t *v;
    uint32_t n;
};

static int pack_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    struct pack_ctx *p = ctx;
    if (count > PACK_COUNT_MASK)
        return -1;   /* a busy bucket: stay dense */
    p->v[p->n++] = ((uint32_t)(g * HIST_SUB + sub) << HIST_PACK_SHIFT) | (uint32_t)count;
    return 0;
}

int hist_pack(hist_t *h, hist_t *spare)
{
    if (h->packed)
        return 1;
    uint32_t n = 0;
    walk(h, count_entry, &n);
    if ((size_t)n * sizeof(uint32_t) >= hist_memory(h) && n)
        return 0;   /* dense is smaller: most buckets are in use */
    struct pack_ctx pc = { n ? malloc(n * sizeof(uint32_t)) : NULL, 0 };
    if (n && !pc.v)
        return -ENOMEM;
    if (walk(h, pack_entry, &pc)) {
        free(pc.v);
        return 0;
    }
    for (unsigned g = 0; g < HIST_GROUPS; g++) {
        if (!h->grp[g])
            continue;
        if (spare && !spare->grp[g] && !spare->packed) {
            memset(h->grp[g], 0, HIST_SUB * sizeof(uint64_t));
            spare->grp[g] = h->grp[g];
        } else {
            free(h->grp[g]);
        }
        h->grp[g] = NULL;
    }
    /* An empty histogram packs to no entries; a non-NULL array marks the
     * form, so keep a placeholder. */
    h->packed = pc.v ? pc.v : malloc(sizeof(uint32_t));
    h->npacked = n;
    if (!h->packed) {
        h->npacked = 0;
        return -ENOMEM;   /* now dense and empty: still correct */
    }
    return 1;
}

size_t hist_memory(const hist_t *h)
{
    size_t n = (size_t)h->npacked * sizeof(uint32_t);
    for (unsigned g = 0; g < HIST_GROUPS; g++)
        if (h->grp[g])
            n += HIST_SUB * sizeof(uint64_t);
    return n;
}

static int merge_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    hist_t *dst = ctx;
    if (!dst->grp[g] && hist__grow(dst, g) < 0) {
        dst->nomem += count;
        dst->count -= count;   /* added in full by hist_merge */
        return 0;
    }
    dst->grp[g][sub] += count;
    return 0;
}

int hist_merge(hist_t *dst, const hist_t *src)
{
    uint64_t nomem = dst->nomem;
    if (dst->packed && unpack(dst) < 0)
        return -ENOMEM;
    dst->count += src->count;
    walk(src, merge_entry, dst);
    if (__builtin_add_overflow(dst->total, src->total, &dst->total))
        dst->total = UINT64_MAX;   /* saturates, as in hist_record() */
    dst->clamped += src->clamped;
    dst->nomem += src->nomem;
    if (src->count && src->min < dst->min)
        dst->min = src->min;
    if (src->count && src->max > dst->max)
        dst->max = src->max;
    return dst->nomem - src->nomem > nomem ? -ENOMEM : 0;
}

/* The value reported for a bucket: its midpoint, clipped to the recorded
 * range. */
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

struct pct_ctx {
    const hist_t *h;
    const double *ps;
    uint64_t *out;
    size_t n, k;
    uint64_t seen;
};

static int pct_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    struct pct_ctx *c = ctx;
    uint64_t have = c->h->count;   /* nomem values are not in it */
    c->seen += count;
    while (c->k < c->n) {
        /* rank of percentile p: the ceil(p/100 * n)-th smallest value; the
         * tolerance keeps 99.9% of 200000 at rank 199800 although the
         * product rounds to 199800.00000000003 */
        double r = c->ps[c->k] / 100.0 * (double)have - 1e-7;
        uint64_t rank = r <= 1 ? 1 : (uint64_t)ceil(r);
        if (rank > have)
            rank = have;
        if (rank > c->seen)
            break;
        /* the smallest and the largest value are known exactly */
        c->out[c->k++] = rank == 1      ? c->h->min
                         : rank == have ? c->h->max
                                        : bucket_value(c->h, g, sub);
    }
    return c->k == c->n;
}

void hist_percentiles(const hist_t *h, const double *ps, uint64_t *out, size_t n)
{
    struct pct_ctx c = { h, ps, out, n, 0, 0 };
    if (h->count == 0) {
        for (size_t k = 0; k < n; k++)
            out[k] = 0;
        return;
    }
    walk(h, pct_entry, &c);
    for (; c.k < n; c.k++)
        out[c.k] = h->max;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    uint64_t v;
    hist_percentiles(h, &p, &v, 1);
    return v;
}

struct iter_ctx {
    hist_bucket_fn fn;
    void *ctx;
};

static int iter_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    struct iter_ctx *c = ctx;
    uint64_t lo, hi;
    bucket_bounds(g, sub, &lo, &hi);
    return c->fn(c->ctx, lo, hi, count);
}

int hist_iterate(const hist_t *h, hist_bucket_fn fn, void *ctx)
{
    struct iter_ctx c = { fn, ctx };
    return walk(h, iter_entry, &c);
}

struct le_ctx {
    unsigned idx;       /* last bucket index counted */
    uint64_t n;
};

static int le_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    struct le_ctx *c = ctx;
    if (g * HIST_SUB + sub > c->idx)
        return 1;
    c->n += count;
    return 0;
}

uint64_t hist_count_le(const hist_t *h, uint64_t v)
{
    unsigned sub, g = hist__group(v > HIST_MAX_NS ? HIST_MAX_NS : v, &sub);
    struct le_ctx c = { g * HIST_SUB + sub, 0 };
    walk(h, le_entry, &c);
    return c.n;
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
