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
#define DIR_BYTES (HIST_GROUPS * sizeof(uintptr_t))

/* A dense group: its counters' address and width. */
static inline int grp_narrow(uintptr_t a)
{
    return (a & HIST_GRP_NARROW) != 0;
}

static inline void *grp_mem(uintptr_t a)
{
    return (void *)(a & ~HIST_GRP_NARROW);
}

static inline size_t grp_bytes(uintptr_t a)
{
    return HIST_SUB * (grp_narrow(a) ? sizeof(uint16_t) : sizeof(uint32_t));
}

static inline uint32_t grp_get(uintptr_t a, unsigned sub)
{
    return grp_narrow(a) ? ((const uint16_t *)grp_mem(a))[sub] : ((const uint32_t *)a)[sub];
}

/* A new group of 16-bit counters, or of 32 bits when wide; 0 when out of
 * memory. */
static uintptr_t grp_new(int wide)
{
    void *c = calloc(HIST_SUB, wide ? sizeof(uint32_t) : sizeof(uint16_t));
    if (!c)
        return 0;
    return (uintptr_t)c | (wide ? 0 : HIST_GRP_NARROW);
}

/* Group g's counters to 32 bits.  0 or -ENOMEM. */
static int grp_widen(hist_t *h, unsigned g)
{
    uintptr_t a = h->grp[g];
    uint32_t *c = malloc(HIST_SUB * sizeof *c);
    if (!c)
        return -ENOMEM;
    for (unsigned i = 0; i < HIST_SUB; i++)
        c[i] = grp_get(a, i);
    free(grp_mem(a));
    h->grp[g] = (uintptr_t)c;
    return 0;
}

/* The high 32 bits of dense counters that passed 2^32, by bucket index
 * (sorted; rare: a bucket needs 4 billion values). */
struct hist_wide {
    uint32_t n, cap;
    struct wide_ent {
        uint32_t idx;
        uint32_t hi;
    } e[];
};

static inline uint32_t ent_idx(uint32_t e)
{
    return e >> HIST_PACK_SHIFT;
}

static inline uint32_t ent_count(uint32_t e)
{
    return e & PACK_COUNT_MASK;
}

/* The frozen form (hist_pack): the sparse entries as LEB128 varints, the
 * bucket index as the difference from the previous one, then the count
 * (get_pair()): 1 to 2 bytes a bucket.  Marked by FROZEN in cappacked, whose other bits
 * are then the byte length; npacked still counts the entries. */
#define FROZEN 0x80000000u

static inline int is_frozen(const hist_t *h)
{
    return (h->cappacked & FROZEN) != 0;
}

static uint8_t *put_var(uint8_t *p, uint32_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline size_t var_len(uint32_t v)
{
    return v < 1u << 7 ? 1 : v < 1u << 14 ? 2 : v < 1u << 21 ? 3 : v < 1u << 28 ? 4 : 5;
}

static const uint8_t *get_var(const uint8_t *p, uint32_t *v)
{
    uint32_t r = 0;
    for (unsigned sh = 0;; sh += 7) {
        uint8_t b = *p++;
        r |= (uint32_t)(b & 0x7f) << sh;
        if (!(b & 0x80))
            break;
    }
    *v = r;
    return p;
}

/* A (bucket index, count) pair of the packed form: the index as the
 * difference d from the previous one, as the varint d << 1 | (count > 1),
 * then the count only when above 1.  A second of the live window holds
 * mostly buckets of one value each, a few apart: one byte a bucket. */
static inline size_t pair_len(uint32_t d, uint32_t c)
{
    return var_len(d << 1 | (c != 1)) + (c != 1 ? var_len(c) : 0);
}

static inline uint8_t *put_pair(uint8_t *p, uint32_t d, uint32_t c)
{
    p = put_var(p, d << 1 | (c != 1));
    return c != 1 ? put_var(p, c) : p;
}

static inline const uint8_t *get_pair(const uint8_t *p, uint32_t *idx, uint32_t *c)
{
    uint32_t d;
    p = get_var(p, &d);
    *idx += d >> 1;
    if (!(d & 1)) {
        *c = 1;
        return p;
    }
    return get_var(p, c);
}

/* The sparse entries of a frozen histogram, decoded into a new array. */
static uint32_t *decode_frozen(const hist_t *h)
{
    uint32_t *v = malloc((h->npacked ? h->npacked : 1) * sizeof *v);
    if (!v)
        return NULL;
    const uint8_t *p = (const uint8_t *)h->packed;
    uint32_t idx = 0;
    for (uint32_t i = 0; i < h->npacked; i++) {
        uint32_t c;
        p = get_pair(p, &idx, &c);
        v[i] = idx << HIST_PACK_SHIFT | c;
    }
    return v;
}

/* Frozen back to the plain sparse form.  0 or -ENOMEM. */
static int thaw(hist_t *h)
{
    if (!is_frozen(h))
        return 0;
    uint32_t *v = decode_frozen(h);
    if (!v)
        return -ENOMEM;
    free(h->packed);
    h->packed = v;
    h->cappacked = h->npacked ? h->npacked : 1;
    return 0;
}

/* The plain sparse form into the frozen one (smaller; not recordable).
 * The plain array goes to spare (when not NULL and without one) for
 * reuse, else is freed. */
static void freeze(hist_t *h, hist_t *spare)
{
    if (is_frozen(h) || h->grp)
        return;
    if (h->npacked == 0) {
        free(h->packed);
        h->packed = NULL;
        h->cappacked = 0;
        return;
    }
    /* The exact length first: one allocation of the final size (a
     * larger one shrunk afterwards would leave a hole behind, every
     * second, for every operation). */
    size_t len = 0;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < h->npacked; i++) {
        uint32_t idx = ent_idx(h->packed[i]);
        len += pair_len(idx - prev, ent_count(h->packed[i]));
        prev = idx;
    }
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf)
        return;   /* stays plain: correct, only larger */
    prev = 0;
    for (uint32_t i = 0; i < h->npacked; i++) {
        uint32_t idx = ent_idx(h->packed[i]);
        p = put_pair(p, idx - prev, ent_count(h->packed[i]));
        prev = idx;
    }
    if (spare && !spare->grp && !spare->packed) {
        spare->packed = h->packed;
        spare->cappacked = h->cappacked;
        spare->npacked = 0;
    } else {
        free(h->packed);
    }
    h->packed = (uint32_t *)(void *)buf;
    h->cappacked = (uint32_t)len | FROZEN;
}

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

