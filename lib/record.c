/*
 * record.c — the producer side: the process's segment, thread slots, the
 * clock, set registration, and the slow paths behind the inline fast path of
 * include/qpulse.h.
 *
 * Life of a segment: created on the process's first sample (so a program
 * that links libqpulse but records nothing leaves no trace), sized once
 * (QPULSE_THREADS slots x QPULSE_RING_RECORDS records), never unmapped while
 * the process runs (another thread may be writing its ring), and at exit
 * either left for a running qpulsed to drain and remove or removed here.
 * After fork() the child starts over with a segment of its own.
 *
 * Each thread's ring memory is reserved with fallocate() when the thread
 * claims its slot, so a full /dev/shm costs that thread its samples (counted
 * as dropped, one line on stderr) instead of a SIGBUS in the application.
 */
#include "config.h"

#define QPULSE_BUILDING_LIBRARY 1

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "common.h"
#include "layout.h"
#include "qpulse.h"

__thread struct qpulse__tls qpulse__tls __attribute__((tls_model("initial-exec")));
int qpulse__enabled = 1;
int qpulse__use_tsc;
__thread unsigned qpulse__busy __attribute__((tls_model("initial-exec")));

/* Process-wide state, guarded by g_lock (never taken on the fast path). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static qpulse_set_t *g_sets;           /* registration order */
static qpulse_set_t **g_sets_tail = &g_sets;
static uint32_t g_total_ops;
static struct qp_seg_header *g_seg;    /* NULL until the first sample */
static size_t g_seg_size;
static int g_seg_fd = -1;
static pthread_mutex_t g_fd_lock = PTHREAD_MUTEX_INITIALIZER; /* g_seg_fd after creation */
static dev_t g_seg_dev;                /* what g_seg_fd must still refer to */
static ino_t g_seg_ino;
static int g_seg_failed;               /* creation failed: drop everything */
static char g_seg_name[128];
static unsigned g_seg_seq;             /* next seq to try (exec'd images) */
static pthread_key_t g_thread_key;
static int g_key_ok;
static int g_shutdown_done;
static int g_warned_space, g_warned_slots;
static uint64_t g_tick_ref, g_mono_ref; /* clock pair taken at load */

static void warn_once(int *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_once(int *flag, const char *fmt, ...)
{
    if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* One write(2), no stdio: may run in any thread at any time. */
    char line[600];
    int n = snprintf(line, sizeof line, "qpulse[%ld]: %s\n", (long)getpid(), buf);
    if (n > 0 && write(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0) {
        /* nothing more we can do */
    }
}

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t qpulse__now_slow(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (qpulse__use_tsc)
        return __builtin_ia32_rdtsc();
#endif
    return mono_ns();
}

/* Invariant TSC: CPUID 0x80000007 EDX bit 8.  The kernel also says so with
 * the constant_tsc/nonstop_tsc flags; CPUID is what the hardware promises. */
static int tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return 0;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1;
#else
    return 0;
#endif
}

/* A (tick, ns) pair read as close together as we can: the tick read between
 * two clock reads, keeping the tightest of a few tries. */
static void clock_pair(uint64_t *tick, uint64_t *ns)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < 5; i++) {
        uint64_t a = mono_ns();
        uint64_t t = qpulse__now_slow();
        uint64_t b = mono_ns();
        if (b - a < best) {
            best = b - a;
            *tick = t;
            *ns = a + (b - a) / 2;
        }
    }
}

/* Ticks to ns, measured against CLOCK_MONOTONIC over at least 2 ms since
 * the library loaded (usually long past by the first sample).  The pair
 * reading error is ~50 ns, so the rate is good to ~3e-5. */
static double calibrate(void)
{
    if (!qpulse__use_tsc)
        return 1.0;
    uint64_t t1, n1;
    do {
        clock_pair(&t1, &n1);
    } while (n1 - g_mono_ref < 2000000ull);
    if (t1 <= g_tick_ref)
        return 1.0;
    return (double)(n1 - g_mono_ref) / (double)(t1 - g_tick_ref);
}

/* ---------------------------------------------------------------------- */
/* Segment                                                                 */
/* ---------------------------------------------------------------------- */

static uint32_t env_u32(const char *name, uint32_t def, uint32_t lo, uint32_t hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v < lo || v > hi) {
        static int warned;
        warn_once(&warned, "%s=%s is out of range %u..%u; using %u", name, s, lo, hi, def);
        return def;
    }
    return (uint32_t)v;
}

