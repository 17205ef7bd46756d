/*
 * state.c — the --state file format (see state.h): writing it from the
 * process table and parsing it back.  The parser bounds every length and
 * count, checks that each histogram's buckets add up to its count, and
 * refuses the whole file on the first fault; it allocates nothing it does
 * not hand back or free.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "layout.h"
#include "state.h"

#define MAGIC "QPSTATE\n"
#define STR_MAX 4096u
#define PROCS_MAX (1u << 20)
#define HIST_LAYOUT ((uint32_t)HIST_GROUPS << 8 | HIST_SUB_BITS)
#define HDR_SIZE STATE_HEADER_SIZE
_Static_assert(STATE_HEADER_SIZE == 8 + 4 * 4 + 8 + 8 + 64, "header layout");

static uint64_t fnv1a(const uint8_t *p, size_t n);

uint64_t state_checksum(const uint8_t *p, size_t n)
{
    return fnv1a(p, n);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

struct wbuf {
    uint8_t *v;
    size_t n, cap;
    int oom;
};

static void put_grow(struct wbuf *b, const void *p, size_t n);

/* Appends n bytes: a copy while there is room (millions a save). */
static inline void put(struct wbuf *b, const void *p, size_t n)
{
    if (__builtin_expect(b->n + n <= b->cap, 1)) {
        memcpy(b->v + b->n, p, n);
        b->n += n;
    } else {
        put_grow(b, p, n);
    }
}

static void put_grow(struct wbuf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->n + n)
        cap *= 2;
    uint8_t *v = realloc(b->v, cap);
    if (!v) {
        b->oom = 1;
        return;
    }
    b->v = v;
    b->cap = cap;
    memcpy(b->v + b->n, p, n);
    b->n += n;
}

static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, sizeof v); }
static void put_i32(struct wbuf *b, int32_t v) { put(b, &v, sizeof v); }
static void put_u64(struct wbuf *b, uint64_t v) { put(b, &v, sizeof v); }
static void put_f64(struct wbuf *b, double v) { put(b, &v, sizeof v); }

static void put_str(struct wbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > STR_MAX)
        n = STR_MAX;
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

static int put_bucket(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    (void)hi;
    put_u64(ctx, lo);
    put_u64(ctx, count);
    return 0;
}

static void put_stats(struct wbuf *b, const struct agg_stats *s)
{
    const hist_t *h = &s->h;
    put_u64(b, h->count);
    put_u64(b, h->total);
    put_u64(b, h->min);
    put_u64(b, h->max);
    put_u64(b, hist_clamped(h));
    put_u64(b, hist_nomem(h));
    put_u64(b, s->self);
    put_u64(b, s->shift);
    put_f64(b, s->s1);
    put_f64(b, s->s2);
    put_u32(b, hist_nbuckets(h));
    hist_iterate(h, put_bucket, b);
    put_u32(b, s->nkids);
    for (uint32_t i = 0; i < s->nkids; i++) {
        put_u32(b, s->kids[i].op);
        put_u64(b, s->kids[i].count);
        put_u64(b, s->kids[i].total);
    }
}

