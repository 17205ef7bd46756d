/*
 * agg.c — per-operation statistics (see agg.h).  agg_add() runs once per
 * drained sample and is the daemon's hot path: two histogram records and a
 * handful of adds, no division, no allocation after warm-up.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "slowest.h"

unsigned agg_window_s = 10;
unsigned agg_slots = 11;

void agg_stats_init(struct agg_stats *s)
{
    memset(s, 0, sizeof *s);
    hist_init(&s->h);
}

void agg_stats_free(struct agg_stats *s)
{
    hist_free(&s->h);
    free(s->kids);
    agg_stats_init(s);
}

/* Empties s but keeps its memory for reuse. */
static void stats_reset(struct agg_stats *s)
{
    hist_reset(&s->h);
    s->self = 0;
    s->shift = 0;
    s->s1 = 0;
    s->s2 = 0;
    s->nkids = 0;
}

struct agg_op *agg_op_new(const qp_op_info_t *info)
{
    struct agg_op *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    /* The four names in one allocation (set owns it): short names would
     * each take a minimum-size block. */
    const char *str[4] = { info->set ? info->set : "?", info->name ? info->name : "?",
                           info->group ? info->group : "",
                           info->description ? info->description : "" };
    size_t len[4], all = 0;
    for (int i = 0; i < 4; i++)
        all += (len[i] = strlen(str[i]) + 1);
    char *b = malloc(all);
    if (!b) {
        free(o);
        return NULL;
    }
    char **dst[4] = { &o->set, &o->name, &o->group, &o->desc };
    for (int i = 0; i < 4; i++) {
        *dst[i] = memcpy(b, str[i], len[i]);
        b += len[i];
    }
    o->priority = info->priority;
    o->cur = -1;
    agg_stats_init(&o->cum);
    return o;
}

void agg_op_free(struct agg_op *o)
{
    if (!o)
        return;
    if (o->inblock) {   /* freed with its block, but for dense counters */
        if (!(o->inblock & AGG_HIST_INBLOCK))
            hist_free(&o->cum.h);
        return;
    }
    free(o->set);   /* and the other names */
    agg_stats_free(&o->cum);
    slowest_free(o);
    if (o->win) {
        for (unsigned i = 0; i < agg_slots; i++)
            agg_stats_free(&o->win[i].st);
        free(o->win);
    }
    free(o);
}

void agg_op_clear(struct agg_op *o)
{
    agg_stats_free(&o->cum);
    if (o->win)
        for (unsigned i = 0; i < agg_slots; i++) {
            agg_stats_free(&o->win[i].st);
            o->win[i].sec = INT64_MIN;
            o->win[i].late = 0;
        }
    slowest_free(o);
    o->cur = -1;
    o->p99_prev = 0;
    memset(o->broken, 0, sizeof o->broken);
    memset(o->budget_actual, 0, sizeof o->budget_actual);
}

void agg_op_compact(struct agg_op *o)
{
    if (o->win) {
        for (unsigned i = 0; i < agg_slots; i++)
            agg_stats_free(&o->win[i].st);
        free(o->win);
        o->win = NULL;
    }
    o->cur = -1;
    (void)hist_pack(&o->cum.h, NULL);   /* -ENOMEM: stays as it is */
    struct agg_stats *c = &o->cum;
    if (c->nkids < c->capkids) {
        if (!c->nkids) {
            free(c->kids);
            c->kids = NULL;
            c->capkids = 0;
        } else {
            struct agg_child *k = realloc(c->kids, c->nkids * sizeof *k);
            if (k) {
                c->kids = k;
                c->capkids = c->nkids;
            }
        }
    }
    slowest_compact(o);
}

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* A histogram whose entries are one array (sparse or frozen), and nothing
 * else allocated, which can move into a block. */
static int hist_movable(const hist_t *h)
{
    return !h->grp && !h->rare;
}

size_t agg_op_pack_size(const struct agg_op *o)
{
    size_t b = ALIGN8(sizeof *o) + ALIGN8(strlen(o->set) + 1) + ALIGN8(strlen(o->name) + 1) +
               ALIGN8(strlen(o->group) + 1) + ALIGN8(strlen(o->desc) + 1) +
               ALIGN8(o->cum.nkids * sizeof *o->cum.kids) + slowest_pack_size(o);
    if (hist_movable(&o->cum.h))
        b += ALIGN8(hist_memory(&o->cum.h));
    return b;
}