static uint32_t round_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static size_t page_up(size_t v)
{
    return (v + QP_PAGE - 1) & ~(size_t)(QP_PAGE - 1);
}

/* Copies s into h's string region; offset 0 holds "" for when it is full. */
static uint32_t seg_add_string(struct qp_seg_header *h, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    uint32_t used = h->strings_used;
    if (n > h->strings_cap - used)
        return 0;
    memcpy((char *)h + h->strings_off + used, s ? s : "", n);
    h->strings_used = used + (uint32_t)n;
    return used;
}

/* Writes one set and its ops into the segment tables, then publishes the
 * new counts.  Called under g_lock. */
static void seg_add_set(struct qp_seg_header *h, qpulse_set_t *set)
{
    uint32_t sc = h->sets_count, oc = h->ops_count;
    if (sc >= h->sets_cap || set->base != oc || oc + set->nops > h->ops_cap)
        return;   /* cannot happen unless the caps were exceeded: see register */
    struct qp_set_entry *se = (struct qp_set_entry *)((char *)h + h->sets_off) + sc;
    se->name_off = seg_add_string(h, set->name);
    se->first_op = oc;
    se->nops = set->nops;
    struct qp_op_entry *oe = (struct qp_op_entry *)((char *)h + h->ops_off) + oc;
    for (uint32_t i = 0; i < set->nops; i++, oe++) {
        oe->set = sc;
        oe->name_off = seg_add_string(h, set->names[i]);
        oe->group_off = seg_add_string(h, set->groups[i]);
        oe->desc_off = seg_add_string(h, set->descriptions[i]);
        oe->priority = set->priorities[i];
    }
    /* Publishes the entries and strings above; pairs with the acquire loads
     * of sets_count/ops_count in qp_reader_refresh(). */
    qp_store_release(&h->sets_count, sc + 1);
    qp_store_release(&h->ops_count, oc + set->nops);
}

static void seg_layout(struct qp_seg_header *h, uint32_t slots, uint32_t records)
{
    size_t off = QP_HEADER_SIZE;
    h->consumer_off = off;
    h->consumer_size = page_up(sizeof(struct qp_consumer) + (size_t)slots * sizeof(struct qp_tail));
    off += h->consumer_size;
    h->sets_off = off;
    h->sets_cap = QP_SETS_CAP;
    off += QP_SETS_CAP * sizeof(struct qp_set_entry);
    h->ops_off = off;
    h->ops_cap = QP_OPS_CAP;
    off += QP_OPS_CAP * sizeof(struct qp_op_entry);
    h->strings_off = off;
    h->strings_cap = QP_STRINGS_CAP;
    h->strings_used = 1;   /* offset 0 is "" */
    off += QP_STRINGS_CAP;
    h->slots_off = off;
    h->slot_count = slots;
    h->slot_size = sizeof(struct qp_slot);
    off += (size_t)slots * sizeof(struct qp_slot);
    off = page_up(off);
    h->rings_off = off;
    h->ring_records = records;
    off += (size_t)slots * records * sizeof(qp_sample_t);
    h->total_size = off;
}

