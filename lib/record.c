/*
 * record.c — the producer side: the process's segment, thread slots, the
 * clock, set binding, and the slow paths behind the inline fast path of
 * include/qpulse.h.
 *
 * Life of a segment: created on the process's first sample (so a program
 * that links libqpulse but records nothing leaves no trace), laid out once
 * with room for 4096 sets, 131072 operations and 16 MiB of their strings
 * (reserved page by page as sets arrive) and QPULSE_THREADS rings of
 * QPULSE_RING_RECORDS records (reserved in growing chunks as each ring
 * fills for the first time), never unmapped while the process runs, and at
 * exit either left for a running qpulsed to drain and remove or removed
 * here.  After fork() the child starts over with a segment of its own that
 * inherits the parent's tables, so its sets keep their operation indices.
 *
 * Memory is reserved with fallocate() before it is touched, so a full
 * /dev/shm costs samples (counted as dropped, one line on stderr) instead
 * of a SIGBUS in the application.
 *
 * Sets are bound lazily, on their first sample: the library keeps no list
 * of set objects, so a library that defines a set may be unloaded (and
 * loaded again) at any time, and no constructor order matters.
 *
 * Signal handlers may record.  Every slow path that takes a lock runs with
 * qpulse__busy raised; a sample taken while it is raised on the same thread
 * (a handler that interrupted the slow path) is dropped and counted, never
 * waited for.  A push that interrupts another push on the same thread sees
 * limit 0 and is dropped and counted (see qpulse__push()).
 *
 * The clock: raw TSC ticks when the CPU says the TSC is invariant and the
 * kernel did not reject it as a clock source, else CLOCK_MONOTONIC.  No
 * calibration here: the header carries a (tick, CLOCK_MONOTONIC) pair taken
 * at creation and the reader, which lives long, converts ticks to ns.
 */
#include "config.h"

#define QPULSE_BUILDING_LIBRARY 1

#include <cpuid.h>
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#if defined(CPU_FEATURE_PRESENT)
#define QP_HAVE_X86_PLATFORM 1
#endif
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "common.h"
#include "layout.h"
#include "qpulse.h"

__thread struct qpulse__tls qpulse__tls __attribute__((tls_model("initial-exec")));
int qpulse__enabled = 1;
int qpulse__use_tsc;
__thread unsigned qpulse__busy __attribute__((tls_model("initial-exec")));

/* set->state */
#define SET_DEAD 1u               /* does not fit: its samples are dropped */

/* Process-wide state, guarded by g_lock (never taken on the fast path). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qp_seg_header *g_seg;    /* NULL until the first sample */
static size_t g_seg_size;
static struct qp_seg_header *g_parent_seg; /* after fork: the parent's, for its tables */
static size_t g_parent_size;
static int g_seg_fd = -1;
static pthread_mutex_t g_fd_lock = PTHREAD_MUTEX_INITIALIZER; /* g_seg_fd after creation */
static dev_t g_seg_dev;                /* what g_seg_fd must still refer to */
static ino_t g_seg_ino;
static int g_seg_failed;               /* creation failed: drop everything */
static char g_seg_name[128];
static unsigned g_seg_seq;             /* next seq to try (exec'd images) */
static uint64_t g_rsv_sets, g_rsv_ops, g_rsv_strings, g_rsv_opdrop; /* bytes reserved per table */
static pthread_key_t g_thread_key;
static int g_key_ok;
static int g_shutdown_done;
static int g_warned_space, g_warned_slots, g_warned_sets, g_warned_ops, g_warned_strings;
static uint32_t g_slot_gen;            /* atomic: bumped whenever a slot is freed */