static void *take(char **cur, const void *src, size_t n)
{
    if (!n)
        return NULL;
    void *d = *cur;
    memcpy(d, src, n);
    *cur += ALIGN8(n);
    return d;
}

struct agg_op *agg_op_pack(struct agg_op *o, char **cur)
{
    struct agg_op *d = (struct agg_op *)(void *)*cur;
    *cur += ALIGN8(sizeof *d);
    *d = *o;
    d->set = take(cur, o->set, strlen(o->set) + 1);
    d->name = take(cur, o->name, strlen(o->name) + 1);
    d->group = take(cur, o->group, strlen(o->group) + 1);
    d->desc = take(cur, o->desc, strlen(o->desc) + 1);
    d->cum.kids = take(cur, o->cum.kids, o->cum.nkids * sizeof *o->cum.kids);
    d->cum.capkids = d->cum.nkids;
    d->win = NULL;
    d->cur = -1;
    d->inblock = AGG_INBLOCK;
    if (hist_movable(&o->cum.h)) {
        d->cum.h.packed = take(cur, o->cum.h.packed, hist_memory(&o->cum.h));
        d->inblock |= AGG_HIST_INBLOCK;
    } else {
        hist_init(&o->cum.h);   /* the dense counters are d's now */
    }
    d->slow = slowest_pack(o, cur);
    return d;
}

static size_t stats_memory(const struct agg_stats *s)
{
    return hist_memory(&s->h) + s->capkids * sizeof *s->kids;
}

size_t agg_op_memory(const struct agg_op *o)
{
    size_t b = sizeof *o + strlen(o->set) + strlen(o->name) + strlen(o->group) +
               strlen(o->desc) + 4 + stats_memory(&o->cum) + slowest_memory(o);
    if (o->win) {
        b += agg_slots * sizeof *o->win;
        for (unsigned i = 0; i < agg_slots; i++)
            b += stats_memory(&o->win[i].st);
    }
    return b;
}

/* The slot of second sec, emptied if it held an older second.  NULL when
 * the ring cannot be allocated or sec is older than every second it holds. */
static struct agg_slot *slot_for(struct agg_op *o, int64_t sec)
{
    if (__builtin_expect(!o->win, 0)) {
        o->win = calloc(agg_slots, sizeof *o->win);
        if (!o->win)
            return NULL;
        for (unsigned i = 0; i < agg_slots; i++) {
            agg_stats_init(&o->win[i].st);
            o->win[i].sec = INT64_MIN;
        }
    }
    int idx = (int)((uint64_t)sec % agg_slots);
    struct agg_slot *sl = &o->win[idx];
    if (__builtin_expect(sl->sec == sec, 1)) {
        if (__builtin_expect(idx != o->cur, 0))
            sl->late = 1;   /* a packed second unpacks on this record */
        return sl;
    }
    int64_t cur_sec = o->cur >= 0 ? o->win[o->cur].sec : INT64_MIN;
    if (sec < cur_sec) {
        /* A sample of an earlier second, drained late (another thread's
         * ring, or after a stall): filed under its own second while the
         * ring still covers it. */
        if (sec <= cur_sec - (int64_t)agg_slots || sl->sec > sec)
            return NULL;
        stats_reset(&sl->st);
        sl->sec = sec;
        sl->late = 1;
        return sl;
    }
    stats_reset(&sl->st);
    sl->sec = sec;
    sl->late = 0;
    /* The second that was being written is over: pack it, and let this
     * one reuse its counters (no allocation in the steady state). */
    if (o->cur >= 0 && o->cur != idx)
        (void)hist_pack(&o->win[o->cur].st.h, &sl->st.h);   /* else stays dense */
    o->cur = idx;
    return sl;
}

void agg_settle(struct agg_op *o)
{
    if (!o->win)
        return;
    for (unsigned i = 0; i < agg_slots; i++)
        if (o->win[i].late) {
            o->win[i].late = 0;
            if ((int)i != o->cur)
                (void)hist_pack(&o->win[i].st.h, NULL);
        }
}