/* Creates and maps the segment.  Called under g_lock. */
static int seg_create(void)
{
    const char *ns = qp_ns_from_env();
    if (!ns) {
        static int w;
        warn_once(&w, "QPULSE_NS must be 1-48 characters of A-Z a-z 0-9 _ -; recording is off");
        return -EINVAL;
    }
    uint32_t slots = env_u32("QPULSE_THREADS", QP_DEFAULT_SLOTS, 1, QP_MAX_SLOTS);
    uint32_t records = round_pow2(env_u32("QPULSE_RING_RECORDS", QP_DEFAULT_RING_RECORDS,
                                          QP_MIN_RING_RECORDS, QP_MAX_RING_RECORDS));
    struct qp_seg_header tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    seg_layout(&tmpl, slots, records);

    pid_t pid = getpid();
    uint64_t st = qp_proc_starttime(pid);
    int fd = -1;
    for (int tries = 0; tries < 64; tries++, g_seg_seq++) {
        if (qp_seg_name(g_seg_name, sizeof g_seg_name, ns, pid, st, g_seg_seq) < 0)
            return -ENAMETOOLONG;
        fd = shm_open(g_seg_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        /* A segment of an earlier image of this very process (exec keeps
         * pid and start time) that did not run its exit path: mark it
         * exited so the daemon drains and removes it, and take the next seq. */
        int ofd = shm_open(g_seg_name, O_RDWR | O_CLOEXEC, 0);
        if (ofd >= 0) {
            struct stat sb;
            if (fstat(ofd, &sb) == 0 && (size_t)sb.st_size >= QP_HEADER_SIZE) {
                struct qp_seg_header *old = mmap(NULL, QP_HEADER_SIZE, PROT_READ | PROT_WRITE,
                                                 MAP_SHARED, ofd, 0);
                if (old != MAP_FAILED) {
                    if (old->magic == QP_MAGIC && old->pid == pid)
                        qp_store_release(&old->state, QP_STATE_EXITED);
                    munmap(old, QP_HEADER_SIZE);
                }
            }
            close(ofd);
        }
    }
    if (fd < 0) {
        int e = errno;
        static int w;
        warn_once(&w, "cannot create shared memory %s: %s; recording is off", g_seg_name,
                  strerror(e));
        return -e;
    }
    g_seg_seq++;
    (void)fchmod(fd, 0600);   /* whatever the umask said */
    /* Reserve the header, tables and slot indices now; the rings are
     * reserved per thread at slot claim (see slot_claim()). */
    int r = ftruncate(fd, (off_t)tmpl.total_size);
    if (r == 0)
        r = posix_fallocate(fd, 0, (off_t)tmpl.rings_off);
    else
        r = errno;
    if (r != 0) {
        static int w;
        warn_once(&w, "cannot size shared memory %s (%zu bytes): %s; recording is off",
                  g_seg_name, (size_t)tmpl.total_size, strerror(r));
        shm_unlink(g_seg_name);
        close(fd);
        return -r;
    }
    void *p = mmap(NULL, tmpl.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        static int w;
        warn_once(&w, "cannot map shared memory %s: %s; recording is off", g_seg_name, strerror(e));
        shm_unlink(g_seg_name);
        close(fd);
        return -e;
    }
    struct qp_seg_header *h = p;
    memcpy(h, &tmpl, sizeof tmpl);
    h->major = QP_LAYOUT_MAJOR;
    h->minor = QP_LAYOUT_MINOR;
    h->header_size = QP_HEADER_SIZE;
    h->word_size = sizeof(void *);
    h->sample_size = sizeof(qp_sample_t);
    h->pid = pid;
    h->uid = getuid();
    h->start_time = st;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h->created_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    qp_proc_name(pid, h->name, sizeof h->name);
    snprintf(h->ns, sizeof h->ns, "%s", ns);
    h->clock_kind = qpulse__use_tsc ? QP_CLOCK_TSC : QP_CLOCK_MONOTONIC;
    h->ns_per_tick = calibrate();
    h->tick_ref = g_tick_ref;
    h->mono_ref_ns = g_mono_ref;
    h->state = QP_STATE_ALIVE;
    /* The fd and its identity before g_seg: a thread that sees g_seg may go
     * straight to seg_fallocate() (found by TSan, tests/reliability-churn.sh
     * in the -fsanitize=thread build). */
    g_seg_size = tmpl.total_size;
    g_seg_fd = fd;
    struct stat fsb;
    if (fstat(fd, &fsb) == 0) {
        g_seg_dev = fsb.st_dev;
        g_seg_ino = fsb.st_ino;
    }
    for (qpulse_set_t *s = g_sets; s; s = s->next)
        seg_add_set(h, s);
    /* The magic goes last: a reader that sees it sees a whole header.  Pairs
     * with the acquire load of the magic in qp_reader_open(). */
    qp_store_release(&h->magic, QP_MAGIC);
    /* Only now may other threads record into it: were g_seg published
     * before the magic, they could fill rings of a segment no reader can
     * open, and a process killed in between (or a creating thread preempted
     * for long) would lose them all.  Pairs with the acquire load in
     * seg_ensure(). */
    qp_store_release(&g_seg, h);
    return 0;
}

static struct qp_slot *seg_slot(uint32_t i)
{
    return (struct qp_slot *)((char *)g_seg + g_seg->slots_off) + i;
}

static struct qp_tail *seg_tail(uint32_t i)
{
    return (struct qp_tail *)((char *)g_seg + g_seg->consumer_off + sizeof(struct qp_consumer)) + i;
}

static qp_sample_t *seg_ring(uint32_t i)
{
    return (qp_sample_t *)((char *)g_seg + g_seg->rings_off) +
           (size_t)i * g_seg->ring_records;
}

/* Is g_seg_fd still our segment?  A program may close all its descriptors
 * (daemons do) and reuse the number for a file of its own, which we must
 * then neither fallocate nor close. */
static int seg_fd_ours(void)
{
    struct stat sb;
    return g_seg_fd >= 0 && fstat(g_seg_fd, &sb) == 0 && sb.st_dev == g_seg_dev &&
           sb.st_ino == g_seg_ino;
}

/* Reserves ring memory through the segment's fd, reopening the object by
 * name when the program closed the fd.  Its own lock, not g_lock: a thread
 * may claim its slot while it holds g_lock (a hooked call recorded from
 * inside qpulse_shutdown(), under libqpulse-preload). */
static int seg_fallocate(off_t off, off_t len)
{
    pthread_mutex_lock(&g_fd_lock);
    if (!seg_fd_ours()) {
        g_seg_fd = -1;
        int fd = shm_open(g_seg_name, O_RDWR | O_CLOEXEC, 0);
        if (fd >= 0) {
            g_seg_fd = fd;
            if (!seg_fd_ours()) {
                close(fd);
                g_seg_fd = -1;
            }
        }
    }
    int r = g_seg_fd >= 0 ? posix_fallocate(g_seg_fd, off, len) : EBADF;
    pthread_mutex_unlock(&g_fd_lock);
    return r;
}

/* ---------------------------------------------------------------------- */
/* Thread slots                                                            */
/* ---------------------------------------------------------------------- */

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Thread exit (pthread key destructor): give the slot back.  The ring's
 * head and tail carry on, so the next owner appends after what this thread
 * left, and the daemon drains both in order. */
static void slot_release(void *arg)
{
    (void)arg;
    struct qpulse__tls *t = &qpulse__tls;
    if (!t->slot || !g_seg) {
        return;
    }
    struct qp_slot *s = seg_slot(t->slot - 1);
    /* Orders our last head store before the slot is seen free; pairs with
     * the acquire of the CAS in slot_claim(). */
    qp_store_release(&s->state, QP_SLOT_FREE);
    t->ring = NULL;
    t->head_pub = NULL;
    t->head = 0;
    t->limit = 0;
    t->slot = 0;
}

static int seg_ensure(void)
{
    /* Pairs with the release store in seg_create(): a thread that sees the
     * pointer sees the initialised segment behind it. */
    if (qp_load_acquire(&g_seg))
        return 0;
    if (qp_load_relaxed(&g_seg_failed))
        return -1;
    pthread_mutex_lock(&g_lock);
    /* An atomic store: the flag is read without the lock above; relaxed is
     * enough, a thread that misses it takes the lock and sees it here. */
    if (!g_seg && !g_seg_failed && seg_create() < 0)
        qp_store_relaxed(&g_seg_failed, 1);
    pthread_mutex_unlock(&g_lock);
    return qp_load_acquire(&g_seg) ? 0 : -1;
}

/* Claims a free slot for this thread (first sample, or after ENOSPC).
 * Returns 0, or -1 when none is free or the segment is unusable. */
static int slot_claim(void)
{
    struct qpulse__tls *t = &qpulse__tls;
    if (t->state)            /* this thread already failed for good */
        return -1;
    if (seg_ensure() < 0)
        return -1;
    struct qp_seg_header *h = g_seg;
    pid_t tid = gettid_();
    uint32_t n = h->slot_count;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = ((uint32_t)tid + k) % n;
        struct qp_slot *s = seg_slot(i);
        uint32_t expect = QP_SLOT_FREE;
        if (qp_load_relaxed(&s->state) != QP_SLOT_FREE ||
            !qp_cas(&s->state, &expect, QP_SLOT_CLAIMED))
            continue;
        size_t bytes = (size_t)h->ring_records * sizeof(qp_sample_t);
        off_t off = (off_t)(h->rings_off + (size_t)i * bytes);
        if (s->claims == 0) {
            int r = seg_fallocate(off, (off_t)bytes);
            if (r != 0) {
                warn_once(&g_warned_space,
                          "cannot reserve %zu bytes of shared memory for a thread's ring: %s; "
                          "its samples are dropped and counted (free space in /dev/shm or "
                          "lower QPULSE_RING_RECORDS)",
                          bytes, strerror(r));
                qp_store_release(&s->state, QP_SLOT_FREE);
                t->state = 1;
                return -1;
            }
        }
        s->tid = tid;
        s->claims++;
        t->ring = seg_ring(i);
        t->head_pub = &s->head;
        t->head = qp_load_relaxed(&s->head);
        t->mask = h->ring_records - 1;
        /* Pairs with the release store of the tail in qp_reader_drain(): the
         * consumer is done with every record below the tail. */
        t->limit = qp_load_acquire(&seg_tail(i)->tail) + h->ring_records;
        t->slot = i + 1;
        if (g_key_ok)
            pthread_setspecific(g_thread_key, (void *)1);
        return 0;
    }
    warn_once(&g_warned_slots,
              "all %u thread slots are taken; samples of further threads are dropped and "
              "counted (raise QPULSE_THREADS)",
              n);
    return -1;
}

