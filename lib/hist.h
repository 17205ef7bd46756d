/*
 * hist.h — the latency histogram of qpulsed: log-linear buckets in the
 * spirit of HdrHistogram, from 0 ns to 1 hour.
 *
 * Buckets: values below 128 ns each have their own bucket (exact).  Above,
 * every power of two [2^m, 2^(m+1)) is cut into 128 equal sub-buckets, so a
 * bucket [lo, hi) is never wider than lo/128.
 *
 * Guarantee: hist_percentile() returns the midpoint of the bucket holding
 * the exact sample percentile (clipped to the recorded min and max), so its
 * relative error is at most 1/256 (0.39 %), whatever the distribution.
 * Values above HIST_MAX_NS (1 hour) are counted in the top bucket, as
 * HIST_MAX_NS, and in hist_clamped(); min, max and total keep the true values
 * (total saturates at UINT64_MAX rather than wrap).
 *
 * Memory: a histogram starts sparse: its non-empty buckets as a sorted
 * array of 4-byte entries (bucket index and a count below 2^19), so a
 * second of the live window with a few hundred samples costs a few hundred
 * bytes.  Past 256 distinct buckets recorded (HIST_SPARSE_MAX merged), or a
 * count beyond 2^19, it turns dense: a directory of HIST_GROUPS pointers and, per power of two
 * with 64 or more buckets in use, 128 counters of 16 bits (256 bytes),
 * widened to 32 bits (512 bytes) once one of them would pass 65535; the
 * other octaves' buckets stay sparse entries.  A counter that passes 2^32
 * keeps its high part in a small side table.  A typical operation
 * spans 3 to 10 octaves: ~2.8 KiB dense while no bucket of an octave has
 * counted 65536 values, at most ~5.4 KiB, whatever the rate.
 * A histogram that will not change any more can be packed (hist_pack()):
 * sparse again and trimmed to its entries.
 *
 * Not thread-safe: one writer, or the caller's lock.
 */
#ifndef QPULSE_HIST_H
#define QPULSE_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)          /* sub-buckets per octave */
#define HIST_MAX_NS 3600000000000ull            /* 1 hour */
#define HIST_GROUPS 36   /* group 0: 0..127 exact; group g: octave 2^(g+6) */

struct hist_wide;

/* What few histograms ever need, allocated on first use. */
struct hist_rare {
    uint64_t clamped;             /* values above HIST_MAX_NS */
    uint64_t nomem;               /* values lost to a failed allocation */
    struct hist_wide *wide;       /* dense counters past 2^32: high parts */
};

typedef struct hist {
    uint64_t count;               /* values recorded */
    uint64_t total;               /* sum of the true values (ns), saturating */
    uint64_t min, max;            /* true values; min = UINT64_MAX when empty */
    /* Dense form: HIST_GROUPS groups of HIST_SUB counters each (or 0);
     * NULL while sparse.  A group's counters are 16 bits wide (the
     * address with HIST_GRP_NARROW set) until one would pass 0xffff, then
     * 32 bits (the plain address). */
    uintptr_t *grp;
    /* The non-empty buckets as sorted entries (bucket index <<
     * HIST_PACK_SHIFT | count): all of them while sparse; in the dense form
     * those of the octaves without counters (the tails).  Frozen by
     * hist_pack() into varints, then cappacked has its top bit set. */
    uint32_t *packed;
    uint32_t npacked, cappacked;
    struct hist_rare *rare;       /* NULL while clamped, nomem and wide are 0 */
} hist_t;

#define HIST_PACK_SHIFT 19         /* sparse counts are below 2^19 */
#define HIST_GRP_NARROW ((uintptr_t)1)   /* a dense group of 16-bit counters */
#define HIST_SPARSE_MAX 1024u      /* distinct buckets before going dense */

void hist_init(hist_t *h);
/* Frees the counters; the histogram is then empty (hist_init state). */
void hist_free(hist_t *h);
/* Empties the histogram but keeps its counters allocated for reuse. */
void hist_reset(hist_t *h);

/* Slow path of hist_record(): adds n to bucket (g, sub), in whatever form
 * h is, changing the form when needed.  0 or -ENOMEM. */
int hist__add(hist_t *h, unsigned g, unsigned sub, uint64_t n);
/* Slow paths of hist_record(): n values clamped, or lost to a failed
 * allocation (when even struct hist_rare cannot be allocated, that count
 * is lost). */
void hist__clamped(hist_t *h, uint64_t n);
void hist__nomem(hist_t *h, uint64_t n);

/* Values above HIST_MAX_NS (counted as HIST_MAX_NS in the top bucket), and
 * values lost to a failed allocation. */
