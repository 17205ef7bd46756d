/*
 * reader.c — attach to a segment, validate it, drain its rings.
 *
 * Trust nothing in the segment: every field is checked when read, every
 * offset and count is bounded against the size the reader mapped, strings
 * are copied out only when terminated inside their region, and records are
 * copied out before they are looked at.  A segment shrunk under the reader
 * raises SIGBUS on access, a read or a write of the consumer region alike;
 * a thread-local guard turns that into -EFAULT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "common.h"
#include "layout.h"
#include "reader.h"

struct qp_reader {
    int fd;
    unsigned flags;
    const uint8_t *base;          /* whole segment, read-only */
    size_t size;                  /* bytes mapped */
    struct qp_consumer *cons;     /* consumer region, read-write (or NULL) */
    size_t cons_size;
    struct qp_seg_header hdr;     /* validated copy of the fixed fields */
    qp_proc_info_t info;
    const struct qp_slot *slots;
    const qp_sample_t *rings;
    uint64_t *tails;              /* our copy of the consumer tails */
    /* The slots ever claimed, the ones worth looking at (minor >= 2; else
     * all): used[0..nused), rebuilt when the bits (a copy in used_bits)
     * change. */
    uint32_t *used, nused;
    uint64_t *used_bits;
    /* tables copied out */
    uint32_t nsets, nops;
    char **set_names;             /* nsets */
    qp_op_info_t *ops;            /* nops */
    uint64_t invalid, drained, clamped;
};

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

/* Producers record raw TSC ticks and do not calibrate (a process's first
 * sample must be cheap); the reader, which lives long, does it once per
 * process: a 5 ms measurement against CLOCK_MONOTONIC at first need, then
 * refined from that first pair whenever a second or more has passed, so
 * the error (two pair readings, ~100 ns, over the whole span) keeps
 * shrinking.  The TSC is invariant and shared by every process on the host
 * (producers use it only then), so one rate serves every segment. */
static pthread_mutex_t cal_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cal_t0, cal_n0, cal_last;
static double cal_k;

static uint64_t cal_tick(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return qp_mono_ns();
#endif
}

static void cal_pair(uint64_t *tick, uint64_t *ns)
{
    qp_clock_pair(cal_tick, 5, tick, ns);
}

double qp_reader_tsc_ns_per_tick(void)
{
    uint64_t t, n;
    pthread_mutex_lock(&cal_lock);
    if (cal_k == 0) {
        cal_pair(&cal_t0, &cal_n0);
        do
            cal_pair(&t, &n);
        while (n - cal_n0 < 5000000ull);
        double k = t > cal_t0 ? (double)(n - cal_n0) / (double)(t - cal_t0) : 1.0;
        cal_k = isfinite(k) && k > 1e-3 && k < 1e3 ? k : 1.0;
        cal_last = n;
    } else if (qp_mono_ns() - cal_last >= 1000000000ull) {
        cal_pair(&t, &n);
        if (t > cal_t0) {
            double k = (double)(n - cal_n0) / (double)(t - cal_t0);
            if (isfinite(k) && k > 1e-3 && k < 1e3)
                cal_k = k;
        }
        cal_last = n;
    }
    double k = cal_k;
    pthread_mutex_unlock(&cal_lock);
    return k;
}

/* ---------------------------------------------------------------------- */
/* SIGBUS guard                                                            */
/* ---------------------------------------------------------------------- */

static __thread sigjmp_buf *guard_jb;
static struct sigaction old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
    if (guard_jb)
        siglongjmp(*guard_jb, 1);
    /* Not ours: behave as before we were installed. */
    sigaction(SIGBUS, &old_bus, NULL);
    (void)si;
    (void)uc;
    raise(sig);
}

static void guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = bus_handler;
    /* SA_NODEFER: we leave the handler by siglongjmp without restoring the
     * mask, so SIGBUS must not stay blocked. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old_bus);
}

/* Guards nest: an inner guard restores the outer one when it ends.  The
 * guarded code reads the segment or stores to the consumer region; on a fault the function returns
 * fail_ret at once and uses none of its locals. */