static inline __attribute__((always_inline)) int stats_add(struct agg_stats *s, uint64_t dur, uint64_t self)
{
    if (s->h.count == 0)
        s->shift = dur;
    if (hist_record(&s->h, dur, 1) < 0)
        return -ENOMEM;
    /* exact below 2^53; a duration near 2^64 stays huge (a difference
     * cast to int64_t would turn it into a small negative one) */
    double d = (double)dur - (double)s->shift;
    s->s1 += d;
    s->s2 += d * d;
    s->self += self;
    return 0;
}

int agg_add(struct agg_op *o, int64_t sec, uint64_t dur, uint64_t self)
{
    int ret = stats_add(&o->cum, dur, self);
    if (ret < 0)
        return ret;
    if (sec == INT64_MIN)
        return 0;
    struct agg_slot *sl = slot_for(o, sec);
    if (sl)
        (void)stats_add(&sl->st, dur, self);   /* the window is best effort */
    return 0;
}

static void kid_add(struct agg_stats *s, uint32_t child, uint64_t count, uint64_t total)
{
    for (uint32_t i = 0; i < s->nkids; i++)
        if (s->kids[i].op == child) {
            s->kids[i].count += count;
            s->kids[i].total += total;
            return;
        }
    if (s->nkids == s->capkids) {
        uint32_t cap = s->capkids ? s->capkids * 2 : 4;
        struct agg_child *k = realloc(s->kids, cap * sizeof *k);
        if (!k)
            return;   /* nesting detail is best effort; counts are not */
        s->kids = k;
        s->capkids = cap;
    }
    s->kids[s->nkids++] = (struct agg_child){ child, 0, count, total };
}

void agg_add_child(struct agg_op *p, int64_t sec, uint32_t child, uint64_t dur)
{
    kid_add(&p->cum, child, 1, dur);
    if (sec == INT64_MIN)
        return;
    struct agg_slot *sl = slot_for(p, sec);
    if (sl)
        kid_add(&sl->st, child, 1, dur);
}

static void stats_merge(struct agg_stats *dst, const struct agg_stats *src, int buckets)
{
    if (src->h.count == 0 && src->nkids == 0)
        return;
    if (dst->h.count == 0)
        dst->shift = src->shift;
    if (src->h.count) {
        /* sum over src of (x - Kd)^2 from its sums around Ks */
        double n = (double)src->h.count;
        double dk = (double)src->shift - (double)dst->shift;
        dst->s2 += src->s2 + 2.0 * dk * src->s1 + n * dk * dk;
        dst->s1 += src->s1 + n * dk;
    }
    if (buckets)
        hist_merge(&dst->h, &src->h);
    else
        hist_merge_sums(&dst->h, &src->h);
    dst->self += src->self;
    for (uint32_t i = 0; i < src->nkids; i++)
        kid_add(dst, src->kids[i].op, src->kids[i].count, src->kids[i].total);
}

void agg_stats_merge(struct agg_stats *dst, const struct agg_stats *src)
{
    stats_merge(dst, src, 1);
}

static void window(const struct agg_op *o, int64_t sec, struct agg_stats *out, int buckets)
{
    agg_stats_init(out);
    if (!o->win)
        return;
    for (unsigned i = 0; i < agg_slots; i++) {
        const struct agg_slot *sl = &o->win[i];
        if (sl->sec > sec - (int64_t)agg_window_s && sl->sec <= sec)
            stats_merge(out, &sl->st, buckets);
    }
}

void agg_window(const struct agg_op *o, int64_t sec, struct agg_stats *out)
{
    window(o, sec, out, 1);
}

void agg_window_sums(const struct agg_op *o, int64_t sec, struct agg_stats *out)
{
    window(o, sec, out, 0);
}

double agg_mean(const struct agg_stats *s)
{
    if (s->h.total < UINT64_MAX)   /* exact sum: the most precise */
        return hist_mean(&s->h);
    return (double)s->shift + s->s1 / (double)s->h.count;
}

double agg_stddev(const struct agg_stats *s)
{
    if (s->h.count < 2)
        return 0.0;
    double n = (double)s->h.count;
    double m2 = s->s2 - s->s1 * s->s1 / n;
    return m2 > 0 ? sqrt(m2 / n) : 0.0;
}