static void free_dense(hist_t *h)
{
    if (h->grp) {
        for (unsigned g = 0; g < HIST_GROUPS; g++)
            free(grp_mem(h->grp[g]));
        free(h->grp);
    }
    h->grp = NULL;
    if (h->rare) {
        free(h->rare->wide);
        h->rare->wide = NULL;
    }
}

void hist_free(hist_t *h)
{
    free_dense(h);
    free(h->packed);
    free(h->rare);
    hist_init(h);
}

/* h's struct hist_rare, allocated on first use; NULL when out of memory. */
static struct hist_rare *rare_get(hist_t *h)
{
    if (!h->rare)
        h->rare = calloc(1, sizeof *h->rare);
    return h->rare;
}

void hist__clamped(hist_t *h, uint64_t n)
{
    struct hist_rare *r = rare_get(h);
    if (r)
        r->clamped += n;
}

void hist__nomem(hist_t *h, uint64_t n)
{
    struct hist_rare *r = rare_get(h);
    if (r)
        r->nomem += n;
}

int hist_set_rare(hist_t *h, uint64_t clamped, uint64_t nomem)
{
    if (!h->rare && !clamped && !nomem)
        return 0;
    struct hist_rare *r = rare_get(h);
    if (!r)
        return -ENOMEM;
    r->clamped = clamped;
    r->nomem = nomem;
    return 0;
}

void hist_reset(hist_t *h)
{
    if (h->grp)
        for (unsigned g = 0; g < HIST_GROUPS; g++)
            if (h->grp[g])
                memset(grp_mem(h->grp[g]), 0, grp_bytes(h->grp[g]));
    free(h->rare ? h->rare->wide : NULL);
    free(h->rare);
    h->rare = NULL;
    if (is_frozen(h)) {
        free(h->packed);
        h->packed = NULL;
        h->cappacked = 0;
    }
    h->npacked = 0;   /* keeps its capacity for reuse */
    h->count = h->total = h->max = 0;
    h->min = UINT64_MAX;
}

/* The high part of dense bucket idx (0 when none). */
static uint64_t wide_hi(const hist_t *h, unsigned idx)
{
    const struct hist_wide *w = h->rare ? h->rare->wide : NULL;
    if (!w)
        return 0;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->e[i].idx == idx)
            return w->e[i].hi;
    return 0;
}

