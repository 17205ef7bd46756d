/*
 * prom_native.c — a qpulse histogram as Prometheus native buckets (see
 * prom_native.h for the mapping and its error bound).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom_native.h"

/* 2^(j/n - 1): the fraction (in [0.5, 1)) where bucket j of a power of two
 * ends. */
static double frac_bound(int j, unsigned n)
{
    return exp2((double)j / (double)n - 1.0);
}

int32_t prom_native_index(double v, int schema)
{
    int e;
    double frac = frexp(v, &e);   /* v = frac * 2^e, frac in [0.5, 1) */
    unsigned n = 1u << schema;
    /* the smallest j with frac_bound(j) >= frac (n: the next power) */
    int j = (int)ceil((double)n * log2(2.0 * frac));
    if (j < 0)
        j = 0;
    if (j > (int)n)
        j = (int)n;
    while (j > 0 && frac_bound(j - 1, n) >= frac)
        j--;
    while (j < (int)n && frac_bound(j, n) < frac)
        j++;
    return (int32_t)(j + (e - 1) * (int)n);
}

double prom_native_upper(int32_t idx, int schema)
{
    int32_t n = (int32_t)1 << schema;
    int32_t q = idx >= 0 ? idx / n : -((-idx + n - 1) / n);   /* floor */
    int32_t r = idx - q * n;
    return ldexp(frac_bound(r, (unsigned)n), q + 1);
}

struct build {
    prom_native_t *n;
    uint32_t capspans, capbuckets;
    int32_t last;        /* index of the last bucket in counts */
    int err;
};

static int push_bucket(struct build *b, uint64_t count)
{
    prom_native_t *n = b->n;
    if (n->nbuckets == b->capbuckets) {
        uint32_t cap = b->capbuckets ? 2 * b->capbuckets : 64;
        uint64_t *c = realloc(n->counts, cap * sizeof *c);
        if (!c)
            return -ENOMEM;
        n->counts = c;
        b->capbuckets = cap;
    }
    n->counts[n->nbuckets++] = count;
    n->spans[n->nspans - 1].length++;
    return 0;
}

static int push_span(struct build *b, int32_t offset)
{
    prom_native_t *n = b->n;
    if (n->nspans == b->capspans) {
        uint32_t cap = b->capspans ? 2 * b->capspans : 8;
        struct prom_span *s = realloc(n->spans, cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        n->spans = s;
        b->capspans = cap;
    }
    n->spans[n->nspans++] = (struct prom_span){ offset, 0 };
    return 0;
}

static int add_bucket(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    struct build *b = ctx;
    prom_native_t *n = b->n;
    if (lo == 0) {   /* the exact bucket of 0 ns */
        n->zero_count += count;
        n->count += count;
        return 0;
    }
    /* an exact bucket stands for its value, a wider one for its midpoint */
    double mid = hi - lo == 1 ? (double)lo : ((double)lo + (double)hi) / 2.0;
    int32_t idx = prom_native_index(mid * 1e-9, n->schema);
    int r = 0;
    if (n->nbuckets == 0) {
        n->first = idx;
        if ((r = push_span(b, idx)) == 0)
            r = push_bucket(b, count);
    } else if (idx == b->last) {
        n->counts[n->nbuckets - 1] += count;
    } else {
        int32_t gap = idx - b->last - 1;   /* >= 0: midpoints ascend */
        if (gap <= 2) {
            for (int32_t i = 0; i < gap && r == 0; i++)
                r = push_bucket(b, 0);
        } else {
            r = push_span(b, gap);
        }
        if (r == 0)
            r = push_bucket(b, count);
    }
    if (r < 0) {
        b->err = r;
        return 1;
    }
    b->last = idx;
    n->count += count;
    return 0;
}

int prom_native_from_hist(const hist_t *h, int schema, prom_native_t *out)
{
    memset(out, 0, sizeof *out);
    out->schema = schema;
    struct build b = { out, 0, 0, 0, 0 };
    hist_iterate(h, add_bucket, &b);
    if (b.err) {
        prom_native_free(out);
        return b.err;
    }
    return 0;
}

void prom_native_free(prom_native_t *n)
{
    free(n->spans);
    free(n->counts);
    int schema = n->schema;
    memset(n, 0, sizeof *n);
    n->schema = schema;
}
