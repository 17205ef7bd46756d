/*
 * slowest.c — the slowest samples of each operation and what ran inside
 * them (see slowest.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "common.h"
#include "history.h"
#include "slowest.h"

unsigned slow_k = 5;

static void tree_put(struct slow_tree *t)
{
    if (t && --t->refs == 0)
        free(t);
}

static void set_clear(struct slow_set *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        tree_put(s->v[i].tree);
    s->n = 0;
    s->floor = 0;
    s->pruned = 0;
}

static void set_free(struct slow_set *s)
{
    set_clear(s);
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

void slowest_free(struct agg_op *o)
{
    struct slow_op *s = o->slow;
    if (!s)
        return;
    set_free(&s->cum);
    for (unsigned i = 0; i < s->nwin; i++)
        set_free(&s->win[i]);
    free(s);
    o->slow = NULL;
}

void slowest_compact(struct agg_op *o)
{
    struct slow_op *s = o->slow;
    if (!s || !s->nwin)
        return;
    for (unsigned i = 0; i < s->nwin; i++)
        set_free(&s->win[i]);
    if (!s->cum.n) {
        slowest_free(o);
        return;
    }
    if (s->cum.n < slow_k) {
        struct slow_sample *v = realloc(s->cum.v, s->cum.n * sizeof *v);
        if (v) {
            s->cum.v = v;
            s->cum.cap = (uint16_t)s->cum.n;
        }
    }
    s->nwin = 0;
    struct slow_op *t = realloc(s, sizeof *s);
    if (t)
        o->slow = t;
}

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static size_t tree_size(const struct slow_tree *t)
{
    return sizeof *t + t->n * sizeof t->nodes[0];
}

size_t slowest_pack_size(const struct agg_op *o)
{
    const struct slow_op *s = o->slow;
    if (!s)
        return 0;
    size_t b = ALIGN8(sizeof *s) + ALIGN8(s->cum.n * sizeof *s->cum.v);
    for (uint32_t i = 0; i < s->cum.n; i++)
        if (s->cum.v[i].tree)
            b += ALIGN8(tree_size(s->cum.v[i].tree));
    return b;
}

struct slow_op *slowest_pack(const struct agg_op *o, char **cur)
{
    const struct slow_op *s = o->slow;
    if (!s)
        return NULL;
    struct slow_op *d = (struct slow_op *)(void *)*cur;
    *cur += ALIGN8(sizeof *d);
    *d = (struct slow_op){ .cum = s->cum, .nwin = 0 };
    d->cum.v = s->cum.n ? (struct slow_sample *)(void *)*cur : NULL;
    d->cum.cap = (uint16_t)s->cum.n;
    *cur += ALIGN8(s->cum.n * sizeof *s->cum.v);
    for (uint32_t i = 0; i < s->cum.n; i++) {
        d->cum.v[i] = s->cum.v[i];
        const struct slow_tree *t = s->cum.v[i].tree;
        if (t) {
            memcpy(*cur, t, tree_size(t));
            d->cum.v[i].tree = (struct slow_tree *)(void *)*cur;
            d->cum.v[i].tree->refs = 1;
            *cur += ALIGN8(tree_size(t));
        }
    }
    return d;
}

/* A compacted o (slowest_compact) offered a sample again: its window sets
 * and the cumulative set's full size back.  NULL when out of memory. */
static struct slow_op *slow_expand(struct agg_op *o)
{
    struct slow_op *s = o->slow;
    struct slow_sample *v = realloc(s->cum.v, slow_k * sizeof *v);
    if (!v)
        return NULL;
    s->cum.v = v;
    s->cum.cap = (uint16_t)slow_k;
    s = realloc(s, sizeof *s + agg_slots * sizeof s->win[0]);
    if (!s)
        return NULL;
    memset(s->win, 0, agg_slots * sizeof s->win[0]);
    for (unsigned i = 0; i < agg_slots; i++)
        s->win[i].sec = INT64_MIN;
    s->nwin = agg_slots;
    o->slow = s;
    return s;
}

static struct slow_op *slow_get(struct agg_op *o)
{
    if (o->slow)
        return o->slow->nwin ? o->slow : slow_expand(o);
    struct slow_op *s = calloc(1, sizeof *s + agg_slots * sizeof s->win[0]);
    if (!s)
        return NULL;
    s->nwin = agg_slots;
    for (unsigned i = 0; i < agg_slots; i++)
        s->win[i].sec = INT64_MIN;
    o->slow = s;
    return s;
}