/* slot_claim() marked as the library's own work (qpulse__busy): it may
 * create the segment, and libqpulse-preload must not record the calls that
 * makes — recording them would re-enter slot_claim() and deadlock on g_lock. */
static int slot_claim_busy(void)
{
    qpulse__busy++;
    int r = slot_claim();
    qpulse__busy--;
    return r;
}

void qpulse__push_slow(const struct qpulse__sample *smp)
{
    struct qpulse__tls *t = &qpulse__tls;
    if (!qpulse__enabled)
        return;
    if (!t->slot && slot_claim_busy() < 0) {
        if (g_seg)
            qp_fetch_add(t->state ? &g_seg->dropped_error : &g_seg->dropped_noslot, 1);
        return;
    }
    uint64_t h = t->head;
    if (h >= t->limit) {
        /* Pairs with the release store of the tail in qp_reader_drain(). */
        uint32_t i = t->slot - 1;
        t->limit = qp_load_acquire(&seg_tail(i)->tail) + g_seg->ring_records;
        if (h >= t->limit) {
            struct qp_slot *s = seg_slot(i);
            /* Single writer: a plain increment made visible without a
             * locked instruction. */
            qp_store_relaxed(&s->dropped, qp_load_relaxed(&s->dropped) + 1);
            return;
        }
    }
    t->ring[h & t->mask] = *smp;
    t->head = h + 1;
    /* Publishes the record; pairs with the acquire load of the head in
     * qp_reader_drain(). */
    qp_store_release(t->head_pub, h + 1);
}