static inline uint64_t hist_clamped(const hist_t *h)
{
    return h->rare ? h->rare->clamped : 0;
}

static inline uint64_t hist_nomem(const hist_t *h)
{
    return h->rare ? h->rare->nomem : 0;
}

/* Sets both (a restored histogram).  0 or -ENOMEM. */
int hist_set_rare(hist_t *h, uint64_t clamped, uint64_t nomem);

/* Freezes h: a sparse histogram is trimmed to its entries; a dense one
 * turns sparse (exact) when that is smaller and every count fits, and its
 * counters, zeroed, go to `spare` (when not NULL and empty) for reuse,
 * else are freed.  Recording into it afterwards works as before.
 * Returns 1 when h is now sparse, 0 when left dense, or -ENOMEM. */
int hist_pack(hist_t *h, hist_t *spare);
/* Bytes of counters h holds (dense groups and packed entries). */
size_t hist_memory(const hist_t *h);

static inline unsigned hist__group(uint64_t v, unsigned *sub)
{
    if (v < HIST_SUB) {
        *sub = (unsigned)v;
        return 0;
    }
    unsigned m = 63u - (unsigned)__builtin_clzll(v);   /* >= HIST_SUB_BITS */
    *sub = (unsigned)(v >> (m - HIST_SUB_BITS)) - HIST_SUB;
    return m - (HIST_SUB_BITS - 1);
}

/* Records value v (ns) n times.  0, or -ENOMEM (then counted in nomem and
 * nowhere else). */
static inline int hist_record(hist_t *h, uint64_t v, uint64_t n)
{
    uint64_t b = v;
    if (__builtin_expect(v > HIST_MAX_NS, 0))
        b = HIST_MAX_NS;
    unsigned sub, g = hist__group(b, &sub);
    uintptr_t a;
    int done = 0;
    if (__builtin_expect(h->grp && (a = h->grp[g]) != 0 && n <= 0xffff, 1)) {
        if (a & HIST_GRP_NARROW) {
            uint16_t *c = (uint16_t *)(a & ~HIST_GRP_NARROW), nc;
            if ((done = !__builtin_add_overflow(c[sub], (uint16_t)n, &nc)))
                c[sub] = nc;
        } else {
            uint32_t *c = (uint32_t *)a, nc;
            if ((done = !__builtin_add_overflow(c[sub], (uint32_t)n, &nc)))
                c[sub] = nc;
        }
    }
    if (!done && hist__add(h, g, sub, n) < 0) {
        hist__nomem(h, n);
        return -12;   /* -ENOMEM; errno.h is not needed by every includer */
    }
    if (__builtin_expect(v > HIST_MAX_NS, 0))
        hist__clamped(h, n);
    h->count += n;
    /* A garbage duration (QPULSE_RECORD of a negative difference) must not
     * wrap the sum back to a small value: it saturates. */
    uint64_t add;
    if (__builtin_mul_overflow(v, n, &add) || __builtin_add_overflow(h->total, add, &h->total))
        h->total = UINT64_MAX;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    return 0;
}

/* dst += src.  0 or -ENOMEM. */
int hist_merge(hist_t *dst, const hist_t *src);
/* Only the sums of src into dst: count, total, min, max, clamped, nomem;
 * no bucket.  For the figures that need no buckets, cheaply; dst's
 * percentiles are meaningless afterwards. */
void hist_merge_sums(hist_t *dst, const hist_t *src);

/* The value at percentile p (0..100) of the recorded values; 0 when empty.
 * Within 1/256 of the exact sample percentile (see above). */
uint64_t hist_percentile(const hist_t *h, double p);
/* Several percentiles in one pass; ps ascending. */
void hist_percentiles(const hist_t *h, const double *ps, uint64_t *out, size_t n);

/* Calls fn for every non-empty bucket [lo, hi) in ascending order; stops
 * early when fn returns non-zero (and returns that). */
typedef int (*hist_bucket_fn)(void *ctx, uint64_t lo, uint64_t hi, uint64_t count);
int hist_iterate(const hist_t *h, hist_bucket_fn fn, void *ctx);
/* How many buckets hist_iterate() visits: the non-empty ones. */
uint32_t hist_nbuckets(const hist_t *h);

/* Values recorded in buckets whose low bound is <= v (Prometheus "le"). */
uint64_t hist_count_le(const hist_t *h, uint64_t v);

uint64_t hist_min(const hist_t *h);    /* 0 when empty */
uint64_t hist_max(const hist_t *h);
double hist_mean(const hist_t *h);     /* 0 when empty */

/* The bucket [*lo, *hi) that holds v. */
void hist_bucket_of(uint64_t v, uint64_t *lo, uint64_t *hi);

#endif /* QPULSE_HIST_H */