#define GUARD_BEGIN(fail_ret)                                                  \
    sigjmp_buf jb__;                                                           \
    sigjmp_buf *volatile prev__ = guard_jb;                                    \
    pthread_once(&guard_once, guard_install);                                  \
    if (sigsetjmp(jb__, 0)) {                                                  \
        guard_jb = prev__;                                                     \
        return (fail_ret);                                                     \
    }                                                                          \
    guard_jb = &jb__
#define GUARD_END() (guard_jb = prev__)

/* ---------------------------------------------------------------------- */
/* Open and validate                                                       */
/* ---------------------------------------------------------------------- */

static int fail(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* a + b <= limit, without overflow */
static int fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}

static int validate_header(const struct qp_seg_header *h, size_t size, char *err, size_t el)
{
    if (h->magic != QP_MAGIC)
        return fail(err, el, -EBADMSG, "bad magic %#llx", (unsigned long long)h->magic);
    if (h->major != QP_LAYOUT_MAJOR)
        return fail(err, el, -EPROTO, "layout version %u.%u, this reader knows %u.x",
                    h->major, h->minor, QP_LAYOUT_MAJOR);
    if (h->header_size != QP_HEADER_SIZE || h->word_size != 8 ||
        h->sample_size != sizeof(qp_sample_t) || h->slot_size != sizeof(struct qp_slot))
        return fail(err, el, -EBADMSG, "unexpected header/word/sample/slot size %u/%u/%u/%u",
                    h->header_size, h->word_size, h->sample_size, h->slot_size);
    if (h->total_size > size || h->total_size < QP_HEADER_SIZE)
        return fail(err, el, -EBADMSG, "segment claims %llu bytes, object has %zu",
                    (unsigned long long)h->total_size, size);
    uint64_t total = h->total_size;
    if (h->pid <= 0)
        return fail(err, el, -EBADMSG, "bad pid %d", h->pid);
    if (!memchr(h->name, 0, sizeof h->name) || !memchr(h->ns, 0, sizeof h->ns))
        return fail(err, el, -EBADMSG, "unterminated name");
    /* ns_per_tick is not read: the reader calibrates the TSC itself. */
    if (h->clock_kind != QP_CLOCK_TSC && h->clock_kind != QP_CLOCK_MONOTONIC) {
        return fail(err, el, -EBADMSG, "unknown clock kind %u", h->clock_kind);
    }
    if (h->slot_count == 0 || h->slot_count > QP_MAX_SLOTS)
        return fail(err, el, -EBADMSG, "slot count %u out of range", h->slot_count);
    if (h->ring_records < QP_MIN_RING_RECORDS || h->ring_records > QP_MAX_RING_RECORDS ||
        (h->ring_records & (h->ring_records - 1)))
        return fail(err, el, -EBADMSG, "ring size %u is not a power of two in range",
                    h->ring_records);
    if (h->sets_cap > QP_SETS_CAP || h->ops_cap > QP_OPS_CAP || h->strings_cap > (1u << 24) ||
        h->strings_cap == 0)
        return fail(err, el, -EBADMSG, "table capacity out of range");
    uint64_t cons_need = sizeof(struct qp_consumer) + (uint64_t)h->slot_count * sizeof(struct qp_tail);
    uint64_t ring_bytes = (uint64_t)h->slot_count * h->ring_records * sizeof(qp_sample_t);
    if ((h->consumer_off % QP_PAGE) || (h->consumer_size % QP_PAGE) ||
        h->consumer_size < cons_need || h->consumer_off < QP_HEADER_SIZE ||
        !fits(h->consumer_off, h->consumer_size, total) ||
        !fits(h->sets_off, (uint64_t)h->sets_cap * sizeof(struct qp_set_entry), total) ||
        !fits(h->ops_off, (uint64_t)h->ops_cap * sizeof(struct qp_op_entry), total) ||
        !fits(h->strings_off, h->strings_cap, total) ||
        !fits(h->slots_off, (uint64_t)h->slot_count * sizeof(struct qp_slot), total) ||
        (h->rings_off % QP_PAGE) || !fits(h->rings_off, ring_bytes, total) ||
        (h->sets_off % 8) || (h->ops_off % 8) || (h->slots_off % 8))
        return fail(err, el, -EBADMSG, "a region lies outside the segment or is misaligned");
    /* Minor >= 1: the drops per operation, 0 when not kept.  (A minor-0
     * producer left the field zero, as all reserved space.) */
    if (h->minor >= 1 && h->op_dropped_off != 0 &&
        ((h->op_dropped_off % 8) ||
         !fits(h->op_dropped_off, (uint64_t)h->ops_cap * sizeof(uint64_t), total)))
        return fail(err, el, -EBADMSG, "the drop counters lie outside the segment or are misaligned");
    /* The tails must not share memory with anything the producer writes. */
    uint64_t ce = h->consumer_off + h->consumer_size;
    uint64_t starts[] = { h->sets_off, h->ops_off, h->strings_off, h->slots_off, h->rings_off,
                          h->minor >= 1 && h->op_dropped_off ? h->op_dropped_off : 0 };
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (starts[i] >= h->consumer_off && starts[i] < ce)
            return fail(err, el, -EBADMSG, "a region overlaps the consumer region");
    return 0;
}