int state_serialize(const struct proc *list, const char *ns, double now_real,
                    int64_t now_mono, uint8_t **out, size_t *outlen)
{
    struct wbuf b = { 0 };
    uint8_t hdr[HDR_SIZE];
    memset(hdr, 0, sizeof hdr);
    put(&b, hdr, sizeof hdr);   /* filled in at the end */
    uint32_t n = 0;
    for (const struct proc *p = list; p; p = p->next)
        n++;
    put_u32(&b, n);
    for (const struct proc *p = list; p; p = p->next) {
        put_str(&b, p->shm_name);
        put_str(&b, p->name);
        put_i32(&b, p->pid);
        put_u32(&b, (uint32_t)p->uid);
        put_u64(&b, p->start_time);
        /* alive: its segment may be found again (a saved one not matched
         * yet keeps its flag) */
        put_u32(&b, p->r || (p->saved && p->alive) ? 1u : 0u);
        put_f64(&b, p->started_at);
        put_f64(&b, p->exited_at);
        put_f64(&b, p->saved ? p->saved_seen
                             : now_real - (double)(now_mono - p->seen_mono) / 1e9);
        put_u64(&b, p->r ? qp_reader_consumed(p->r) : p->saved_consumed);
        put_u64(&b, p->lost_prev);
        put_u64(&b, p->dropped_prev + p->lost + (p->r ? qp_reader_invalid(p->r) : 0));
        put_u64(&b, p->dropped_base);
        put_u64(&b, p->dropped_last);
        uint32_t nops = 0;
        for (uint32_t i = 0; i < p->nops; i++)
            nops += p->ops[i] != NULL;
        put_u32(&b, nops);
        for (uint32_t i = 0; i < p->nops; i++) {
            const struct agg_op *o = p->ops[i];
            if (!o)
                continue;
            put_u32(&b, i);
            put_str(&b, o->set);
            put_str(&b, o->name);
            put_str(&b, o->group);
            put_str(&b, o->desc);
            put_i32(&b, o->priority);
            put_stats(&b, &o->cum);
        }
    }
    if (b.oom) {
        free(b.v);
        return -ENOMEM;
    }
    uint8_t *h = b.v;
    uint32_t u32s[4] = { STATE_VERSION, HIST_LAYOUT, QP_LAYOUT_MAJOR, 0 };
    uint64_t plen = b.n - HDR_SIZE, sum = fnv1a(b.v + HDR_SIZE, plen);
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, u32s, sizeof u32s);
    memcpy(h + 24, &plen, 8);
    memcpy(h + 32, &sum, 8);
    snprintf((char *)h + 40, 64, "%s", ns);
    *out = b.v;
    *outlen = b.n;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                 */
/* ---------------------------------------------------------------------- */

struct rbuf {
    const uint8_t *p, *end;
    char *err;
    size_t errlen;
    int bad;
};

static void bad(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct rbuf *b, const char *fmt, ...)
{
    if (b->bad)
        return;
    b->bad = 1;
    if (b->err && b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
    }
}

static int get(struct rbuf *b, void *out, size_t n)
{
    if (b->bad || (size_t)(b->end - b->p) < n) {
        bad(b, "truncated");
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, b->p, n);
    b->p += n;
    return 0;
}

static uint32_t get_u32(struct rbuf *b) { uint32_t v; get(b, &v, sizeof v); return v; }
static int32_t get_i32(struct rbuf *b) { int32_t v; get(b, &v, sizeof v); return v; }
static uint64_t get_u64(struct rbuf *b) { uint64_t v; get(b, &v, sizeof v); return v; }

static double get_f64(struct rbuf *b)
{
    double v;
    get(b, &v, sizeof v);
    if (!isfinite(v)) {
        bad(b, "a number is not finite");
        return 0;
    }
    return v;
}

/* A string of at most max-1 bytes into out, or a malloc'd copy when out
 * is NULL (returned).  Control characters become '?', as from a segment. */
static char *get_str(struct rbuf *b, char *out, size_t max)
{
    uint32_t n = get_u32(b);
    if (b->bad)
        return NULL;
    if (n > STR_MAX || (out && n >= max) || (size_t)(b->end - b->p) < n) {
        bad(b, "string of %u bytes out of range", n);
        return NULL;
    }
    char *s = out ? out : malloc(n + 1u);
    if (!s) {
        bad(b, "out of memory");
        return NULL;
    }
    memcpy(s, b->p, n);
    s[n] = 0;
    b->p += n;
    for (uint32_t i = 0; i < n; i++)
        if (qp_is_ctrl(s[i]))   /* a NUL too */
            s[i] = '?';
    return s;
}