/* Would s take a sample of duration dur? */
static int set_wants(const struct slow_set *s, uint64_t dur)
{
    return (s->n < slow_k && !s->pruned) || dur > s->floor;
}

/* Puts the sample into s, replacing its smallest when full. */
static void set_put(struct slow_set *s, const struct slow_sample *smp)
{
    if (s->n < slow_k && s->n == s->cap) {   /* K entries (a pruned set's grow back) */
        struct slow_sample *v = realloc(s->v, slow_k * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = (uint16_t)slow_k;
    }
    if (s->n < slow_k) {
        s->v[s->n++] = *smp;
    } else {
        uint32_t lo = 0;
        for (uint32_t i = 1; i < s->n; i++)
            if (s->v[i].dur < s->v[lo].dur)
                lo = i;
        tree_put(s->v[lo].tree);
        s->v[lo] = *smp;
    }
    if (smp->tree)
        smp->tree->refs++;
    if (s->n == slow_k) {
        uint64_t f = UINT64_MAX;
        for (uint32_t i = 0; i < s->n; i++)
            if (s->v[i].dur < f)
                f = s->v[i].dur;
        s->floor = f;
    }
}

/* Children: start first, the longer first at the same start (a parent
 * before what it holds). */
static int node_cmp(const void *a, const void *b)
{
    const struct slow_node *x = a, *y = b;
    int c = QP_CMP(x->offset, y->offset);
    return c ? c : QP_CMP(y->dur, x->dur);
}

/* Rounding in the producer's tick conversion may put a child's end a few
 * ns past its parent's. */
#define SLACK_NS 4

struct walk {
    uint64_t start, dur, end;
    struct slow_node *buf;
    uint32_t n, truncated;
};

/* Takes r, an earlier record of the sample's thread, if it ran inside the
 * sample.  1 when the walk is over: r began before the sample (as did
 * every earlier one), or the tree is full. */
static int walk_take(struct walk *w, const struct hist_rec *r)
{
    if (r->start < w->start)
        return 1;   /* it ended before our sample began, and so did all earlier */
    if (r->start + r->dur > w->end + SLACK_NS)
        return 0;   /* not inside (a manual record out of order) */
    if (w->n == SLOW_NODES_MAX) {
        w->truncated = 1;
        return 1;
    }
    uint64_t d = r->dur;
    if (r->start - w->start + d > w->dur)
        d = w->dur - (r->start - w->start);
    w->buf[w->n++] =
        (struct slow_node){ r->start - w->start, d, r->self < d ? r->self : d, r->op, 0 };
    return 0;
}

/* The samples that ran inside the recorder's record hidx, from the records
 * before it of the same thread: first from the thread's own tail (the last
 * HIST_TAIL_N samples it recorded, history_keep()), then, if the tree goes
 * back further, from the ring, where the records of every thread lie
 * interleaved - a quiet thread's previous sample can be far back there. */
static struct slow_tree *tree_build(uint64_t hidx, uint64_t start, uint64_t dur, int32_t tid,
                                    uint32_t proc)
{
    if (!hist_ring.cap || !history_held(hidx))
        return NULL;
    struct slow_node buf[SLOW_NODES_MAX];
    struct walk w = { start, dur, start + dur, buf, 0, 0 };
    int over = 0;
    uint64_t from = hidx;   /* the ring is walked down from below this */
    const struct hist_tail *tl = hist_kept;
    if (tl && tl->head && tl->tid == tid && tl->idx[(tl->head - 1) % HIST_TAIL_N] == hidx) {
        uint64_t lo = tl->head > HIST_TAIL_N ? tl->head - HIST_TAIL_N : 0;
        for (uint64_t k = tl->head - 1; k-- > lo && !over;)
            over = walk_take(&w, &tl->v[k % HIST_TAIL_N]);
        if (!over && lo == 0)
            over = 1;   /* the thread recorded nothing earlier */
        else if (!over)
            from = tl->idx[lo % HIST_TAIL_N];
    }
    unsigned walked = 0;
    /* Back through hidx's lane: the lane of the thread that drained it. */
    for (uint64_t i = history_prev(from); !over && i != UINT64_MAX; i = history_prev(i)) {
        const struct hist_rec *r = history_at(i);
        if (r->proc != proc || r->tid != tid) {
            if (++walked > SLOW_WALK_MAX)
                break;
            continue;
        }
        over = walk_take(&w, r);
    }
    uint32_t n = w.n, truncated = w.truncated;
    if (!n)
        return NULL;
    qsort(buf, n, sizeof buf[0], node_cmp);
    /* Depth by containment: a stack of the ends of the open ancestors. */
    uint64_t ends[SLOW_NODES_MAX];
    uint32_t depth = 0;
    for (uint32_t k = 0; k < n; k++) {
        while (depth && buf[k].offset >= ends[depth - 1])
            depth--;
        buf[k].depth = depth;
        ends[depth++] = buf[k].offset + buf[k].dur;
    }
    struct slow_tree *t = malloc(sizeof *t + n * sizeof t->nodes[0]);
    if (!t)
        return NULL;
    t->refs = 0;
    t->n = n;
    t->truncated = truncated;
    t->reserved = 0;
    memcpy(t->nodes, buf, n * sizeof buf[0]);
    return t;
}

/* A sample's rank key: as slowest_list() orders them, the longer first,
 * then the earlier. */
struct rank {
    uint64_t dur, start;
};

static int before(struct rank x, const struct slow_sample *y)
{
    return x.dur != y->dur ? x.dur > y->dur : x.start < y->start;
}

/* A window second is pruned once, when it is SLOW_PRUNE_AGE seconds old:
 * against itself and the seconds since, which by then hold most of what
 * will ever outrank its samples; pruning every second again would cost the
 * drain more than it saves. */
#define SLOW_PRUNE_AGE 3

/* A new second `sec` begins: the window's second sec - SLOW_PRUNE_AGE drops
 * the samples that K samples of its own or later seconds outrank (struct
 * slow_set), and gives back their memory. */
static void win_prune(struct slow_op *s, int64_t sec)
{
    unsigned age = s->nwin > SLOW_PRUNE_AGE ? SLOW_PRUNE_AGE : s->nwin - 1;
    struct rank top[SLOW_K_MAX];   /* the K best of the later seconds, best first */
    unsigned nt = 0;
    for (unsigned a = 1; a <= age; a++) {
        struct slow_set *w = &s->win[(uint64_t)(sec - (int64_t)a) % s->nwin];
        if (w->sec != sec - (int64_t)a || !w->n)
            continue;
        uint8_t drop[SLOW_K_MAX];
        uint32_t nk = 0;
        if (a == age) {
            for (uint32_t i = 0; i < w->n; i++) {
                unsigned above = 0;
                for (unsigned t = 0; t < nt; t++)
                    above += before(top[t], &w->v[i]);
                for (uint32_t j = 0; j < w->n; j++)
                    above += j != i && before((struct rank){ w->v[j].dur, w->v[j].start }, &w->v[i]);
                drop[i] = above >= slow_k;
                nk += !drop[i];
            }
        } else {
            memset(drop, 0, w->n);
            nk = w->n;
        }
        for (uint32_t i = 0; i < w->n; i++) {   /* this second's into top[] */
            if (drop[i])
                continue;
            struct rank r = { w->v[i].dur, w->v[i].start };
            unsigned at = nt;
            while (at > 0 && !before(top[at - 1], &w->v[i]))
                at--;
            if (at >= slow_k)
                continue;
            if (nt < slow_k)
                nt++;
            memmove(&top[at + 1], &top[at], (nt - 1 - at) * sizeof top[0]);
            top[at] = r;
        }
        if (a < age)
            continue;
        if (nt == slow_k) {
            /* a late sample of this second at or below the K-th of it and
             * the later seconds could not be kept either */
            if (!w->pruned || top[nt - 1].dur > w->floor)
                w->floor = top[nt - 1].dur;
            w->pruned = 1;
        }
        if (nk == w->n)
            continue;
        struct slow_sample *v = nk ? malloc(nk * sizeof *v) : NULL, *d = v ? v : w->v;
        uint32_t n = 0;
        for (uint32_t i = 0; i < w->n; i++) {
            if (drop[i])
                tree_put(w->v[i].tree);
            else
                d[n++] = w->v[i];   /* d == w->v: n <= i */
        }
        w->n = nk;
        if (v || !nk) {   /* else out of memory: the old array, compacted */
            free(w->v);
            w->v = v;
            w->cap = (uint16_t)nk;
        }
    }
}

void slowest_offer(struct agg_op *o, int64_t sec, uint64_t hidx, uint64_t start, uint64_t dur,
                   uint64_t self, int32_t tid, uint32_t proc_hid)
{
    if (!slow_k)
        return;
    struct slow_op *s = slow_get(o);
    if (!s)
        return;
    struct slow_set *w = NULL;
    if (sec != INT64_MIN) {
        w = &s->win[(uint64_t)sec % agg_slots];
        if (w->sec != sec) {
            if (w->sec > sec)
                w = NULL;   /* the slot holds a newer second: too old */
            else {
                set_clear(w);
                w->sec = sec;
                win_prune(s, sec);
            }
        }
    }
    int to_cum = set_wants(&s->cum, dur);
    int to_win = w && set_wants(w, dur);
    if (!to_cum && !to_win)
        return;
    struct slow_sample smp = { start, dur, self, tid, 0, NULL };
    smp.tree = tree_build(hidx, start, dur, tid, proc_hid);
    if (smp.tree)
        smp.tree->refs = 1;   /* ours until both puts are done */
    if (to_cum)
        set_put(&s->cum, &smp);
    if (to_win)
        set_put(w, &smp);
    tree_put(smp.tree);
}

static int sample_cmp(const void *a, const void *b)
{
    const struct slow_sample *x = *(const struct slow_sample *const *)a;
    const struct slow_sample *y = *(const struct slow_sample *const *)b;
    int c = QP_CMP(y->dur, x->dur);
    return c ? c : QP_CMP(x->start, y->start);
}

unsigned slowest_list(const struct agg_op *o, int cumulative, int64_t sec,
                      const struct slow_sample **out, unsigned max)
{
    const struct slow_op *s = o->slow;
    if (!s || !max)
        return 0;
    const struct slow_sample *all[SLOW_K_MAX * 2];
    unsigned n = 0;
    if (cumulative) {
        for (uint32_t i = 0; i < s->cum.n; i++)
            all[n++] = &s->cum.v[i];
        qsort(all, n, sizeof all[0], sample_cmp);
    } else {
        /* The window's seconds: keep the best `max` as we go. */
        const unsigned keep = max < SLOW_K_MAX ? max : SLOW_K_MAX;
        for (unsigned k = 0; k < s->nwin; k++) {
            const struct slow_set *w = &s->win[k];
            if (w->sec <= sec - (int64_t)agg_window_s || w->sec > sec)
                continue;
            for (uint32_t i = 0; i < w->n; i++) {
                all[n++] = &w->v[i];
                if (n == 2 * keep || n == SLOW_K_MAX * 2) {
                    qsort(all, n, sizeof all[0], sample_cmp);
                    n = keep;
                }
            }
        }
        qsort(all, n, sizeof all[0], sample_cmp);
    }
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof all[0]);
    return n;
}

int slowest_recent(const struct agg_op *o, int64_t sec, uint64_t *dur, int32_t *tid,
                   double *start_unix)
{
    const struct slow_sample *top;
    if (slowest_list(o, 0, sec, &top, 1) != 1)
        return 0;
    *dur = top->dur;
    *tid = top->tid;
    *start_unix = slowest_unix(top->start);
    return 1;
}

double slowest_unix(uint64_t mono)
{
    double off = (double)(int64_t)(qp_real_ns() - qp_mono_ns()) / 1e9;
    return off + (double)mono / 1e9;
}

static size_t set_memory(const struct slow_set *s)
{
    size_t b = s->v ? s->cap * sizeof *s->v : 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].tree)
            b += (sizeof *s->v[i].tree + s->v[i].tree->n * sizeof s->v[i].tree->nodes[0]) /
                 s->v[i].tree->refs;
    return b;
}

size_t slowest_memory(const struct agg_op *o)
{
    const struct slow_op *s = o->slow;
    if (!s)
        return 0;
    size_t b = sizeof *s + s->nwin * sizeof s->win[0] +
               set_memory(&s->cum);
    for (unsigned i = 0; i < s->nwin; i++)
        b += set_memory(&s->win[i]);
    return b;
}