int qp_reader_open(qp_reader_t **out, const char *name, unsigned flags, char *err, size_t errlen)
{
    *out = NULL;
    char ns[QP_NAME_MAX];
    pid_t npid;
    uint64_t nst;
    if (qp_seg_name_parse(name, ns, sizeof ns, &npid, &nst, NULL) < 0)
        return fail(err, errlen, -EINVAL, "not a qpulse segment name");
    int consume = (flags & QP_READER_CONSUME) != 0;
    int fd = shm_open(name, (consume ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW, 0);
    if (fd < 0)
        return fail(err, errlen, -errno, "shm_open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, -e, "fstat: %s", strerror(e));
    }
    /* Our own user's segments; root (system mode) also reads other users'
     * segments, each checked below against the process it names, so that
     * nobody can feed a root daemon statistics in the name of another
     * user's process (tests/system-users.sh). */
    if (sb.st_uid != getuid() && getuid() != 0) {
        close(fd);
        return fail(err, errlen, -EPERM, "owned by uid %lu, not us", (unsigned long)sb.st_uid);
    }
    if ((size_t)sb.st_size < QP_HEADER_SIZE) {
        close(fd);
        /* A producer between shm_open and ftruncate looks like this too. */
        return fail(err, errlen, sb.st_size == 0 ? -EAGAIN : -EBADMSG,
                    "only %lld bytes", (long long)sb.st_size);
    }
    size_t size = (size_t)sb.st_size;
    const uint8_t *base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return fail(err, errlen, -e, "mmap: %s", strerror(e));
    }
    qp_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        munmap((void *)base, size);
        close(fd);
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    r->fd = fd;
    r->flags = flags;
    r->base = base;
    r->size = size;
    int ret;
    {
        GUARD_BEGIN(-EFAULT);
        const struct qp_seg_header *sh = (const void *)base;
        /* Pairs with the release store of the magic in seg_create(). */
        uint64_t magic = qp_load_acquire(&sh->magic);
        memcpy(&r->hdr, sh, sizeof r->hdr);
        GUARD_END();
        if (magic == 0)
            ret = fail(err, errlen, -EAGAIN, "not initialised yet");
        else
            ret = validate_header(&r->hdr, size, err, errlen);
    }
    if (ret == 0 && (r->hdr.pid != npid || (nst && r->hdr.start_time && r->hdr.start_time != nst)))
        ret = fail(err, errlen, -EPERM, "segment names pid %ld but holds pid %d",
                   (long)npid, r->hdr.pid);
    if (ret == 0 && r->hdr.uid != sb.st_uid)
        ret = fail(err, errlen, -EPERM, "header uid %u differs from owner", r->hdr.uid);
    if (ret == 0 && sb.st_uid != 0 && sb.st_uid != getuid()) {
        /* Another user's segment (we are root): trusted only while the
         * process it names runs, started when the name says, as that user
         * (real or effective uid). */
        uid_t ru = (uid_t)-1, eu = (uid_t)-1;
        if (!qp_proc_alive(npid, r->hdr.start_time) || qp_proc_uids(npid, &ru, &eu) < 0 ||
            (ru != sb.st_uid && eu != sb.st_uid))
            ret = fail(err, errlen, -EPERM,
                       "owned by uid %lu, but pid %ld is not a running process of that user",
                       (unsigned long)sb.st_uid, (long)npid);
    } else if (ret == 0 && sb.st_uid != 0 && qp_proc_alive(npid, 0)) {
        /* A live pid must belong to the segment's owner (root's segments
         * may name any process: a server that dropped privileges). */
        uid_t ru = (uid_t)-1, eu = (uid_t)-1;
        if (qp_proc_uids(npid, &ru, &eu) == 0 && ru != sb.st_uid && eu != sb.st_uid)
            ret = fail(err, errlen, -EPERM, "pid %ld is not owned by the segment's owner",
                       (long)npid);
    }
    if (ret < 0) {
        qp_reader_close(r);
        return ret;
    }
    const struct qp_seg_header *h = &r->hdr;
    r->slots = (const struct qp_slot *)(base + h->slots_off);
    r->rings = (const qp_sample_t *)(base + h->rings_off);
    r->tails = calloc(h->slot_count, sizeof *r->tails);
    r->used = calloc(h->slot_count, sizeof *r->used);
    r->used_bits = calloc((h->slot_count + 63) / 64, sizeof *r->used_bits);
    if (!r->tails || !r->used || !r->used_bits) {
        qp_reader_close(r);
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    if (consume) {
        void *c = mmap(NULL, h->consumer_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       (off_t)h->consumer_off);
        if (c == MAP_FAILED) {
            int e = errno;
            qp_reader_close(r);
            return fail(err, errlen, -e, "mmap consumer region: %s", strerror(e));
        }
        r->cons = c;
        r->cons_size = h->consumer_size;
        /* Carry on where an earlier daemon left off. */
        struct qp_tail *t = (struct qp_tail *)(r->cons + 1);
        GUARD_BEGIN(-EFAULT);
        for (uint32_t i = 0; i < h->slot_count; i++)
            r->tails[i] = qp_load_relaxed(&t[i].tail);
        GUARD_END();
    }
    qp_proc_info_t *in = &r->info;
    in->pid = h->pid;
    in->uid = sb.st_uid;
    in->start_time = h->start_time;
    in->created_realtime_ns = h->created_realtime_ns;
    snprintf(in->name, sizeof in->name, "%s", h->name);
    qp_scrub(in->name);   /* as in copy_string() */
    snprintf(in->ns, sizeof in->ns, "%s", h->ns);
    snprintf(in->shm_name, sizeof in->shm_name, "%s", name);
    if (h->minor >= 3) {
        /* Bounded by the reader's buffer, whatever the header claims; the
         * bytes are the producer's (a hostile one may put anything there:
         * every consumer escapes or scrubs them, as for /proc). */
        uint32_t n = h->cmdline_len;
        in->cmdline_len = n <= sizeof in->cmdline && n <= sizeof h->cmdline ? n : 0;
        memcpy(in->cmdline, h->cmdline, in->cmdline_len);
    }
    in->clock_kind = h->clock_kind;
    in->ns_per_tick = h->clock_kind == QP_CLOCK_TSC ? qp_reader_tsc_ns_per_tick() : 1.0;
    in->major = h->major;
    in->minor = h->minor;
    in->slot_count = h->slot_count;
    in->ring_records = h->ring_records;
    ret = qp_reader_refresh(r, err, errlen);
    if (ret < 0) {
        qp_reader_close(r);
        return ret;
    }
    *out = r;
    return 0;
}

static void free_tables(qp_reader_t *r)
{
    for (uint32_t i = 0; i < r->nsets; i++)
        free(r->set_names[i]);
    for (uint32_t i = 0; i < r->nops; i++) {
        free((char *)r->ops[i].name);
        free((char *)r->ops[i].group);
        free((char *)r->ops[i].description);
    }
    free(r->set_names);
    free(r->ops);
    r->set_names = NULL;
    r->ops = NULL;
    r->nsets = r->nops = 0;
}

void qp_reader_close(qp_reader_t *r)
{
    if (!r)
        return;
    free_tables(r);
    free(r->tails);
    free(r->used);
    free(r->used_bits);
    if (r->cons)
        munmap(r->cons, r->cons_size);
    if (r->base)
        munmap((void *)r->base, r->size);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

const qp_proc_info_t *qp_reader_info(const qp_reader_t *r)
{
    return &r->info;
}

/* A copy of the string at off in the string region, or NULL when off is out
 * of range or the string runs off the end of the region. */
static char *copy_string(const qp_reader_t *r, uint32_t off)
{
    const struct qp_seg_header *h = &r->hdr;
    if (off >= h->strings_cap)
        return NULL;
    const char *s = (const char *)r->base + h->strings_off + off;
    size_t room = h->strings_cap - off;
    const char *nul = memchr(s, 0, room);
    if (!nul)
        return NULL;
    char *c = strndup(s, (size_t)(nul - s));
    /* Names end up in logs, terminals and JSON: a producer's control
     * characters (a newline faking a log line, an escape sequence) become
     * '?'.  UTF-8 passes. */
    return qp_scrub(c);
}

/* Room in r's tables for nsets set names and nops ops (at least one each:
 * realloc() to 0 bytes may free).  0 or -ENOMEM; a table that grew stays
 * r's, its count unchanged. */
static int tables_grow(qp_reader_t *r, uint32_t nsets, uint32_t nops)
{
    char **names = realloc(r->set_names, (nsets ? nsets : 1) * sizeof *names);
    if (!names)
        return -ENOMEM;
    r->set_names = names;
    qp_op_info_t *ops = realloc(r->ops, (nops ? nops : 1) * sizeof *ops);
    if (!ops)
        return -ENOMEM;
    r->ops = ops;
    return 0;
}

int qp_reader_refresh(qp_reader_t *r, char *err, size_t errlen)
{
    const struct qp_seg_header *sh = (const void *)r->base;
    const struct qp_seg_header *h = &r->hdr;
    GUARD_BEGIN(-EFAULT);
    /* Pairs with the release stores of the counts in seg_add_set(). */
    uint32_t nsets = qp_load_acquire(&sh->sets_count);
    uint32_t nops = qp_load_acquire(&sh->ops_count);
    if (nsets == r->nsets && nops == r->nops) {
        GUARD_END();
        return 0;
    }
    if (nsets > h->sets_cap || nops > h->ops_cap || nsets < r->nsets || nops < r->nops) {
        GUARD_END();
        return fail(err, errlen, -EBADMSG, "table counts %u/%u out of range", nsets, nops);
    }
    if (tables_grow(r, nsets, nops) < 0) {
        GUARD_END();
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    const struct qp_set_entry *se = (const void *)(r->base + h->sets_off);
    for (uint32_t i = r->nsets; i < nsets; i++) {
        struct qp_set_entry e = se[i];
        r->set_names[i] = copy_string(r, e.name_off);
        if (!r->set_names[i]) {
            r->nsets = i;
            GUARD_END();
            return fail(err, errlen, -EBADMSG, "set %u: bad name offset", i);
        }
        r->nsets = i + 1;
    }
    const struct qp_op_entry *oe = (const void *)(r->base + h->ops_off);
    for (uint32_t i = r->nops; i < nops; i++) {
        struct qp_op_entry e = oe[i];
        if (e.set >= nsets) {
            GUARD_END();
            return fail(err, errlen, -EBADMSG, "op %u: set index %u out of range", i, e.set);
        }
        char *n = copy_string(r, e.name_off);
        char *g = copy_string(r, e.group_off);
        char *d = copy_string(r, e.desc_off);
        if (!n || !g || !d) {
            free(n);
            free(g);
            free(d);
            GUARD_END();
            return fail(err, errlen, -EBADMSG, "op %u: bad string offset", i);
        }
        r->ops[i] = (qp_op_info_t){ r->set_names[e.set], n, g, d, e.priority, e.set };
        r->nops = i + 1;
    }
    GUARD_END();
    return 0;
}

uint32_t qp_reader_nops(const qp_reader_t *r)
{
    return r->nops;
}

const qp_op_info_t *qp_reader_op(const qp_reader_t *r, uint32_t op)
{
    return op < r->nops ? &r->ops[op] : NULL;
}

/* ---------------------------------------------------------------------- */
/* Drain                                                                   */
/* ---------------------------------------------------------------------- */

/* Brings r->used up to date with the segment's bits of claimed slots (one
 * load per 64 slots when nothing changed).  A segment older than minor 2
 * has no bits: every slot.  Call under GUARD_BEGIN. */
static void used_update(qp_reader_t *r)
{
    const struct qp_seg_header *h = &r->hdr;
    if (h->minor < 2) {
        if (r->nused != h->slot_count)
            for (r->nused = 0; r->nused < h->slot_count; r->nused++)
                r->used[r->nused] = r->nused;
        return;
    }
    const struct qp_seg_header *sh = (const void *)r->base;
    uint32_t words = (h->slot_count + 63) / 64;
    int changed = 0;
    for (uint32_t w = 0; w < words; w++) {
        /* Pairs with the release or in the slot's claim. */
        uint64_t b = qp_load_acquire(&sh->slots_used[w]);
        if (b != r->used_bits[w]) {
            r->used_bits[w] = b;
            changed = 1;
        }
    }
    if (!changed)
        return;
    r->nused = 0;
    for (uint32_t i = 0; i < h->slot_count; i++)
        if (r->used_bits[i / 64] & (1ull << (i % 64)))
            r->used[r->nused++] = i;
}

static long drain_rings(qp_reader_t *r, qp_event_fn fn, void *ctx, size_t max);

long qp_reader_drain(qp_reader_t *r, qp_event_fn fn, void *ctx, size_t max)
{
    if (!r->cons)
        return -EINVAL;
    long n;
    GUARD_BEGIN(-EFAULT);
    n = drain_rings(r, fn, ctx, max);
    GUARD_END();
    return n;
}

/* A converted time as an integer: a hostile segment's ticks and rate can
 * give any double, and converting one out of range is undefined (found by
 * fuzz/fuzz_reader.c), so clamp to 0..UINT64_MAX, NaN to 0. */
static uint64_t ns_to_u64(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

/* Runs under qp_reader_drain()'s SIGBUS guard. */
static long drain_rings(qp_reader_t *r, qp_event_fn fn, void *ctx, size_t max)
{
    const struct qp_seg_header *h = &r->hdr;
    const uint64_t cap = h->ring_records;
    const uint64_t tick_ref = h->tick_ref;
    const double mono_ref = (double)h->mono_ref_ns;
    struct qp_tail *tails = (struct qp_tail *)(r->cons + 1);
    qp_event_t batch[QP_READER_BATCH];
    size_t nb = 0;
    if (h->clock_kind == QP_CLOCK_TSC)
        r->info.ns_per_tick = qp_reader_tsc_ns_per_tick();
    size_t total = 0;
    int refreshed = 0;
    const double k = r->info.ns_per_tick;

    used_update(r);
    for (uint32_t u = 0; u < r->nused && total < max; u++) {
        const uint32_t i = r->used[u];
        /* Pairs with the release store of the head in qpulse__push(): the
         * records below head are complete. */
        uint64_t head = qp_load_acquire(&r->slots[i].head);
        uint64_t tail = r->tails[i];
        if (head == tail)
            continue;
        if (head < tail || head - tail > cap) {
            /* Impossible for an honest producer (it never overwrites what
             * we have not consumed, and heads only grow), so nothing in
             * this ring can be trusted: count what the head claims as
             * invalid and skip to it, passing on none of it. */
            if (head > tail)
                r->invalid += head - tail;
            r->tails[i] = head;
            qp_store_release(&tails[i].tail, head);
            continue;
        }
        const qp_sample_t *ring = r->rings + (size_t)i * cap;
        const int32_t tid = qp_load_relaxed(&r->slots[i].tid);
        uint64_t end = head;
        if (end - tail > max - total)
            end = tail + (max - total);
        for (uint64_t j = tail; j < end; j++) {
            qp_sample_t s = ring[j & (cap - 1)];
            uint32_t op = s.op & ~QPULSE__NS;
            if (op >= r->nops && !refreshed) {
                /* An op registered after our last look (dlopen'ed set). */
                refreshed = 1;
                if (qp_reader_refresh(r, NULL, 0) == -EFAULT)
                    return -EFAULT;
            }
            if (op >= r->nops || s.parent > r->nops) {
                r->invalid++;
                continue;
            }
            qp_event_t *e = &batch[nb++];
            e->op = op;
            e->parent = s.parent;
            e->tid = tid;
            e->reserved = 0;
            e->start_ns = ns_to_u64((double)(int64_t)(s.start - tick_ref) * k + mono_ref);
            if (!(s.op & QPULSE__NS) && (int64_t)s.dur < 0) {
                /* An end before its start: the thread moved to a CPU whose
                 * TSC lags (hosts whose TSCs are not synchronised).  Kept as
                 * a zero duration, and counted. */
                r->clamped++;
                s.dur = 0;
            }
            if (!(s.op & QPULSE__NS) && (int64_t)s.self < 0)
                s.self = 0;   /* nested time beyond the duration: same cause */
            if (s.op & QPULSE__NS) {
                e->dur_ns = s.dur;
                e->self_ns = s.self;
            } else {
                e->dur_ns = ns_to_u64((double)s.dur * k + 0.5);
                e->self_ns = ns_to_u64((double)s.self * k + 0.5);
            }
            if (e->self_ns > e->dur_ns)
                e->self_ns = e->dur_ns;
            if (nb == QP_READER_BATCH) {
                fn(ctx, batch, nb);
                r->drained += nb;
                nb = 0;
            }
        }
        total += (size_t)(end - tail);
        r->tails[i] = end;
        /* The records below end are copied out (into batch or handed to fn);
         * the producer may now reuse their slots.  Pairs with the acquire
         * load of the tail in slot_claim()/qpulse__push_slow(). */
        qp_store_release(&tails[i].tail, end);
    }
    if (nb) {
        fn(ctx, batch, nb);
        r->drained += nb;
    }
    return (long)total;
}

/* What the claimed slots hold, read in one walk (head, dropped and state
 * share a cache line). */
struct slot_sums {
    uint64_t pending;   /* published and not drained, over all rings */
    uint64_t worst;     /* the same in the fullest ring */
    uint64_t dropped;   /* dropped on a full ring */
    uint32_t threads;   /* slots a thread holds now */
};

/* 0, or -EFAULT when the segment shrank under the reader. */
static int slot_sums(qp_reader_t *r, struct slot_sums *s)
{
    memset(s, 0, sizeof *s);
    GUARD_BEGIN(-EFAULT);
    used_update(r);
    for (uint32_t u = 0; u < r->nused; u++) {
        const uint32_t i = r->used[u];
        const struct qp_slot *sl = &r->slots[i];
        uint64_t head = qp_load_acquire(&sl->head);
        if (head > r->tails[i]) {
            s->pending += head - r->tails[i];
            if (head - r->tails[i] > s->worst)
                s->worst = head - r->tails[i];
        }
        s->dropped += qp_load_relaxed(&sl->dropped);
        s->threads += qp_load_relaxed(&sl->state) == QP_SLOT_CLAIMED;
    }
    GUARD_END();
    return 0;
}

uint64_t qp_reader_pending(qp_reader_t *r)
{
    struct slot_sums s;
    return slot_sums(r, &s) < 0 ? 0 : s.pending;
}

double qp_reader_max_fill(qp_reader_t *r)
{
    struct slot_sums s;
    if (slot_sums(r, &s) < 0)
        return 1.0;
    double f = (double)s.worst / (double)r->hdr.ring_records;
    return f > 1.0 ? 1.0 : f;
}

uint64_t qp_reader_dropped(qp_reader_t *r)
{
    const struct qp_seg_header *sh = (const void *)r->base;
    struct slot_sums s;
    uint64_t n = 0;
    if (slot_sums(r, &s) < 0)
        return 0;
    GUARD_BEGIN(0);
    n = qp_load_relaxed(&sh->dropped_noslot) + qp_load_relaxed(&sh->dropped_error);
    GUARD_END();
    return n + s.dropped;
}

int qp_reader_op_dropped(qp_reader_t *r, uint64_t *out, uint32_t want)
{
    const struct qp_seg_header *h = &r->hdr;
    /* Set once, before the guard's sigsetjmp: not clobbered by its longjmp. */
    const uint32_t n = want > r->nops ? r->nops : want;
    if (h->minor < 1 || h->op_dropped_off == 0) {
        memset(out, 0, (size_t)n * sizeof *out);
        return 0;
    }
    /* Validated at open: ops_cap counters fit the segment, and nops <=
     * ops_cap (qp_reader_refresh()). */
    const uint64_t *c = (const uint64_t *)(r->base + h->op_dropped_off);
    GUARD_BEGIN(-EFAULT);
    for (uint32_t i = 0; i < n; i++)
        out[i] = qp_load_relaxed(&c[i]);
    GUARD_END();
    return 0;
}

uint64_t qp_reader_invalid(const qp_reader_t *r)
{
    return r->invalid;
}

uint64_t qp_reader_clamped(const qp_reader_t *r)
{
    return r->clamped;
}

uint64_t qp_reader_consumed(const qp_reader_t *r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->hdr.slot_count; i++)
        n += r->tails[i];
    return n;
}

uint64_t qp_reader_drained(const qp_reader_t *r)
{
    return r->drained;
}

int qp_reader_exited(qp_reader_t *r)
{
    const struct qp_seg_header *sh = (const void *)r->base;
    int ex = 1;
    GUARD_BEGIN(1);
    /* Pairs with the store of EXITED in qpulse_shutdown(): after seeing
     * it, one more drain gets every record the process published (seq_cst
     * for the handshake with qp_reader_set_daemon, see there). */
    ex = qp_load_seq_cst(&sh->state) == QP_STATE_EXITED;
    GUARD_END();
    return ex;
}

uint32_t qp_reader_threads(qp_reader_t *r)
{
    struct slot_sums s;
    return slot_sums(r, &s) < 0 ? 0 : s.threads;
}

int qp_reader_set_daemon(qp_reader_t *r, pid_t pid)
{
    if (!r->cons)
        return -EINVAL;
    /* Read by the producer at exit (qpulse_shutdown) to leave the segment
     * for us.  seq_cst: the producer stores EXITED and then loads this; a
     * daemon that stores 0 here and then loads the state (qp_reader_exited)
     * sees EXITED, or the producer sees the 0 and removes its segment
     * itself.  The producer may have shrunk the object under our mapping:
     * the store then faults like a read. */
    GUARD_BEGIN(-EFAULT);
    qp_store_seq_cst(&r->cons->daemon_pid, pid);
    r->cons->attach_count++;
    GUARD_END();
    return 0;
}