static void get_stats(struct rbuf *b, struct agg_stats *s)
{
    hist_t *h = &s->h;
    uint64_t count = get_u64(b), total = get_u64(b), min = get_u64(b), max = get_u64(b);
    uint64_t clamped = get_u64(b), nomem = get_u64(b);
    s->self = get_u64(b);
    s->shift = get_u64(b);
    s->s1 = get_f64(b);
    s->s2 = get_f64(b);
    uint32_t nb = get_u32(b);
    if (b->bad)
        return;
    if (nb > HIST_GROUPS * HIST_SUB || (uint64_t)(b->end - b->p) / 16 < nb) {
        bad(b, "%u histogram buckets out of range", nb);
        return;
    }
    uint64_t sum = 0, prev = 0;
    for (uint32_t i = 0; i < nb && !b->bad; i++) {
        uint64_t lo = get_u64(b), n = get_u64(b), blo, bhi;
        hist_bucket_of(lo, &blo, &bhi);
        if (lo > HIST_MAX_NS || blo != lo || (i && lo <= prev) || n == 0 ||
            __builtin_add_overflow(sum, n, &sum)) {
            bad(b, "histogram bucket %u (at %llu ns) is not valid", i, (unsigned long long)lo);
            return;
        }
        prev = lo;
        if (hist_record(h, lo, n) < 0) {
            bad(b, "out of memory");
            return;
        }
    }
    if (sum != count || (count && (min > max || clamped > count))) {
        bad(b, "histogram counts %llu buckets, header says %llu", (unsigned long long)sum,
            (unsigned long long)count);
        return;
    }
    h->count = count;
    h->total = total;
    h->min = count ? min : UINT64_MAX;
    h->max = count ? max : 0;
    if (hist_set_rare(h, clamped, nomem) < 0) {
        bad(b, "out of memory");
        return;
    }
    uint32_t nk = get_u32(b);
    if (b->bad)
        return;
    if (nk > QP_OPS_CAP || (uint64_t)(b->end - b->p) / 20 < nk) {
        bad(b, "%u children out of range", nk);
        return;
    }
    if (nk) {
        s->kids = calloc(nk, sizeof *s->kids);
        if (!s->kids) {
            bad(b, "out of memory");
            return;
        }
        s->capkids = nk;
    }
    for (uint32_t i = 0; i < nk && !b->bad; i++) {
        uint32_t op = get_u32(b);
        if (op >= QP_OPS_CAP) {
            bad(b, "child operation %u out of range", op);
            return;
        }
        s->kids[i] = (struct agg_child){ op, 0, get_u64(b), get_u64(b) };
        s->nkids = i + 1;
    }
}

static void free_proc(struct proc *p)
{
    for (uint32_t i = 0; i < p->nops; i++)
        agg_op_free(p->ops[i]);
    free(p->ops);
    free(p);
}

void state_free_list(struct proc *list)
{
    while (list) {
        struct proc *n = list->next;
        free_proc(list);
        list = n;
    }
}