/* ---------------------------------------------------------------------- */
/* Sets                                                                    */
/* ---------------------------------------------------------------------- */

void qpulse_register_set(qpulse_set_t *set)
{
    if (!set || set->abi != QPULSE_SET_ABI)
        return;
    qpulse__busy++;
    pthread_mutex_lock(&g_lock);
    if (!set->registered) {
        if (g_total_ops + set->nops > QP_OPS_CAP) {
            static int w;
            warn_once(&w, "operation set %s does not fit (more than %u operations in all); "
                          "its samples are dropped", set->name, QP_OPS_CAP);
            set->base = QP_OPS_CAP + 1;   /* every sample fails the reader's bound */
        } else {
            set->base = g_total_ops;
            g_total_ops += set->nops;
        }
        set->registered = 1;
        set->next = NULL;
        *g_sets_tail = set;
        g_sets_tail = &set->next;
        if (g_seg && set->base <= QP_OPS_CAP)
            seg_add_set(g_seg, set);
    }
    pthread_mutex_unlock(&g_lock);
    qpulse__busy--;
}

/* ---------------------------------------------------------------------- */
/* Records and timers                                                      */
/* ---------------------------------------------------------------------- */

void qpulse__record_ns(const qpulse_set_t *set, uint32_t op, uint64_t ns)
{
    if (!qpulse__enabled)
        return;
    qpulse_scope_t *top = qpulse__tls.top;
    qpulse__push((set->base + op) | QPULSE__NS, top ? top->op : 0, qpulse__now(), ns, ns);
}

qpulse_timer_t qpulse__timer_start(const qpulse_set_t *set, uint32_t op)
{
    qpulse_timer_t t = { 0, 0, 0, 0, 0 };
    if (!qpulse__enabled)
        return t;
    qpulse_scope_t *top = qpulse__tls.top;
    t.op = set->base + op + 1;
    t.parent = top ? top->op : 0;
    t.start = qpulse__now();
    return t;
}

void qpulse_timer_pause(qpulse_timer_t *t)
{
    if (t && t->op && !t->paused_at)
        t->paused_at = qpulse__now() | 1;   /* never 0: 0 means running */
}