/* Adds hi << 32 to dense bucket idx's high part.  0 or -ENOMEM. */
static int wide_add(hist_t *h, unsigned idx, uint64_t hi)
{
    if (!rare_get(h))
        return -ENOMEM;
    struct hist_wide *w = h->rare->wide;
    uint32_t i = 0;
    for (; w && i < w->n && w->e[i].idx < idx; i++)
        ;
    if (w && i < w->n && w->e[i].idx == idx) {
        w->e[i].hi += (uint32_t)hi;
        return 0;
    }
    if (!w || w->n == w->cap) {
        uint32_t cap = w ? w->cap * 2 : 4;
        struct hist_wide *nw = realloc(w, sizeof *nw + cap * sizeof nw->e[0]);
        if (!nw)
            return -ENOMEM;
        if (!w)
            nw->n = 0;
        nw->cap = cap;
        h->rare->wide = w = nw;
    }
    memmove(&w->e[i + 1], &w->e[i], (w->n - i) * sizeof w->e[0]);
    w->e[i] = (struct wide_ent){ idx, (uint32_t)hi };
    w->n++;
    return 0;
}

/* Adds n to bucket (g, sub) of a dense histogram. */
static int dense_add(hist_t *h, unsigned g, unsigned sub, uint64_t n)
{
    if (!h->grp[g] && !(h->grp[g] = grp_new(n > 0xffff)))
        return -ENOMEM;
    if (grp_narrow(h->grp[g])) {
        uint16_t *c16 = &((uint16_t *)grp_mem(h->grp[g]))[sub];
        if (n <= 0xffffu - *c16) {
            *c16 = (uint16_t)(*c16 + n);
            return 0;
        }
        if (grp_widen(h, g) < 0)
            return -ENOMEM;
    }
    uint32_t *c = &((uint32_t *)h->grp[g])[sub];
    uint64_t sum = (uint64_t)*c + (n & 0xffffffffu);
    uint64_t hi = (n >> 32) + (sum >> 32);
    if (hi && wide_add(h, g * HIST_SUB + sub, hi) < 0)
        return -ENOMEM;
    *c = (uint32_t)sum;
    return 0;
}