static void warn_once(int *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_once(int *flag, const char *fmt, ...)
{
    if (qp_exchange_relaxed(flag, 1))
        return;
    /* One write(2), no stdio: may run in any thread at any time.  A message
     * cut to fit still ends the line. */
    char line[600];
    size_t n = 0;
    qp_appendf(line, sizeof line - 1, &n, "qpulse[%ld]: ", (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(line, sizeof line - 1, &n, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    if (write(2, line, n) < 0) {
        /* nothing more we can do */
    }
}

/* Samples dropped before the segment existed (a signal handler that
 * interrupted its creation); moved into the segment once it does. */
static uint64_t g_dropped_early;

/* A sample that could not be taken: no slot, or another reason. */
static void drop_count(int noslot)
{
    struct qp_seg_header *h = qp_load_acquire(&g_seg);
    if (h)
        qp_fetch_add(noslot ? &h->dropped_noslot : &h->dropped_error, 1);
    else
        qp_fetch_add(&g_dropped_early, 1);
}

static void drop_error(void)
{
    drop_count(0);
}

/* The drop of a sample of op (an index of the op table, with or without
 * QPULSE__NS) also counts for that operation.  Slow path only.  An index
 * beyond the published table (impossible for a sample of a bound set) is
 * left to the process counters. */
static void drop_op(uint32_t op)
{
    struct qp_seg_header *h = qp_load_acquire(&g_seg);
    if (!h)
        return;
    op &= ~QPULSE__NS;
    /* Published after its counter was reserved (seg_add_set()). */
    if (op >= qp_load_acquire(&h->ops_count))
        return;
    qp_fetch_add((uint64_t *)((char *)h + h->op_dropped_off) + op, 1);
}

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

uint64_t qpulse__now_slow(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (qpulse__use_tsc)
        return __builtin_ia32_rdtsc();
#endif
    return qp_mono_ns();
}

/* Invariant TSC: CPUID 0x80000007 EDX bit 8. */
static int tsc_invariant(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(QP_HAVE_X86_PLATFORM)
    /* What the C library read at its start (glibc 2.33 and later): no
     * CPUID here, which under a hypervisor traps (microseconds each, on
     * every profiled program's first sample). */
    return CPU_FEATURE_PRESENT(INVARIANT_TSC);
#elif defined(__x86_64__) || defined(__i386__)
    /* Two CPUID instructions, not the four of __get_cpuid(): under a
     * hypervisor each one traps, and this runs in every process at load. */
    unsigned a, b, c, d;
    __cpuid(0x80000000u, a, b, c, d);
    if (a < 0x80000007u || a > 0x8000ffffu)
        return 0;
    __cpuid(0x80000007u, a, b, c, d);
    return (d >> 8) & 1;
#else
    return 0;
#endif
}

/* What CPUID promises is per CPU; whether the TSCs of all CPUs agree is
 * what the kernel checks at boot and watches afterwards.  A TSC found
 * unsynchronised or unstable loses its place in the list of usable clock
 * sources, so "tsc" in that list is the kernel's word that it is fine.
 * Where sysfs cannot be read we go by CPUID alone (the reader still clamps
 * and counts a negative duration). */
static int tsc_trusted_by_kernel(void)
{
    int fd = open("/sys/devices/system/clocksource/clocksource0/available_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = 0;
    for (char *p = buf; (p = strstr(p, "tsc")) != NULL; p += 3)
        if ((p == buf || p[-1] == ' ') && (p[3] == ' ' || p[3] == '\n' || p[3] == 0))
            return 1;
    return 0;
}

/* A (tick, ns) pair read as close together as we can: the tick read between
 * two clock reads, keeping the tightest of a few tries (a few hundred ns). */
static void clock_pair(uint64_t *tick, uint64_t *ns)
{
    qp_clock_pair(qpulse__now_slow, 3, tick, ns);
}

/* ---------------------------------------------------------------------- */
/* Segment                                                                 */
/* ---------------------------------------------------------------------- */

/* The variables the segment is made from, as the process was started:
 * read by the constructor, so that a server that clears its environment
 * before its workers record their first sample (nginx does), and the
 * workers it forks, keep the namespace they were started in.  A value the
 * program sets itself before its first sample (setenv) still wins. */
enum { ENV_NS, ENV_THREADS, ENV_RECORDS, ENV_CLOCK, ENV_COUNT_ };
static const char *const g_env_names[ENV_COUNT_] = { "QPULSE_NS", "QPULSE_THREADS",
                                                     "QPULSE_RING_RECORDS", "QPULSE_CLOCK" };
static char g_env_load[ENV_COUNT_][QP_NAME_MAX];

static void env_settle(void)
{
    for (int i = 0; i < ENV_COUNT_; i++) {
        const char *v = getenv(g_env_names[i]);
        if (!v)
            continue;
        size_t n = strlen(v);
        if (n >= sizeof g_env_load[i]) {
            v = "?";   /* too long for any valid value: reported as invalid */
            n = 1;
        }
        memcpy(g_env_load[i], v, n + 1);   /* no stdio at load */
    }
}

/* The variable now, else as it was at load; NULL when neither says. */
static const char *env_get(int which)
{
    const char *v = getenv(g_env_names[which]);
    if (v && *v)
        return v;
    return g_env_load[which][0] ? g_env_load[which] : NULL;
}

/* The clock, chosen once, by the first segment of the process: no
 * timestamp is taken before a set is bound, and binding needs the segment,
 * so a process that never records never pays for the choice (two CPUID
 * instructions, which trap under a hypervisor, and a sysfs read).  A forked
 * child keeps its parent's choice: its open scopes started on that clock.
 * Called under g_lock. */
static int g_clock_chosen;

static void clock_choose(void)
{
    if (g_clock_chosen)
        return;
    g_clock_chosen = 1;
    const char *c = env_get(ENV_CLOCK);
    if (c && !strcmp(c, "monotonic"))
        qpulse__use_tsc = 0;
    else if (c && !strcmp(c, "tsc"))
        qpulse__use_tsc = tsc_invariant();
    else
        qpulse__use_tsc = tsc_invariant() && tsc_trusted_by_kernel();
}

static uint32_t env_u32(int which, uint32_t def, uint32_t lo, uint32_t hi)
{
    const char *name = g_env_names[which];
    const char *s = env_get(which);
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

static int seg_fallocate(off_t off, off_t len);
static int seg_fallocate_checked(off_t off, off_t len);
static void seg_fd_reopen(void);

/* Makes sure bytes [region, region + need) of a table region are backed.
 * The first reservation is what the first set needs (a page, for most), and
 * each later one at least doubles it: a process pays for the tables it
 * uses (every page reserved is allocated and cleared now, and freed again at
 * exit), in a number of system calls that grows with the log of their size.
 * *rsv: bytes reserved so far.  Under g_fd_lock, after seg_fd_reopen(): a
 * set's four tables are reserved behind one check of the descriptor. */
static int table_reserve(uint64_t region, uint64_t cap, uint64_t *rsv, uint64_t need)
{
    if (need <= *rsv)
        return 0;
    uint64_t want = page_up(need);
    if (want < 2 * *rsv)
        want = 2 * *rsv;
    if (want > cap)
        want = page_up(cap);
    int r = seg_fallocate_checked((off_t)(region + *rsv), (off_t)(want - *rsv));
    if (r != 0)
        return r;
    *rsv = want;
    return 0;
}

/* Copies s into h's string region (already reserved). */
static uint32_t seg_add_string(struct qp_seg_header *h, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    uint32_t used = h->strings_used;
    memcpy((char *)h + h->strings_off + used, s ? s : "", n);
    h->strings_used = used + (uint32_t)n;
    return used;
}

static size_t str_size(const char *s)
{
    return strlen(s ? s : "") + 1;
}

/* Enters one set and its ops into the segment tables, then publishes the
 * new counts.  Returns the set's base (index of op 0, plus 1), or 0 when
 * it does not fit (one line on stderr per kind of limit).  Under g_lock. */
static uint32_t seg_add_set(struct qp_seg_header *h, const qpulse_set_t *set)
{
    uint32_t sc = h->sets_count, oc = h->ops_count;
    if (sc >= h->sets_cap) {
        warn_once(&g_warned_sets,
                  "operation set %.64s does not fit: more than %u sets in this process; "
                  "samples of sets beyond the limit are dropped and counted",
                  set->name ? set->name : "?", h->sets_cap);
        return 0;
    }
    if (set->nops > h->ops_cap - oc) {
        warn_once(&g_warned_ops,
                  "operation set %.64s does not fit: more than %u operations in this process; "
                  "samples of sets beyond the limit are dropped and counted",
                  set->name ? set->name : "?", h->ops_cap);
        return 0;
    }
    uint64_t strings = str_size(set->name);
    for (uint32_t i = 0; i < set->nops; i++)
        strings += str_size(set->names[i]) + str_size(set->groups[i]) +
                   str_size(set->descriptions[i]);
    if (strings > h->strings_cap - h->strings_used) {
        warn_once(&g_warned_strings,
                  "operation set %.64s does not fit: more than %u bytes of operation names "
                  "and descriptions in this process; samples of sets beyond the limit are "
                  "dropped and counted",
                  set->name ? set->name : "?", h->strings_cap);
        return 0;
    }
    pthread_mutex_lock(&g_fd_lock);
    seg_fd_reopen();
    int r = table_reserve(h->sets_off, (uint64_t)h->sets_cap * sizeof(struct qp_set_entry),
                          &g_rsv_sets, (uint64_t)(sc + 1) * sizeof(struct qp_set_entry));
    if (!r)
        r = table_reserve(h->ops_off, (uint64_t)h->ops_cap * sizeof(struct qp_op_entry),
                          &g_rsv_ops, (uint64_t)(oc + set->nops) * sizeof(struct qp_op_entry));
    if (!r)
        r = table_reserve(h->strings_off, h->strings_cap, &g_rsv_strings,
                          h->strings_used + strings);
    if (!r)
        r = table_reserve(h->op_dropped_off, (uint64_t)h->ops_cap * sizeof(uint64_t),
                          &g_rsv_opdrop, (uint64_t)(oc + set->nops) * sizeof(uint64_t));
    pthread_mutex_unlock(&g_fd_lock);
    if (r) {
        warn_once(&g_warned_space,
                  "cannot reserve shared memory for the tables of operation set %.64s: %s; "
                  "its samples are dropped and counted (free space in /dev/shm)",
                  set->name ? set->name : "?", strerror(r));
        return 0;
    }
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
    return oc + 1;
}

/* A forked child's new segment starts with its parent's tables, so that the
 * sets bound in the parent keep their operation indices.  Under g_lock. */
static int seg_inherit_tables(struct qp_seg_header *h, const struct qp_seg_header *p)
{
    /* Pairs with the release stores of the counts in seg_add_set() (the
     * parent may still be adding sets through the shared mapping). */
    uint32_t sc = qp_load_acquire(&p->sets_count);
    uint32_t oc = qp_load_acquire(&p->ops_count);
    uint32_t su = qp_load_relaxed(&p->strings_used);
    if (sc > h->sets_cap || oc > h->ops_cap || su > h->strings_cap)
        return -1;
    pthread_mutex_lock(&g_fd_lock);
    seg_fd_reopen();
    int r = table_reserve(h->sets_off, (uint64_t)h->sets_cap * sizeof(struct qp_set_entry),
                          &g_rsv_sets, (uint64_t)sc * sizeof(struct qp_set_entry)) ||
            table_reserve(h->ops_off, (uint64_t)h->ops_cap * sizeof(struct qp_op_entry),
                          &g_rsv_ops, (uint64_t)oc * sizeof(struct qp_op_entry)) ||
            table_reserve(h->strings_off, h->strings_cap, &g_rsv_strings, su) ||
            table_reserve(h->op_dropped_off, (uint64_t)h->ops_cap * sizeof(uint64_t),
                          &g_rsv_opdrop, (uint64_t)oc * sizeof(uint64_t));
    pthread_mutex_unlock(&g_fd_lock);
    if (r)
        return -1;
    /* The parent's drop counters are not copied: the child's start at 0. */
    memcpy((char *)h + h->sets_off, (const char *)p + p->sets_off,
           (size_t)sc * sizeof(struct qp_set_entry));
    memcpy((char *)h + h->ops_off, (const char *)p + p->ops_off,
           (size_t)oc * sizeof(struct qp_op_entry));
    memcpy((char *)h + h->strings_off, (const char *)p + p->strings_off, su);
    h->strings_used = su;
    h->sets_count = sc;
    h->ops_count = oc;
    return 0;
}

/* Layout: header, consumer region, slots, then the tables, then the rings.
 * Only the first three are reserved at creation. */
static void seg_layout(struct qp_seg_header *h, uint32_t slots, uint32_t records)
{
    size_t off = QP_HEADER_SIZE;
    h->consumer_off = off;
    h->consumer_size = page_up(sizeof(struct qp_consumer) + (size_t)slots * sizeof(struct qp_tail));
    off += h->consumer_size;
    h->slots_off = off;
    h->slot_count = slots;
    h->slot_size = sizeof(struct qp_slot);
    off = page_up(off + (size_t)slots * sizeof(struct qp_slot));
    h->sets_off = off;
    h->sets_cap = QP_SETS_CAP;
    off = page_up(off + QP_SETS_CAP * sizeof(struct qp_set_entry));
    h->ops_off = off;
    h->ops_cap = QP_OPS_CAP;
    off = page_up(off + QP_OPS_CAP * sizeof(struct qp_op_entry));
    h->strings_off = off;
    h->strings_cap = QP_STRINGS_CAP;
    h->strings_used = 1;   /* offset 0 is "" */
    off = page_up(off + QP_STRINGS_CAP);
    h->op_dropped_off = off;
    off = page_up(off + QP_OPS_CAP * sizeof(uint64_t));
    h->rings_off = off;
    h->ring_records = records;
    off += (size_t)slots * records * sizeof(qp_sample_t);
    h->total_size = off;
}

/* src into dst (len bytes), cut to fit and NUL-terminated: snprintf's "%s"
 * without stdio, on the start and exit paths of every profiled program. */
static void copy_str(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* The process's command name (/proc/PID/comm).  That is the main
 * thread's name, so on the main thread prctl() gives it without opening a
 * file (a few microseconds less on every process's first sample). */
static void seg_proc_name(pid_t pid, char *buf, size_t len)
{
    char comm[17] = "";
    if ((pid_t)syscall(SYS_gettid) == pid && prctl(PR_GET_NAME, comm, 0, 0, 0) == 0) {
        copy_str(buf, len, comm);
        return;
    }
    qp_proc_name(pid, buf, len);
}

/* The command line into the header, for a reader that finds the process
 * gone (a short command run under qpulse run exits in milliseconds). */
static void seg_cmdline(struct qp_seg_header *h)
{
    ssize_t n = qp_proc_cmdline(h->pid, h->cmdline, sizeof h->cmdline);
    h->cmdline_len = n > 0 ? (uint32_t)n : 0;
}

/* Creates and maps the segment.  Called under g_lock. */
static int seg_create(void)
{
    const char *ns = env_get(ENV_NS);
    if (!ns)
        ns = QP_DEFAULT_NS;
    else if (!qp_ns_valid(ns))
        ns = NULL;
    if (!ns) {
        static int w;
        warn_once(&w, "QPULSE_NS must be 1-48 characters of A-Z a-z 0-9 _ -; recording is off");
        return -EINVAL;
    }
    uint32_t slots = env_u32(ENV_THREADS, QP_DEFAULT_SLOTS, 1, QP_MAX_SLOTS);
    uint32_t records = round_pow2(env_u32(ENV_RECORDS, QP_DEFAULT_RING_RECORDS,
                                          QP_MIN_RING_RECORDS, QP_MAX_RING_RECORDS));
    struct qp_seg_header tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    seg_layout(&tmpl, slots, records);

    pid_t pid = getpid();
    uint64_t st = qp_self_starttime(pid);
    int fd = -1;
    for (int tries = 0; tries < 64; tries++, g_seg_seq++) {
        if (qp_seg_name(g_seg_name, sizeof g_seg_name, ns, pid, st, g_seg_seq) < 0)
            return -ENAMETOOLONG;
        fd = shm_open(g_seg_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        /* A segment of an earlier image of this very process (exec keeps
         * pid and start time) that did not run its exit path, or of an
         * earlier load of this library: mark it exited so the daemon drains
         * and removes it, and take the next seq. */
        qp_seg_mark_exited(g_seg_name, pid);
    }
    if (fd < 0) {
        int e = errno;
        static int w;
        warn_once(&w, "cannot create shared memory %s: %s; recording is off", g_seg_name,
                  strerror(e));
        return -e;
    }
    g_seg_seq++;
    /* Reserve the header, consumer region and slot indices now, with the
     * first page of the set table that follows them (the first set needs
     * it); the tables grow with the sets (table_reserve()), the rings with
     * their use (ring_reserve()). */
    int r = ftruncate(fd, (off_t)tmpl.total_size);
    if (r == 0)
        r = posix_fallocate(fd, 0, (off_t)(tmpl.sets_off + QP_PAGE));
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
    h->uid = geteuid();   /* the object's owner: shm_open() creates it as euid */
    h->start_time = st;
    h->created_realtime_ns = qp_real_ns();
    seg_proc_name(pid, h->name, sizeof h->name);
    seg_cmdline(h);
    copy_str(h->ns, sizeof h->ns, ns);
    clock_choose();
    h->clock_kind = qpulse__use_tsc ? QP_CLOCK_TSC : QP_CLOCK_MONOTONIC;
    h->ns_per_tick = 0;   /* the reader calibrates */
    clock_pair(&h->tick_ref, &h->mono_ref_ns);
    h->state = QP_STATE_ALIVE;
    /* The fd and its identity before g_seg: a thread that sees g_seg may go
     * straight to seg_fallocate() (found by TSan, tests/reliability-churn.sh
     * in the -fsanitize=thread build). */
    g_seg_size = tmpl.total_size;
    g_seg_fd = fd;
    g_rsv_ops = g_rsv_strings = g_rsv_opdrop = 0;
    g_rsv_sets = QP_PAGE;
    struct stat fsb;
    if (fstat(fd, &fsb) == 0) {
        g_seg_dev = fsb.st_dev;
        g_seg_ino = fsb.st_ino;
    }
    if (g_parent_seg) {
        if (seg_inherit_tables(h, g_parent_seg) < 0) {
            static int w;
            warn_once(&w, "cannot copy the parent's operation tables; recording is off");
            munmap(p, tmpl.total_size);
            shm_unlink(g_seg_name);
            close(fd);
            g_seg_fd = -1;
            return -ENOSPC;
        }
        munmap(g_parent_seg, g_parent_size);
        g_parent_seg = NULL;
    }
    /* The magic goes last: a reader that sees it sees a whole header.  Pairs
     * with the acquire load of the magic in qp_reader_open(). */
    qp_store_release(&h->magic, QP_MAGIC);
    /* The mode whatever the umask said (it can only have taken bits away,
     * so until now the object was at most as open as this), and an inotify
     * IN_ATTRIB event that tells a daemon watching /dev/shm the header is
     * ready, so it attaches now rather than at its next retry (one system
     * call, once per process). */
    (void)fchmod(fd, 0600);
    /* Only now may other threads record into it.  Pairs with the acquire
     * load in seg_ensure(). */
    qp_store_release(&g_seg, h);
    qp_fetch_add(&h->dropped_error, qp_exchange_relaxed(&g_dropped_early, 0));
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

/* Makes g_seg_fd our segment's again when the program closed it: the object
 * reopened by name (-1 when that is not ours either).  Under g_fd_lock. */
static void seg_fd_reopen(void)
{
    if (seg_fd_ours())
        return;
    g_seg_fd = -1;
    int fd = shm_open(g_seg_name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return;
    g_seg_fd = fd;
    if (!seg_fd_ours()) {
        close(fd);
        g_seg_fd = -1;
    }
}

/* Reserves segment memory through the segment's fd, reopening the object by
 * name when the program closed the fd.  Its own lock, not g_lock: a thread
 * may claim its slot while it holds g_lock (a hooked call recorded from
 * inside qpulse_shutdown(), under libqpulse-preload). */
static int seg_fallocate_checked(off_t off, off_t len)
{
    return g_seg_fd >= 0 ? posix_fallocate(g_seg_fd, off, len) : EBADF;
}

static int seg_fallocate(off_t off, off_t len)
{
    pthread_mutex_lock(&g_fd_lock);
    seg_fd_reopen();
    int r = seg_fallocate_checked(off, len);
    pthread_mutex_unlock(&g_fd_lock);
    return r;
}

/* Privilege changes (the setuid() family hooks of libqpulse-preload): the
 * segment follows its process to its new user.  Gives the segment to uid
 * and gid ((uid_t)-1 / (gid_t)-1: unchanged), the header's uid first, so
 * that the owner a reader sees after fchown() matches it; the previous
 * owner into *old_uid and *old_gid (for undoing a call that failed).
 * Returns 1 when the owner changed, 0 when there is nothing to change (no
 * segment yet: it will be created by the new user), -errno when fchown()
 * failed (only root may give a file away).  Both -1: no change, but a
 * daemon watching the segment is told to look at it again.  Never on the
 * fast path. */
QPULSE_API int qpulse__seg_chown(uid_t uid, gid_t gid, uid_t *old_uid, gid_t *old_gid);
QPULSE_API int qpulse__seg_chown(uid_t uid, gid_t gid, uid_t *old_uid, gid_t *old_gid)
{
    struct qp_seg_header *h = qp_load_acquire(&g_seg);
    if (!h || h->pid != getpid())
        return 0;
    qpulse__busy++;
    pthread_mutex_lock(&g_fd_lock);
    int ret = 0;
    struct stat sb;
    seg_fd_reopen();
    if (g_seg_fd < 0 || fstat(g_seg_fd, &sb) < 0) {
        ret = -EBADF;
    } else if (uid == (uid_t)-1 && gid == (gid_t)-1) {
        /* The process now runs as the segment's owner: a daemon that
         * refused it a moment ago (the owner changed first) looks again
         * when its attributes change (inotify IN_ATTRIB). */
        ret = fchmod(g_seg_fd, 0600) < 0 ? -errno : 0;
    } else if ((uid == (uid_t)-1 || sb.st_uid == uid) && (gid == (gid_t)-1 || sb.st_gid == gid)) {
        ret = 0;
    } else {
        if (old_uid)
            *old_uid = sb.st_uid;
        if (old_gid)
            *old_gid = sb.st_gid;
        uint32_t prev = qp_load_relaxed(&h->uid);
        if (uid != (uid_t)-1)
            qp_store_release(&h->uid, (uint32_t)uid);
        if (fchown(g_seg_fd, uid, gid) < 0) {
            ret = -errno;
            qp_store_release(&h->uid, prev);
        } else {
            ret = 1;
        }
    }
    pthread_mutex_unlock(&g_fd_lock);
    qpulse__busy--;
    return ret;
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

/* ---------------------------------------------------------------------- */
/* Sets                                                                    */
/* ---------------------------------------------------------------------- */

uint32_t qpulse__bind(qpulse_set_t *set)
{
    if (!set || set->abi != QPULSE_SET_ABI || !qpulse__enabled)
        return 0;
    /* Pairs with the release store below. */
    uint32_t b = qp_load_acquire(&set->base);
    if (b)
        return b;
    if (qp_load_relaxed(&set->state) == SET_DEAD || qpulse__busy) {
        /* A set that does not fit, or a signal handler that interrupted
         * this thread inside the library: never wait, count it. */
        drop_error();
        return 0;
    }
    qpulse__busy++;
    if (seg_ensure() == 0) {
        pthread_mutex_lock(&g_lock);
        b = set->base;
        if (!b && set->state != SET_DEAD) {
            b = seg_add_set(g_seg, set);
            if (b)
                /* The tables are published before the index that names
                 * them; pairs with the acquire load in
                 * qpulse__scope_begin() and above. */
                qp_store_release(&set->base, b);
            else
                qp_store_relaxed(&set->state, SET_DEAD);
        }
        pthread_mutex_unlock(&g_lock);
    }
    qpulse__busy--;
    if (!b)
        drop_error();
    return b;
}

void qpulse_register_set(qpulse_set_t *set)
{
    /* Binding needs the segment; without one (nothing recorded yet) the
     * first sample will bind.  Never creates a segment. */
    if (set && qpulse__enabled && qp_load_acquire(&g_seg) && !qpulse__busy &&
        !qp_load_acquire(&set->base) && qp_load_relaxed(&set->state) != SET_DEAD) {
        qpulse__bind(set);
    }
}

/* ---------------------------------------------------------------------- */
/* Stale scopes (longjmp)                                                  */
/* ---------------------------------------------------------------------- */

/* Reads len bytes at addr without faulting on an unmapped address (a
 * system call, so only for the rare repair below). */
static int safe_read(const void *addr, void *out, size_t len)
{
    struct iovec local = { out, len }, remote = { (void *)addr, len };
    return syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L) ==
           (long)len;
}

/* Is c, found at address at, an open scope?  Ended scopes have op 0, an
 * open one names an operation of the table, links upwards (its enclosing
 * scope lies above it) and names that scope's operation as its parent. */
static int scope_plausible(const qpulse_scope_t *c, uintptr_t at, uint32_t nops)
{
    if (c->op == 0 || c->op > nops || c->parent > nops || c->start == 0)
        return 0;
    if (!c->prev)
        return c->parent == 0;
    if ((uintptr_t)c->prev <= at || ((uintptr_t)c->prev & 7) || c->parent == 0)
        return 0;
    qpulse_scope_t up;
    return safe_read(c->prev, &up, sizeof up) && up.op == c->parent;
}

qpulse_scope_t *qpulse__stale_top(qpulse_scope_t *self, uintptr_t sp)
{
    struct qpulse__tls *t = &qpulse__tls;
    /* The innermost scope lies below the stack pointer: it was left by
     * longjmp (or by an exception through code without unwind tables), and
     * its memory, and that of the scopes it was nested in down there, is
     * dead and already reused.  The innermost scope still open is the
     * first open scope above the stack pointer: look for it, a page at a
     * time through reads that cannot fault, up to 256 KiB. */
    struct qp_seg_header *h = qp_load_acquire(&g_seg);
    uint32_t nops = h ? qp_load_acquire(&h->ops_count) : 0;
    qpulse_scope_t *found = NULL;
    uintptr_t a = (sp + 7) & ~(uintptr_t)7;
    unsigned char buf[4096 + sizeof(qpulse_scope_t)];
    for (uintptr_t scanned = 0; nops && !found && scanned < (256u << 10);) {
        size_t n = 4096 - (a & 4095);
        size_t want = n + sizeof(qpulse_scope_t);
        if (!safe_read((const void *)a, buf, want)) {
            want = n;   /* the last page of the stack */
            if (!safe_read((const void *)a, buf, want))
                break;
        }
        for (size_t off = 0; off + sizeof(qpulse_scope_t) <= want && off < n; off += 8) {
            qpulse_scope_t c;
            memcpy(&c, buf + off, sizeof c);
            if ((qpulse_scope_t *)(a + off) != self && scope_plausible(&c, a + off, nops)) {
                found = (qpulse_scope_t *)(a + off);
                t->top_op = c.op;
                break;
            }
        }
        a += n;
        scanned += n;
    }
    if (!found)
        t->top_op = 0;
    t->top = found;
    return found;
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
    qp_fetch_add(&g_slot_gen, 1);
    t->ring = NULL;
    t->head_pub = NULL;
    t->head = 0;
    t->limit = 0;
    t->slot = 0;
}

/* What a thread without a slot remembers of g_slot_gen (never 0). */
static uint32_t gen_mark(uint32_t gen)
{
    return gen + 1 ? gen + 1 : 1;
}

/* The first ring chunk a thread reserves, in records. */
#define RING_FIRST_CHUNK 1024u

/* Reserves more of slot i's ring (doubling) so that at least `need`
 * records from its start are backed.  0 or an errno. */
static int ring_reserve(uint32_t i, uint64_t need)
{
    struct qp_seg_header *h = g_seg;
    struct qp_slot *s = seg_slot(i);
    uint64_t have = s->reserved;
    if (need <= have || have >= h->ring_records)
        return 0;
    uint64_t want = have ? have * 2 : RING_FIRST_CHUNK;
    if (want < need)
        want = need;
    if (want > h->ring_records)
        want = h->ring_records;
    size_t bytes = (size_t)h->ring_records * sizeof(qp_sample_t);
    off_t off = (off_t)(h->rings_off + (size_t)i * bytes + have * sizeof(qp_sample_t));
    int r = seg_fallocate(off, (off_t)((want - have) * sizeof(qp_sample_t)));
    if (r != 0) {
        warn_once(&g_warned_space,
                  "cannot reserve shared memory for a thread's ring: %s; its samples are "
                  "dropped and counted (free space in /dev/shm or lower QPULSE_RING_RECORDS)",
                  strerror(r));
        return r;
    }
    s->reserved = want;
    return 0;
}

/* The head value the fast path may write up to: the consumer's tail plus
 * the ring size, and within the reserved part of the ring. */
static uint64_t slot_limit(uint32_t i)
{
    /* Pairs with the release store of the tail in qp_reader_drain(): the
     * consumer is done with every record below the tail. */
    uint64_t lim = qp_load_acquire(&seg_tail(i)->tail) + g_seg->ring_records;
    uint64_t rsv = seg_slot(i)->reserved;
    if (rsv < g_seg->ring_records && rsv < lim)
        lim = rsv;
    return lim;
}

/* Claims a free slot for this thread (first sample, or after a slot was
 * freed).  Returns the limit for the fast path, or 0 when no slot is free
 * or the segment is unusable.  Runs with qpulse__busy raised. */
static uint64_t slot_claim(void)
{
    struct qpulse__tls *t = &qpulse__tls;
    if (t->slot)             /* a signal handler claimed it meanwhile */
        return slot_limit(t->slot - 1);
    if (t->state)            /* this thread already failed for good */
        return 0;
    uint32_t gen = qp_load_relaxed(&g_slot_gen);
    if (seg_ensure() < 0)
        return 0;
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
        uint64_t head = qp_load_relaxed(&s->head);
        if (s->reserved < h->ring_records && ring_reserve(i, head + 1) != 0) {
            qp_store_release(&s->state, QP_SLOT_FREE);
            t->state = 1;
            return 0;
        }
        s->tid = tid;
        s->claims++;
        /* Before any record of this slot is published (the head's release
         * store orders it): a reader then looks at this slot too. */
        if (!(qp_load_relaxed(&h->slots_used[i / 64]) & (1ull << (i % 64))))
            qp_fetch_or(&h->slots_used[i / 64], 1ull << (i % 64));
        t->ring = seg_ring(i);
        t->head_pub = &s->head;
        t->head = head;
        t->mask = h->ring_records - 1;
        t->slot = i + 1;
        t->slot_gen = 0;
        if (g_key_ok)
            pthread_setspecific(g_thread_key, (void *)1);
        return slot_limit(i);
    }
    /* Back off: try again only once some thread has freed a slot, so a
     * thread without one pays a load and a compare per sample, not a
     * system call and a scan. */
    t->slot_gen = gen_mark(gen);
    warn_once(&g_warned_slots,
              "all %u thread slots are taken; samples of further threads are dropped and "
              "counted (raise QPULSE_THREADS)",
              n);
    return 0;
}

void qpulse__push_slow(const struct qpulse__sample *smp, uint64_t lim)
{
    struct qpulse__tls *t = &qpulse__tls;
    if (t->slot && lim == 0) {
        /* This push interrupted another one on this thread (a signal
         * handler): the interrupted push owns the ring until it is done. */
        drop_op(smp->op);
        qp_fetch_add(&seg_slot(t->slot - 1)->dropped, 1);
        return;
    }
    if (!t->slot) {
        if (t->state || (t->slot_gen && t->slot_gen == gen_mark(qp_load_relaxed(&g_slot_gen))) ||
            qpulse__busy) {
            /* No slot and none freed since we last looked, a ring we
             * could not reserve, or a signal handler inside the library. */
            drop_op(smp->op);
            drop_count(!(t->state || qpulse__busy));
            return;
        }
        qpulse__busy++;
        lim = slot_claim();
        qpulse__busy--;
        if (!lim) {
            drop_op(smp->op);
            drop_count(!t->state);
            return;
        }
        /* A handler that ran meanwhile may have set the limit: the ring is
         * ours again until the record below is published. */
        t->limit = 0;
        qp_signal_fence();
    }
    uint32_t i = t->slot - 1;
    uint64_t h = t->head;
    if (h >= lim) {
        lim = slot_limit(i);
        uint64_t rsv = seg_slot(i)->reserved;
        if (h >= lim && h >= rsv && rsv < g_seg->ring_records && !qpulse__busy &&
            t->state != 2) {
            /* The end of the reserved part of the ring (not a full one). */
            qpulse__busy++;
            int r = ring_reserve(i, h + 1);
            qpulse__busy--;
            if (r == 0)
                lim = slot_limit(i);
            else
                t->state = 2;   /* no more tries: each would be a system call */
        }
        if (h >= lim) {
            drop_op(smp->op);
            qp_fetch_add(&seg_slot(i)->dropped, 1);
            t->limit = lim;
            return;
        }
    }
    t->ring[h & t->mask] = *smp;
    t->head = h + 1;
    /* Publishes the record; pairs with the acquire load of the head in
     * qp_reader_drain(). */
    qp_store_release(t->head_pub, h + 1);
    qp_signal_fence();
    t->limit = lim;
}

/* ---------------------------------------------------------------------- */
/* Records and timers                                                      */
/* ---------------------------------------------------------------------- */

void qpulse__record_ns(qpulse_set_t *set, uint32_t op, uint64_t ns)
{
    if (!qpulse__enabled)
        return;
    uint32_t b = qp_load_acquire(&set->base);
    if (!b && !(b = qpulse__bind(set)))
        return;
    qpulse__push((b - 1 + op) | QPULSE__NS, qpulse__tls.top_op, qpulse__now(), ns, ns);
}

qpulse_timer_t qpulse__timer_start(qpulse_set_t *set, uint32_t op)
{
    qpulse_timer_t t = { 0, 0, 0, 0, 0 };
    if (!qpulse__enabled)
        return t;
    uint32_t b = qp_load_acquire(&set->base);
    if (!b && !(b = qpulse__bind(set)))
        return t;
    t.op = b + op;
    t.parent = qpulse__tls.top_op;
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
/* Process life: load, fork, exit, unload                                  */
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
    uint64_t n = qp_load_relaxed(&g_dropped_early);
    if (!g_seg)
        return n;
    n += qp_load_relaxed(&g_seg->dropped_noslot) + qp_load_relaxed(&g_seg->dropped_error);
    for (uint32_t i = 0; i < g_seg->slot_count; i++)
        n += qp_load_relaxed(&seg_slot(i)->dropped);
    return n;
}

/* Whether the namespace's daemon, which has not attached yet, will read
 * segment h: it runs, as root or as the segment's owner.  (A root daemon's
 * presence record is root's, mode 0600: another user sees it is there but
 * cannot read whether it still runs; a root daemon removes stale records
 * and segments when it starts.) */
static int daemon_will_read(const struct qp_seg_header *h)
{
    char name[128], path[160];
    struct stat sb;
    if (qp_daemon_shm_name(name, sizeof name, h->ns) < 0)
        return 0;
    memcpy(path, "/dev/shm", 8);
    copy_str(path + 8, sizeof path - 8, name);
    if (stat(path, &sb) < 0 || (sb.st_uid != 0 && sb.st_uid != qp_load_relaxed(&h->uid)))
        return 0;
    if (sb.st_uid == 0 && geteuid() != 0)
        return 1;
    return qp_daemon_running(h->ns);
}

/* Publishes the segment and, when no daemon will read it, removes it.
 * Under g_lock, with qpulse__busy raised. */
static void shutdown_locked(void)
{
    if (g_seg && !g_shutdown_done && g_seg->pid == getpid()) {
        g_shutdown_done = 1;
        struct qp_seg_header *h = g_seg;
        h->recorded = qpulse_recorded();
        /* Every record this process published is ordered before EXITED;
         * pairs with the load in qp_reader_exited(): a daemon that sees
         * EXITED and then drains gets everything.  Both seq_cst: with the
         * daemon's store of daemon_pid and load of the state (its
         * shutdown), one of the two sides sees the other's store, so the
         * segment is removed by one of them. */
        qp_store_seq_cst(&h->state, QP_STATE_EXITED);
        struct qp_consumer *c = (struct qp_consumer *)((char *)h + h->consumer_off);
        pid_t dp = qp_load_seq_cst(&c->daemon_pid);
        int keep = (dp > 0 && qp_proc_alive(dp, 0)) || daemon_will_read(h);
        if (!keep)
            shm_unlink(g_seg_name);
        /* The mapping stays: other threads may still be inside a scope. */
    }
}

void qpulse_shutdown(void)
{
    qpulse__busy++;
    pthread_mutex_lock(&g_lock);
    shutdown_locked();
    pthread_mutex_unlock(&g_lock);
    qpulse__busy--;
}

void qpulse__shutdown_now(void)
{
    /* Nothing of ours (a vfork() child shares its parent's memory, and its
     * pid is not the segment's), or this thread was interrupted inside the
     * library: leave the segment to a daemon. */
    struct qp_seg_header *h = qp_load_acquire(&g_seg);
    if (!h || qpulse__busy || h->pid != getpid())
        return;
    qpulse__busy++;
    if (pthread_mutex_trylock(&g_lock) == 0) {
        shutdown_locked();
        pthread_mutex_unlock(&g_lock);
    }
    qpulse__busy--;
}

/* The fork handlers are the library's own work too (qpulse__busy from
 * prepare until the parent or child handler is done). */
/* A forked child's start time without reading /proc (30-40 us in a fresh
 * process, and a forked child that records needs it for its segment's
 * name): the kernel stamps the child, in clock ticks of CLOCK_BOOTTIME
 * (/proc/PID/stat, field 22), inside fork(), between a reading of that
 * clock in the prepare handler and one in the child's; when both fall in
 * the same tick (all but about 1 fork in 100 here), that tick is the start
 * time.  Under g_lock from prepare to the parent's or child's handler. */
static uint64_t g_fork_boot_ns;

static uint64_t boot_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fork_starttime(void)
{
    uint64_t b1 = boot_ns();
    unsigned long hz = getauxval(AT_CLKTCK);
    if (!g_fork_boot_ns || !b1 || !hz || hz > 1000000000ul || 1000000000ul % hz)
        return;
    uint64_t tick = 1000000000u / hz;
    if (g_fork_boot_ns / tick == b1 / tick)
        qp_self_starttime_seed(getpid(), b1 / tick);
}

static void atfork_prepare(void)
{
    qpulse__busy++;
    pthread_mutex_lock(&g_lock);
    g_fork_boot_ns = boot_ns();
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
    qpulse__busy--;
}

/* The child has one thread (this one) and must not write the parent's
 * segment: keep its mapping only to copy the tables from, forget the slot,
 * and start over lazily.  The open scopes on this thread's stack stay
 * valid and keep nesting. */
static void atfork_child(void)
{
    fork_starttime();
    pthread_mutex_init(&g_lock, NULL);
    pthread_mutex_init(&g_fd_lock, NULL);
    if (g_seg) {
        if (g_parent_seg)
            munmap(g_parent_seg, g_parent_size);
        g_parent_seg = g_seg;
        g_parent_size = g_seg_size;
        if (seg_fd_ours())
            close(g_seg_fd);
    }
    g_seg = NULL;
    g_seg_fd = -1;
    g_seg_size = 0;
    g_seg_failed = 0;
    g_seg_seq = 0;
    g_dropped_early = 0;
    g_shutdown_done = 0;
    g_warned_space = g_warned_slots = 0;
    struct qpulse__tls *t = &qpulse__tls;
    t->ring = NULL;
    t->head_pub = NULL;
    t->head = 0;
    t->limit = 0;
    t->slot = 0;
    t->state = 0;
    t->slot_gen = 0;
    qpulse__busy--;
}

__attribute__((constructor)) static void qpulse_init(void)
{
    env_settle();
    const char *d = getenv("QPULSE_DISABLE");
    if (d && *d && strcmp(d, "0") != 0)
        qpulse__enabled = 0;
    /* The clock is chosen by the first segment (clock_choose()). */
    g_key_ok = pthread_key_create(&g_thread_key, slot_release) == 0;
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* At exit, and when the library itself is unloaded (dlclose of the last
 * object that needed it): after this no thread may call into us, so the
 * thread-exit destructor is withdrawn (pthread_atfork handlers are
 * withdrawn by the C library). */
__attribute__((destructor)) static void qpulse_fini(void)
{
    qpulse_shutdown();
    if (g_key_ok) {
        g_key_ok = 0;
        pthread_key_delete(g_thread_key);
    }
}