void qpulse_timer_resume(qpulse_timer_t *t)
{
    if (t && t->op && t->paused_at) {
        uint64_t now = qpulse__now();
        if (now > t->paused_at)
            t->paused += now - t->paused_at;
        t->paused_at = 0;
    }
}

void qpulse_timer_stop(qpulse_timer_t *t)
{
    if (!t || !t->op)
        return;
    uint64_t end = t->paused_at ? t->paused_at : qpulse__now();
    uint64_t dur = end > t->start ? end - t->start : 0;
    dur = dur > t->paused ? dur - t->paused : 0;
    uint32_t op = t->op - 1;
    t->op = 0;
    if (qpulse__enabled)
        qpulse__push(op, t->parent, t->start, dur, dur);
}

void qpulse_timer_discard(qpulse_timer_t *t)
{
    if (t)
        t->op = 0;
}

/* ---------------------------------------------------------------------- */
/* Process life: load, fork, exit                                          */
/* ---------------------------------------------------------------------- */

int qpulse_enabled(void)
{
    return qpulse__enabled;
}

uint64_t qpulse_recorded(void)
{
    if (!g_seg)
        return 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < g_seg->slot_count; i++)
        n += qp_load_acquire(&seg_slot(i)->head);
    return n;
}

uint64_t qpulse_dropped(void)
{
    if (!g_seg)
        return 0;
    uint64_t n = qp_load_relaxed(&g_seg->dropped_noslot) + qp_load_relaxed(&g_seg->dropped_error);
    for (uint32_t i = 0; i < g_seg->slot_count; i++)
        n += qp_load_relaxed(&seg_slot(i)->dropped);
    return n;
}

void qpulse_shutdown(void)
{
    qpulse__busy++;
    pthread_mutex_lock(&g_lock);
    if (g_seg && !g_shutdown_done && g_seg->pid == getpid()) {
        g_shutdown_done = 1;
        struct qp_seg_header *h = g_seg;
        h->recorded = qpulse_recorded();
        /* Every record this process published is ordered before EXITED;
         * pairs with the acquire load in qp_reader_exited(): a daemon that
         * sees EXITED and then drains gets everything. */
        qp_store_release(&h->state, QP_STATE_EXITED);
        struct qp_consumer *c = (struct qp_consumer *)((char *)h + h->consumer_off);
        pid_t dp = qp_load_acquire(&c->daemon_pid);
        int keep = (dp > 0 && qp_proc_alive(dp, 0)) || qp_daemon_running(h->ns);
        if (!keep)
            shm_unlink(g_seg_name);
        /* The mapping stays: other threads may still be inside a scope. */
    }
    pthread_mutex_unlock(&g_lock);
    qpulse__busy--;
}

/* The fork handlers are the library's own work too (qpulse__busy from
 * prepare until the parent or child handler is done). */
static void atfork_prepare(void)
{
    qpulse__busy++;
    pthread_mutex_lock(&g_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
    qpulse__busy--;
}

/* The child has one thread (this one) and must not write the parent's
 * segment: drop the mapping, forget the slot, and start over lazily.  The
 * open scopes on this thread's stack stay valid and keep nesting. */
static void atfork_child(void)
{
    pthread_mutex_init(&g_lock, NULL);
    pthread_mutex_init(&g_fd_lock, NULL);
    if (g_seg) {
        munmap(g_seg, g_seg_size);
        if (seg_fd_ours())
            close(g_seg_fd);
    }
    g_seg = NULL;
    g_seg_fd = -1;
    g_seg_size = 0;
    g_seg_failed = 0;
    g_seg_seq = 0;
    g_shutdown_done = 0;
    g_warned_space = g_warned_slots = 0;
    struct qpulse__tls *t = &qpulse__tls;
    t->ring = NULL;
    t->head_pub = NULL;
    t->head = 0;
    t->limit = 0;
    t->slot = 0;
    t->state = 0;
    qpulse__busy--;
}

__attribute__((constructor)) static void qpulse_init(void)
{
    const char *d = getenv("QPULSE_DISABLE");
    if (d && *d && strcmp(d, "0") != 0)
        qpulse__enabled = 0;
    const char *c = getenv("QPULSE_CLOCK");
    qpulse__use_tsc = tsc_invariant() && !(c && !strcmp(c, "monotonic"));
    clock_pair(&g_tick_ref, &g_mono_ref);
    g_key_ok = pthread_key_create(&g_thread_key, slot_release) == 0;
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((destructor)) static void qpulse_fini(void)
{
    qpulse_shutdown();
}