/* The position of bucket idx in the sparse entries, or where it goes. */
static uint32_t sparse_find(const hist_t *h, unsigned idx)
{
    uint32_t lo = 0, hi = h->npacked;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ent_idx(h->packed[mid]) < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int reserve(hist_t *h, uint32_t n)
{
    if (n <= h->cappacked)
        return 0;
    uint32_t cap = h->cappacked ? h->cappacked : 8;
    while (cap < n)
        cap += cap / 2 + 1;   /* not doubling: less slack in long-lived ones */
    uint32_t *v = realloc(h->packed, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    h->packed = v;
    h->cappacked = cap;
    return 0;
}

/* Dense form, octave g: its sparse entries move into a new group of
 * counters.  0 or -ENOMEM. */
static int promote(hist_t *h, unsigned g)
{
    uint32_t i = sparse_find(h, g * HIST_SUB), j = i;
    int wide = 0;
    for (; j < h->npacked && ent_idx(h->packed[j]) / HIST_SUB == g; j++)
        wide |= ent_count(h->packed[j]) > 0xffff;
    uintptr_t a = grp_new(wide);
    if (!a)
        return -ENOMEM;
    for (uint32_t k = i; k < j; k++) {
        unsigned sub = ent_idx(h->packed[k]) % HIST_SUB;
        if (wide)
            ((uint32_t *)a)[sub] = ent_count(h->packed[k]);
        else
            ((uint16_t *)grp_mem(a))[sub] = (uint16_t)ent_count(h->packed[k]);
    }
    if (j > i) {
        memmove(&h->packed[i], &h->packed[j], (h->npacked - j) * sizeof h->packed[0]);
        h->npacked -= j - i;
    }
    h->grp[g] = a;
    return 0;
}

/* Turns a sparse histogram dense: a directory of groups, and a group of
 * counters for each octave with HIST_PROMOTE or more buckets in use; the
 * other octaves' buckets stay sparse entries (the tails of a distribution
 * cost 4 bytes a bucket, not 512 bytes an octave). */
#define HIST_PROMOTE 64u
static int to_dense(hist_t *h)
{
    if (thaw(h) < 0)
        return -ENOMEM;
    uintptr_t *dir = calloc(HIST_GROUPS, sizeof *dir);
    if (!dir)
        return -ENOMEM;
    h->grp = dir;
    for (uint32_t i = 0; i < h->npacked;) {
        unsigned g = ent_idx(h->packed[i]) / HIST_SUB;
        uint32_t j = i;
        while (j < h->npacked && ent_idx(h->packed[j]) / HIST_SUB == g)
            j++;
        if (j - i >= HIST_PROMOTE) {
            if (promote(h, g) < 0)
                return -ENOMEM;   /* still correct: the entries stay sparse */
            continue;             /* the entries after moved to i */
        }
        i = j;
    }
    /* what stays sparse is the tails: give back the rest of the array */
    uint32_t cap = h->npacked + h->npacked / 2 + 8;
    uint32_t *v = cap < h->cappacked ? realloc(h->packed, cap * sizeof *v) : NULL;
    if (v) {
        h->packed = v;
        h->cappacked = cap;
    }
    return 0;
}

/* Recording keeps a histogram sparse only up to this many buckets (each
 * new one is an insertion into the sorted array), merging up to
 * HIST_SPARSE_MAX (one pass). */
#define HIST_SPARSE_RECORD_MAX 256u

int hist__add(hist_t *h, unsigned g, unsigned sub, uint64_t n)
{
    if (h->grp && h->grp[g])
        return dense_add(h, g, sub, n);
    if (thaw(h) < 0)
        return -ENOMEM;
    unsigned idx = g * HIST_SUB + sub;
    uint32_t i = sparse_find(h, idx);
    int found = i < h->npacked && ent_idx(h->packed[i]) == idx;
    if (found && n <= PACK_COUNT_MASK - ent_count(h->packed[i])) {
        h->packed[i] += (uint32_t)n;
        return 0;
    }
    int room;
    if (h->grp) {   /* dense, this octave sparse: until it is busy */
        uint32_t a = sparse_find(h, g * HIST_SUB), b = sparse_find(h, (g + 1) * HIST_SUB);
        room = b - a < HIST_PROMOTE;
    } else {
        room = h->npacked < HIST_SPARSE_RECORD_MAX;
    }
    if (!found && n <= PACK_COUNT_MASK && room) {
        if (reserve(h, h->npacked + 1) < 0)
            return -ENOMEM;
        memmove(&h->packed[i + 1], &h->packed[i], (h->npacked - i) * sizeof h->packed[0]);
        h->packed[i] = (uint32_t)idx << HIST_PACK_SHIFT | (uint32_t)n;
        h->npacked++;
        return 0;
    }
    /* a busy bucket or too many of them: counters for this octave */
    if (!h->grp && to_dense(h) < 0)
        return -ENOMEM;
    if (!h->grp[g] && promote(h, g) < 0)
        return -ENOMEM;
    return dense_add(h, g, sub, n);
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
    if (is_frozen(h)) {
        const uint8_t *p = (const uint8_t *)h->packed;
        uint32_t idx = 0;
        for (uint32_t i = 0; i < h->npacked; i++) {
            uint32_t c;
            p = get_pair(p, &idx, &c);
            if ((r = fn(ctx, idx / HIST_SUB, idx % HIST_SUB, c)))
                return r;
        }
        return 0;
    }
    if (!h->grp) {
        for (uint32_t i = 0; i < h->npacked; i++) {
            unsigned idx = ent_idx(h->packed[i]);
            if ((r = fn(ctx, idx / HIST_SUB, idx % HIST_SUB, ent_count(h->packed[i]))))
                return r;
        }
        return 0;
    }
    uint32_t j = 0;   /* the sparse entries of the octaves without counters */
    for (unsigned g = 0; g < HIST_GROUPS; g++) {
        const uintptr_t c = h->grp[g];
        if (!c) {
            for (; j < h->npacked && ent_idx(h->packed[j]) / HIST_SUB == g; j++)
                if ((r = fn(ctx, g, ent_idx(h->packed[j]) % HIST_SUB, ent_count(h->packed[j]))))
                    return r;
            continue;
        }
        for (unsigned i = 0; i < HIST_SUB; i++) {
            uint64_t n = grp_get(c, i);
            if (h->rare)
                n += wide_hi(h, g * HIST_SUB + i) << 32;
            if (n && (r = fn(ctx, g, i, n)))
                return r;
        }
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

uint32_t hist_nbuckets(const hist_t *h)
{
    uint32_t n = 0;
    walk(h, count_entry, &n);
    return n;
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
    if (!h->grp) {   /* sparse already: freeze */
        freeze(h, spare);
        return 1;
    }
    uint32_t n = hist_nbuckets(h);
    if ((size_t)n * sizeof(uint32_t) >= hist_memory(h) && n)
        return 0;   /* dense is smaller: most buckets are in use */
    struct pack_ctx pc = { n ? malloc(n * sizeof(uint32_t)) : NULL, 0 };
    if (n && !pc.v)
        return -ENOMEM;
    if (walk(h, pack_entry, &pc)) {
        free(pc.v);
        return 0;
    }
    if (spare && !spare->grp && spare->npacked == 0) {
        for (unsigned g = 0; g < HIST_GROUPS; g++)
            if (h->grp[g])
                memset(grp_mem(h->grp[g]), 0, grp_bytes(h->grp[g]));
        free(spare->packed);
        spare->packed = NULL;
        spare->cappacked = 0;
        spare->grp = h->grp;
        h->grp = NULL;
    }
    free_dense(h);
    free(h->packed);
    h->packed = pc.v;
    h->npacked = h->cappacked = n;
    freeze(h, NULL);
    return 1;
}

size_t hist_memory(const hist_t *h)
{
    size_t n = is_frozen(h) ? h->cappacked & ~FROZEN : (size_t)h->cappacked * sizeof(uint32_t);
    if (h->grp) {
        n += DIR_BYTES;
        for (unsigned g = 0; g < HIST_GROUPS; g++)
            if (h->grp[g])
                n += grp_bytes(h->grp[g]);
    }
    if (h->rare) {
        n += sizeof *h->rare;
        if (h->rare->wide)
            n += sizeof *h->rare->wide + h->rare->wide->cap * sizeof h->rare->wide->e[0];
    }
    return n;
}

static int merge_entry(void *ctx, unsigned g, unsigned sub, uint64_t count)
{
    hist_t *dst = ctx;
    if (hist__add(dst, g, sub, count) < 0) {
        hist__nomem(dst, count);
        dst->count -= count;   /* added in full by hist_merge */
    }
    return 0;
}

static int merge_entries(hist_t *dst, const uint32_t *sp, uint32_t sn);

/* dst and src both sparse: one pass over the two sorted lists.  0, or 1
 * when the result would not stay sparse (nothing changed), or -ENOMEM. */
static int merge_sparse(hist_t *dst, const hist_t *src)
{
    if (thaw(dst) < 0)
        return -ENOMEM;
    const uint32_t *sp = src->packed;
    uint32_t *owned = NULL;
    if (is_frozen(src) && !(sp = owned = decode_frozen(src)))
        return -ENOMEM;
    int r = merge_entries(dst, sp, src->npacked);
    free(owned);
    return r;
}

static int merge_entries(hist_t *dst, const uint32_t *sp, uint32_t sn)
{
    uint32_t n = dst->npacked + sn;
    uint32_t *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v)
        return -ENOMEM;
    uint32_t i = 0, j = 0, k = 0;
    while (i < dst->npacked || j < sn) {
        uint32_t a = i < dst->npacked ? dst->packed[i] : UINT32_MAX;
        uint32_t b = j < sn ? sp[j] : UINT32_MAX;
        if (ent_idx(a) == ent_idx(b)) {
            uint32_t c = ent_count(a) + ent_count(b);
            if (c > PACK_COUNT_MASK) {
                free(v);
                return 1;
            }
            v[k++] = (a & ~PACK_COUNT_MASK) | c;
            i++;
            j++;
        } else if (ent_idx(a) < ent_idx(b)) {
            v[k++] = a;
            i++;
        } else {
            v[k++] = b;
            j++;
        }
    }
    if (k > HIST_SPARSE_MAX) {
        free(v);
        return 1;
    }
    free(dst->packed);
    dst->packed = v;
    dst->npacked = dst->cappacked = k;
    return 0;
}

int hist_merge(hist_t *dst, const hist_t *src)
{
    uint64_t nomem = hist_nomem(dst);
    int r = 1;
    if (!dst->grp && !src->grp && (r = merge_sparse(dst, src)) < 0)
        return -ENOMEM;
    if (r && !dst->grp && (src->grp || dst->npacked + src->npacked > HIST_SPARSE_MAX) &&
        to_dense(dst) < 0)
        return -ENOMEM;   /* bucket by bucket into a sparse one would be quadratic */
    if (r)
        walk(src, merge_entry, dst);
    hist_merge_sums(dst, src);
    return hist_nomem(dst) - hist_nomem(src) > nomem ? -ENOMEM : 0;
}

void hist_merge_sums(hist_t *dst, const hist_t *src)
{
    dst->count += src->count;
    if (__builtin_add_overflow(dst->total, src->total, &dst->total))
        dst->total = UINT64_MAX;   /* saturates, as in hist_record() */
    if (src->rare && (src->rare->clamped || src->rare->nomem)) {
        hist__clamped(dst, src->rare->clamped);
        hist__nomem(dst, src->rare->nomem);
    }
    if (src->count && src->min < dst->min)
        dst->min = src->min;
    if (src->count && src->max > dst->max)
        dst->max = src->max;
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