static struct proc *get_proc(struct rbuf *b)
{
    struct proc *p = calloc(1, sizeof *p);
    if (!p) {
        bad(b, "out of memory");
        return NULL;
    }
    p->saved = 1;
    p->cpu_pct = -1;
    get_str(b, p->shm_name, sizeof p->shm_name);
    get_str(b, p->name, sizeof p->name);
    p->pid = get_i32(b);
    p->uid = (uid_t)get_u32(b);
    p->start_time = get_u64(b);
    uint32_t alive = get_u32(b);
    p->started_at = get_f64(b);
    p->exited_at = get_f64(b);
    p->saved_seen = get_f64(b);
    p->saved_consumed = get_u64(b);
    p->lost_prev = get_u64(b);
    p->dropped_prev = get_u64(b);
    p->dropped_base = get_u64(b);
    p->dropped_last = get_u64(b);
    uint32_t nops = get_u32(b);
    if (!b->bad && (p->pid <= 0 || alive > 1 || p->dropped_base > p->dropped_last))
        bad(b, "process %ld: bad identity or counters", (long)p->pid);
    if (!b->bad && nops > QP_OPS_CAP)
        bad(b, "%u operations out of range", nops);
    p->alive = (int)alive;
    uint32_t prev = 0;
    for (uint32_t k = 0; k < nops && !b->bad; k++) {
        uint32_t idx = get_u32(b);
        if (b->bad)
            break;
        if (idx >= QP_OPS_CAP || (k && idx <= prev)) {
            bad(b, "operation index %u out of order or range", idx);
            break;
        }
        prev = idx;
        char *set = get_str(b, NULL, 0), *name = get_str(b, NULL, 0);
        char *group = get_str(b, NULL, 0), *desc = get_str(b, NULL, 0);
        int32_t prio = get_i32(b);
        struct agg_op *o = NULL;
        if (!b->bad) {
            qp_op_info_t info = { set, name, group, desc, prio, 0 };
            o = agg_op_new(&info);
            if (!o)
                bad(b, "out of memory");
        }
        free(set);
        free(name);
        free(group);
        free(desc);
        if (!o)
            break;
        struct agg_op **v = realloc(p->ops, (idx + 1) * sizeof *v);
        if (!v) {
            agg_op_free(o);
            bad(b, "out of memory");
            break;
        }
        memset(v + p->nops, 0, (idx + 1 - p->nops) * sizeof *v);
        p->ops = v;
        p->nops = idx + 1;
        p->ops[idx] = o;
        get_stats(b, &o->cum);
    }
    if (b->bad) {
        free_proc(p);
        return NULL;
    }
    return p;
}

int state_parse(const uint8_t *buf, size_t len, const char *ns, struct proc **out,
                char *err, size_t errlen)
{
    *out = NULL;
    struct rbuf b = { buf, buf + len, err, errlen, 0 };
    if (len < HDR_SIZE || memcmp(buf, MAGIC, 8) != 0) {
        bad(&b, "not a qpulsed state file");
        return -EBADMSG;
    }
    uint32_t u32s[4];
    uint64_t plen, sum;
    memcpy(u32s, buf + 8, sizeof u32s);
    memcpy(&plen, buf + 24, 8);
    memcpy(&sum, buf + 32, 8);
    if (u32s[0] != STATE_VERSION) {
        bad(&b, "state format version %u, this qpulsed reads version %u", u32s[0],
            STATE_VERSION);
        return -EPROTO;
    }
    if (u32s[1] != HIST_LAYOUT || u32s[2] != QP_LAYOUT_MAJOR) {
        bad(&b, "histogram layout %#x / segment layout %u, this qpulsed has %#x / %u",
            u32s[1], u32s[2], HIST_LAYOUT, QP_LAYOUT_MAJOR);
        return -EPROTO;
    }
    if (plen != len - HDR_SIZE) {
        bad(&b, "payload of %llu bytes, the file holds %zu", (unsigned long long)plen,
            len - HDR_SIZE);
        return -EBADMSG;
    }
    if (fnv1a(buf + HDR_SIZE, plen) != sum) {
        bad(&b, "checksum mismatch (a torn or edited file)");
        return -EBADMSG;
    }
    char fns[64];
    memcpy(fns, buf + 40, sizeof fns);
    fns[sizeof fns - 1] = 0;
    if (ns && strcmp(fns, ns)) {
        bad(&b, "saved by the daemon of namespace '%.48s', not '%s'", fns, ns);
        return -EPROTO;
    }
    b.p = buf + HDR_SIZE;
    uint32_t n = get_u32(&b);
    if (!b.bad && n > PROCS_MAX)
        bad(&b, "%u processes out of range", n);
    struct proc *head = NULL, **tail = &head;
    for (uint32_t i = 0; i < n && !b.bad; i++) {
        struct proc *p = get_proc(&b);
        if (p) {
            *tail = p;
            tail = &p->next;
        }
    }
    if (!b.bad && b.p != b.end)
        bad(&b, "%zu bytes after the last process", (size_t)(b.end - b.p));
    if (b.bad) {
        state_free_list(head);
        return -EBADMSG;
    }
    *out = head;
    return 0;
}
