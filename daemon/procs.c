/*
 * procs.c — the process table: finding the segments of our namespace
 * (inotify on /dev/shm plus a periodic rescan), draining them, and what
 * happens when a producer exits or dies (final drain, mark not alive, keep
 * the statistics --retain seconds, remove the segment).
 *
 * An exited process is compacted once the live window has passed its
 * last second (proc_compact()): only what the cumulative statistics need
 * stays, a few KiB a process.  At most --retain-max exited processes are
 * kept; past that the ones that exited first are forgotten first.
 *
 * Attaching fast: a producer creates its segment on its first sample and
 * fills the header a few hundred microseconds later.  inotify reports the
 * creation (IN_CREATE: still empty, so the name becomes pending) and the
 * producer touches the object's mode once the header is published
 * (IN_ATTRIB), when the attach succeeds at once; a pending name is also
 * retried every millisecond for its first PENDING_FAST_NS, then every
 * 10 ms, in case that event is missed (an older library, a full inotify
 * queue).
 *
 * Segment errors never stop the daemon: -EAGAIN (a producer between
 * shm_open and publishing its header) is retried; anything else is logged
 * once per name and the segment is skipped, with its reason, which the
 * snapshot lists ("skipped") for the users concerned.  A segment refused
 * for who owns it (-EPERM) is looked at again now and then, and at once
 * when its owner changes (IN_ATTRIB): a process that dropped privileges
 * may own it legitimately a moment later.  A skipped segment whose process
 * is gone is removed (root can remove any; a daemon of an ordinary user
 * logs the one it cannot, once, and keeps listing it).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "common.h"
#include "history.h"
#include "log.h"
#include "qpulsed.h"
#include "slowest.h"
#include "state.h"

#define SHM_DIR "/dev/shm"
#define DRAIN_MAX (1u << 20)      /* samples per reader per call */
#define DRAIN_ROUNDS 4            /* calls per tick: bounded even if a
                                     producer writes as fast as we read */
#define ALIGN8(n) (((n) + 7) & ~(size_t)7)
#define NAMES_MAX 4096            /* pending and skipped names we remember */
#define PENDING_GIVEUP_NS (5ll * 1000000000)
#define RETRY_MIN_NS (500ll * 1000000)   /* a refused segment is looked at again */
#define RETRY_MAX_NS (8ll * 1000000000)  /* ... backing off up to this */
#define PENDING_FAST_NS (100ll * 1000000)   /* retried every 1 ms this long, */
#define PENDING_RETRY_FAST_NS 1000000ll
#define PENDING_RETRY_SLOW_NS 10000000ll     /* then every 10 ms */

/* A remembered segment name: pending (-EAGAIN) or skipped (bad). */
struct name_ent {
    char name[128];
    int64_t since;
    int seen;                     /* still present at the last rescan */
    /* skipped only: */
    char reason[200];
    char pname[32];               /* the program the segment names */
    pid_t pid;
    uint64_t start_time;          /* from the name; 0 unknown */
    uid_t owner;                  /* the segment's owner, (uid_t)-1 unknown */
    uid_t puid;                   /* its process's real uid, (uid_t)-1 unknown */
    int retry;                    /* refused for ownership: look again */
    int64_t next_retry, backoff;
    int left;                     /* its process is gone and we cannot remove it */
};

struct name_set {
    struct name_ent *v;
    unsigned n, cap;
};

static struct name_set pending, skipped;
static int64_t pending_due;       /* next retry of the pending names */
static int ino_fd = -1;
static int64_t cur_sec;           /* the daemon's second at this drain */
/* The last second a sample was filed under, and the span of start times
 * that map to it: a division per sample only when the second changes. */
static uint64_t sec_lo = 1, sec_hi = 0;
static int64_t sec_val;
static unsigned sec_idx;          /* sec_val % agg_slots */

static struct name_ent *names_find(struct name_set *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].name, name))
            return &s->v[i];
    return NULL;
}

static struct name_ent *names_add(struct name_set *s, const char *name)
{
    struct name_ent *e = names_find(s, name);
    if (e || s->n >= NAMES_MAX)
        return e;
    if (s->n == s->cap) {
        unsigned cap = s->cap ? s->cap * 2 : 16;
        struct name_ent *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->since = mono_ns();
    e->seen = 1;
    e->owner = e->puid = (uid_t)-1;
    return e;
}

/* Skips segment `name` (without '/') for `why`; ret is the error that
 * refused it (-EPERM: ownership, looked at again later). */
static struct name_ent *skip_add(const char *name, const char *why, int ret)
{
    struct name_ent *e = names_add(&skipped, name);
    if (!e)
        return NULL;
    snprintf(e->reason, sizeof e->reason, "%s", why);
    char ns[64];
    if (qp_seg_name_parse(name, ns, sizeof ns, &e->pid, &e->start_time, NULL) < 0)
        e->pid = 0;
    char path[160];
    struct stat sb;
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    e->owner = stat(path, &sb) == 0 ? sb.st_uid : (uid_t)-1;
    uid_t ru, eu;
    if (e->pid > 0 && qp_proc_alive(e->pid, e->start_time)) {
        e->puid = qp_proc_uids(e->pid, &ru, &eu) == 0 ? ru : (uid_t)-1;
        if (qp_proc_name(e->pid, e->pname, sizeof e->pname) < 0)
            e->pname[0] = 0;
    }
    e->retry = ret == -EPERM;
    if (e->retry && !e->backoff) {
        e->backoff = RETRY_MIN_NS;
        e->next_retry = mono_ns() + e->backoff;
    }
    return e;
}

static void names_del(struct name_set *s, struct name_ent *e)
{
    *e = s->v[--s->n];
}

/* ---------------------------------------------------------------------- */
/* Aggregation (the drain callback)                                        */
/* ---------------------------------------------------------------------- */

/* The statistics of op idx of p, created on first use. */
static struct agg_op *proc_op(struct proc *p, uint32_t idx)
{
    if (__builtin_expect(idx < p->nops && p->ops[idx] != NULL, 1))
        return p->ops[idx];
    if (!p->r)
        return NULL;
    if (idx >= p->nops) {
        uint32_t n = qp_reader_nops(p->r);
        if (idx >= n)
            return NULL;
        struct agg_op **v = realloc(p->ops, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + p->nops, 0, (n - p->nops) * sizeof *v);
        p->ops = v;
        p->nops = n;
    }
    const qp_op_info_t *info = qp_reader_op(p->r, idx);
    if (!info)
        return NULL;
    struct agg_op *o = agg_op_new(info);
    if (o && qpd.budgets)
        budgets_match(o);
    p->ops[idx] = o;
    return o;
}

/* The drain starts: samples are filed relative to second now_sec. */
static void set_cur_sec(int64_t now_sec)
{
    cur_sec = now_sec;
    sec_lo = 1;
    sec_hi = 0;
}

/* The window second of a sample that started at monotonic ns `start`: its
 * own second, never later than now (a producer's clock cannot run ahead of
 * ours; a hostile one's may); INT64_MIN when it is older than the window's
 * ring holds, so it counts since start only. */
static int64_t sample_sec_slow(uint64_t start)
{
    int64_t s = start / 1000000000u > (uint64_t)cur_sec ? cur_sec
                                                         : (int64_t)(start / 1000000000u);
    int64_t v = s <= cur_sec - (int64_t)agg_slots ? INT64_MIN : s;
    if (s < cur_sec || start / 1000000000u == (uint64_t)cur_sec) {
        sec_lo = (uint64_t)s * 1000000000u;
        sec_hi = sec_lo + 1000000000u;
        sec_val = v;
        sec_idx = v == INT64_MIN ? 0 : (unsigned)((uint64_t)v % agg_slots);
    }
    return v;
}

static inline int64_t sample_sec(uint64_t start)
{
    if (__builtin_expect(start >= sec_lo && start < sec_hi, 1))
        return sec_val;
    return sample_sec_slow(start);
}

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    struct proc *p = ctx;
    const int rec = hist_ring.cap != 0;
    uint64_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        const qp_event_t *e = &ev[i];
        struct agg_op *o = proc_op(p, e->op);
        const int64_t sec = sample_sec(e->start_ns);
        if (__builtin_expect(!o || agg_add(o, sec, e->dur_ns, e->self_ns) < 0, 0)) {
            p->lost++;
            continue;
        }
        ok++;
        uint64_t hidx = 0;
        if (rec) {
            hidx = history_add(e->start_ns, e->dur_ns, e->self_ns, e->tid, e->op, e->parent,
                               p->hid);
            const struct hist_rec hr = { e->start_ns, e->dur_ns, e->self_ns, e->tid,
                                         e->op, e->parent, p->hid };
            history_keep(&p->tails, &hr, hidx);
        }
        const unsigned idx = sec == sec_val ? sec_idx
                             : sec == INT64_MIN ? 0 : (unsigned)((uint64_t)sec % agg_slots);
        if (__builtin_expect(slowest_wants(o, sec, idx, e->dur_ns), 0))
            slowest_offer(o, sec, rec ? hidx : UINT64_MAX, e->start_ns, e->dur_ns, e->self_ns,
                          e->tid, p->hid);
        if (e->parent) {
            struct agg_op *po = proc_op(p, e->parent - 1);
            if (po)
                agg_add_child(po, sec, e->op, e->dur_ns);
        }
    }
    qpd.aggregated += ok;
}

/* ---------------------------------------------------------------------- */
/* Process life cycle                                                      */
/* ---------------------------------------------------------------------- */

/* Reads the drops per operation of p (open): the producer counts each
 * one there before its process-wide counter, so they are read again only
 * when that counter moved, and once more at the end (all). */
static void proc_update_op_dropped(struct proc *p, uint64_t producer_dropped, int all)
{
    if ((!all && producer_dropped == p->op_drop_seen) || (!producer_dropped && !p->nop_drop))
        return;
    uint32_t n = qp_reader_nops(p->r);
    if (n > p->nop_drop) {
        uint64_t *v = realloc(p->op_drop, n * sizeof *v);
        if (!v)
            return;
        p->op_drop = v;
        uint64_t *b = realloc(p->op_drop_base, n * sizeof *b);
        if (!b)
            return;
        p->op_drop_base = b;
        memset(v + p->nop_drop, 0, (n - p->nop_drop) * sizeof *v);
        memset(b + p->nop_drop, 0, (n - p->nop_drop) * sizeof *b);
        p->nop_drop = n;
    }
    if (qp_reader_op_dropped(p->r, p->op_drop, p->nop_drop) < 0)
        return;
    p->op_drop_seen = producer_dropped;
    /* An operation whose samples were all dropped is listed too. */
    for (uint32_t i = 0; i < p->nop_drop; i++)
        if (p->op_drop[i] > p->op_drop_base[i] && (i >= p->nops || !p->ops[i]))
            (void)proc_op(p, i);
}

static void proc_update_dropped_(struct proc *p, int all)
{
    if (p->r) {
        uint64_t d = qp_reader_dropped(p->r);
        p->dropped_last = d + qp_reader_invalid(p->r) + p->lost + p->dropped_prev;
        proc_update_op_dropped(p, d, all);
    } else
        p->dropped_last = p->dropped_last > p->lost ? p->dropped_last : p->lost;
}

static void proc_update_dropped(struct proc *p)
{
    proc_update_dropped_(p, 0);
}

/* Closes p's segment: it is skipped (bad) or, with unlink, removed. */
static void proc_close(struct proc *p, int unlink_it)
{
    if (!p->r)
        return;
    proc_update_dropped_(p, 1);
    qp_reader_close(p->r);
    p->r = NULL;
    qpd.nopen--;
    if (unlink_it && shm_unlink(p->shm_name) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", p->shm_name, strerror(errno));
    p->alive = 0;
    p->exited_at = real_s();
    p->exit_mono = mono_ns();
    p->cpu_pct = -1;
    p->threads = 0;
}

/* Drains p, at most `rounds` x DRAIN_MAX samples.  Returns the ring fill
 * seen before draining, or -1 when the segment turned out unreadable (then
 * it is closed and skipped). */
static double proc_drain_n(struct proc *p, unsigned long rounds)
{
    if (!p->r)
        return 0;
    double fill = qp_reader_max_fill(p->r);
    set_cur_sec(mono_ns() / 1000000000);
    for (unsigned long round = 0; round < rounds; round++) {
        long n = qp_reader_drain(p->r, on_events, p, DRAIN_MAX);
        if (n < 0) {
            log_warn("segment %s (pid %ld) became unreadable (%s); skipping it", p->shm_name,
                     (long)p->pid, strerror((int)-n));
            char why[200];
            snprintf(why, sizeof why, "became unreadable: %s", strerror((int)-n));
            skip_add(p->shm_name + 1, why, (int)n);
            proc_close(p, 0);
            return -1;
        }
        if ((size_t)n < DRAIN_MAX)
            break;
    }
    proc_update_dropped(p);
    return fill;
}

static double proc_drain(struct proc *p)
{
    return proc_drain_n(p, DRAIN_ROUNDS);
}

/* Enough rounds to empty every ring of p once: a producer that is gone
 * adds nothing, so this drains all it left (and stays bounded even if a
 * hostile one keeps writing). */
static unsigned long rounds_to_empty(const struct proc *p)
{
    const qp_proc_info_t *in = qp_reader_info(p->r);
    return (unsigned long)((uint64_t)in->slot_count * in->ring_records / DRAIN_MAX) + 2;
}

/* The producer exited or died: drain what is left and remove the segment. */
static void proc_finish(struct proc *p, const char *why)
{
    if (!p->r || proc_drain_n(p, rounds_to_empty(p)) < 0)
        return;
    uint64_t count = 0;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i])
            count += p->ops[i]->cum.h.count;
    log_info("process %s[%ld] %s; %llu samples, %llu dropped", p->name, (long)p->pid, why,
             (unsigned long long)count, (unsigned long long)(p->dropped_last - p->dropped_base));
    proc_close(p, 1);
}

static struct proc *proc_find_open(const char *shm_name)
{
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->r && !strcmp(p->shm_name, shm_name))
            return p;
    return NULL;
}

/* The command line of p, as the process shows it now (a server may
 * rewrite it: "nginx: worker process"); kept as it was when unreadable. */
static void proc_cmdline(struct proc *p)
{
    char path[64], buf[sizeof p->cmdline];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)p->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0)
        return;
    memcpy(p->cmdline, buf, (size_t)n);
    p->cmdline_len = (unsigned)n;
}

static struct proc *proc_new(qp_reader_t *r)
{
    struct proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    const qp_proc_info_t *in = qp_reader_info(r);
    p->r = r;
    snprintf(p->shm_name, sizeof p->shm_name, "%s", in->shm_name);
    snprintf(p->name, sizeof p->name, "%s", in->name);
    p->pid = in->pid;
    p->uid = access_proc_uid(in);
    p->start_time = in->start_time;
    p->alive = 1;
    p->started_at = (double)in->created_realtime_ns / 1e9;
    p->seen_mono = mono_ns();
    p->cpu_pct = -1;
    p->hid = ++qpd.next_hid;
    proc_cmdline(p);
    qpd.nopen++;
    qpd.drain_now = 1;   /* its ring may be filling fast already */
    p->next = qpd.procs;
    qpd.procs = p;
    qpd.nprocs++;
    return p;
}

/* The blocks of compacted processes come from arenas of their own,
 * filled in turn: processes are compacted and forgotten in about the order
 * they exited, so an arena empties as a whole and goes back to the system,
 * and a retained process costs its block and no fragmentation of the
 * heap it lived in. */
#define ARENA_BYTES (256u << 10)

struct arena {
    size_t used, cap;             /* bytes of data */
    unsigned live;                /* blocks not freed */
    unsigned reserved;
    char data[];
};

static struct arena *arena_cur;

static void *block_alloc(size_t n)
{
    n = ALIGN8(n + sizeof(struct arena *));
    struct arena *a = arena_cur;
    if (!a || a->cap - a->used < n) {
        size_t bytes = sizeof *a + (n > ARENA_BYTES - sizeof *a ? n : ARENA_BYTES - sizeof *a);
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        a = m;
        a->used = 0;
        a->cap = bytes - sizeof *a;
        a->live = 0;
        if (arena_cur && !arena_cur->live)
            munmap(arena_cur, sizeof *arena_cur + arena_cur->cap);
        arena_cur = a;
    }
    char *b = a->data + a->used;
    a->used += n;
    a->live++;
    *(struct arena **)(void *)b = a;
    return b + sizeof(struct arena *);
}

static void block_free(void *p)
{
    struct arena *a = *(struct arena **)(void *)((char *)p - sizeof(struct arena *));
    if (--a->live)
        return;
    if (a == arena_cur)
        a->used = 0;   /* empty: filled again from the start */
    else
        munmap(a, sizeof *a + a->cap);
}

static void proc_free(struct proc *p)
{
    if (p->r) {
        qp_reader_close(p->r);
        qpd.nopen--;
    }
    for (uint32_t i = 0; i < p->nops; i++)
        agg_op_free(p->ops[i]);
    history_tails_free(&p->tails);
    free(p->op_drop);          /* never packed: few processes drop */
    free(p->op_drop_base);
    if (p->compacted != 2) {   /* else all is in p's block */
        free(p->ops);
        free(p);
    } else {
        block_free(p);
    }
    qpd.proc_gen++;
}

/* A segment we cannot read whose process is gone (or whose pid now runs
 * another program) is removed: nobody else will.  Returns 1 if removed. */
static int remove_if_stale(const char *name, const char *path, const char *why)
{
    char ns[64];
    pid_t pid;
    uint64_t st;
    if (qp_seg_name_parse(name, ns, sizeof ns, &pid, &st, NULL) < 0 || qp_proc_alive(pid, st))
        return 0;
    if (shm_unlink(path) < 0)
        return 0;
    log_notice("removed stale segment %s of gone pid %ld (unreadable: %s)", path, (long)pid, why);
    return 1;
}

/* While a refused segment is looked at again: its reason, so that the
 * same refusal is not logged again. */
static const char *retry_reason;

static void skip_retry(const char *name, int now);

/* Tries to attach to segment `name` (without the leading '/'). */
static void try_open(const char *name)
{
    char path[130];
    if (snprintf(path, sizeof path, "/%s", name) >= (int)sizeof path)
        return;
    if (proc_find_open(path) || names_find(&skipped, name))
        return;
    qp_reader_t *r;
    char err[256] = "";
    int ret = qp_reader_open(&r, path, QP_READER_CONSUME, err, sizeof err);
    if (ret == -EAGAIN) {
        if (!pending.n)
            pending_due = mono_ns() + PENDING_RETRY_FAST_NS;
        names_add(&pending, name);
        return;
    }
    struct name_ent *pe = names_find(&pending, name);
    if (pe)
        names_del(&pending, pe);
    if (ret == -ENOENT)
        return;
    if (ret < 0) {
        if (remove_if_stale(name, path, err))
            return;
        char shm_path[160];
        struct stat sb;
        snprintf(shm_path, sizeof shm_path, SHM_DIR "%s", path);
        if (ret == -EACCES && stat(shm_path, &sb) == 0) {
            /* Another user's: say whose, and what would read it. */
            snprintf(err, sizeof err, "owned by uid %lu, not us (only a root qpulsed reads "
                     "other users' segments)", (unsigned long)sb.st_uid);
            ret = -EPERM;
        }
        if (!retry_reason || strcmp(retry_reason, err) != 0)
            log_warn("skipping segment %s: %s", path, err);
        skip_add(name, err, ret);
        return;
    }
    struct proc *p = proc_new(r);
    if (!p) {
        qp_reader_close(r);
        return;
    }
    if (qp_reader_set_daemon(r, getpid()) < 0) {
        log_warn("segment %s (pid %ld) shrank as we attached; skipping it", path, (long)p->pid);
        skip_add(name, "shrank as the daemon attached", -EFAULT);
        proc_close(p, 0);
        return;
    }
    log_info("attached to %s[%ld] (%s)", p->name, (long)p->pid, path);
    restart_adopt(p);   /* its saved statistics, or what is lost */
    /* Adopted at start-up or found late: it may be gone already. */
    if (qp_reader_exited(r))
        proc_finish(p, "had exited");
    else if (!qp_proc_alive(p->pid, p->start_time))
        proc_finish(p, "had died");
}

/* ---------------------------------------------------------------------- */
/* Discovery                                                               */
/* ---------------------------------------------------------------------- */

static int ours(const char *name)
{
    size_t n = strlen(qpd.shm_prefix);
    if (strncmp(name, qpd.shm_prefix, n) != 0)
        return 0;
    return strcmp(name + n, "daemon") != 0;
}

int procs_init(void)
{
    if (qp_seg_prefix(qpd.shm_prefix, sizeof qpd.shm_prefix, qpd.cfg.ns) < 0)
        return -ENAMETOOLONG;
    ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    /* IN_ATTRIB: a producer publishes its header and then sets the
     * object's mode again, to wake us; a segment given to another user
     * (a process that dropped privileges) is looked at again at once. */
    if (ino_fd < 0 ||
        inotify_add_watch(ino_fd, SHM_DIR, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
        log_warn("inotify on %s: %s; finding processes by rescanning only", SHM_DIR,
                 strerror(errno));
        if (ino_fd >= 0)
            close(ino_fd);
        ino_fd = -1;
    }
    return 0;
}

int procs_inotify_fd(void)
{
    return ino_fd;
}

void procs_inotify_read(void)
{
    union {
        char buf[8192];
        struct inotify_event align;
    } u;
    for (;;) {
        ssize_t n = read(ino_fd, u.buf, sizeof u.buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("inotify read: %s", strerror(errno));
            return;
        }
        for (char *q = u.buf; q < u.buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            if (ev->mask & IN_Q_OVERFLOW)
                procs_rescan();
            else if (ev->len && ours(ev->name) && !(ev->mask & IN_ATTRIB))
                try_open(ev->name);
            else if (ev->len && ours(ev->name))
                skip_retry(ev->name, 1);
            q += sizeof *ev + ev->len;
        }
    }
}

/* Skipped segment `name`: when it was refused for its owner, and its time
 * to be looked at again has come (or now), try it again. */
static void skip_retry(const char *name, int now)
{
    struct name_ent *e = names_find(&skipped, name);
    if (!e) {
        try_open(name);
        return;
    }
    int64_t t = mono_ns();
    if (!e->retry || e->left || (!now && t < e->next_retry))
        return;
    char why[sizeof e->reason];
    int64_t backoff = e->backoff;
    snprintf(why, sizeof why, "%s", e->reason);
    names_del(&skipped, e);
    retry_reason = why;
    try_open(name);
    retry_reason = NULL;
    e = names_find(&skipped, name);
    if (e && e->retry) {   /* refused again: back off */
        e->backoff = backoff * 2 > RETRY_MAX_NS ? RETRY_MAX_NS : backoff * 2;
        e->next_retry = t + e->backoff;
    }
}

/* A skipped segment whose process is gone: nobody else will remove it. */
static void skip_reap(struct name_ent *e)
{
    if (e->left || e->pid <= 0 || qp_proc_alive(e->pid, e->start_time))
        return;
    char path[130];
    snprintf(path, sizeof path, "/%s", e->name);
    if (shm_unlink(path) == 0 || errno == ENOENT) {
        log_notice("removed segment %s of exited pid %ld (it was skipped: %s)", path,
                   (long)e->pid, e->reason);
        e->seen = 0;   /* forgotten below */
        return;
    }
    int err = errno;
    log_warn("segment %s of exited pid %ld is left behind: cannot remove it (%s); "
             "remove it as root or as uid %ld", path, (long)e->pid, strerror(err), (long)e->owner);
    char why[sizeof e->reason + 96];
    snprintf(why, sizeof why, "process exited, segment left behind (%s): %s", strerror(err),
             e->reason);
    snprintf(e->reason, sizeof e->reason, "%.*s", (int)sizeof e->reason - 1, why);
    e->left = 1;
}

void procs_rescan(void)
{
    DIR *d = opendir(SHM_DIR);
    if (!d) {
        log_warn("cannot read %s: %s", SHM_DIR, strerror(errno));
        return;
    }
    for (unsigned i = 0; i < skipped.n; i++)
        skipped.v[i].seen = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ours(de->d_name))
            continue;
        struct name_ent *s = names_find(&skipped, de->d_name);
        if (s)
            s->seen = 1;
        else
            try_open(de->d_name);
    }
    closedir(d);
    /* Skipped segments whose process is gone: one last look at those
     * refused for their owner (their process may have made them readable
     * before it exited: then they are drained and removed as usual), then
     * removed. */
    for (unsigned i = 0; i < skipped.n;) {
        struct name_ent *e = &skipped.v[i];
        if (!e->seen || e->left || e->pid <= 0 || qp_proc_alive(e->pid, e->start_time)) {
            i++;
            continue;
        }
        if (!e->retry) {
            skip_reap(e);
            i++;
            continue;
        }
        char name[128], why[sizeof e->reason];
        snprintf(name, sizeof name, "%s", e->name);
        snprintf(why, sizeof why, "%s", e->reason);
        names_del(&skipped, e);   /* v[i] is another entry now */
        retry_reason = why;
        try_open(name);
        retry_reason = NULL;
        if ((e = names_find(&skipped, name)) != NULL)
            skip_reap(e);   /* leaves it seen == 0 or left: not looked at again */
    }
    for (unsigned i = 0; i < skipped.n;) {
        char name[128];
        snprintf(name, sizeof name, "%s", skipped.v[i].name);
        unsigned before = skipped.n;
        if (skipped.v[i].seen)
            skip_retry(name, 0);
        /* Retried entries leave and may come back at the end. */
        if (skipped.n == before && i < skipped.n && !strcmp(skipped.v[i].name, name))
            i++;
    }
    /* Forget skipped names that are gone, so the set stays small and a new
     * segment that reuses a name is looked at afresh. */
    for (unsigned i = 0; i < skipped.n;)
        if (!skipped.v[i].seen)
            names_del(&skipped, &skipped.v[i]);
        else
            i++;
}

unsigned procs_pending(void)
{
    return pending.n;
}

int64_t procs_pending_due(void)
{
    return pending.n ? pending_due : INT64_MAX;
}

void procs_retry_pending(void)
{
    int64_t now = mono_ns();
    for (unsigned i = 0; i < pending.n;) {
        struct name_ent *e = &pending.v[i];
        char name[128];
        snprintf(name, sizeof name, "%s", e->name);
        if (now - e->since > PENDING_GIVEUP_NS) {
            /* Never initialised: a producer that died between shm_open and
             * publishing its header.  Remove it when its pid is gone. */
            pid_t pid;
            uint64_t st;
            char ns[64];
            if (qp_seg_name_parse(name, ns, sizeof ns, &pid, &st, NULL) == 0 &&
                !qp_proc_alive(pid, st)) {
                char path[130];
                snprintf(path, sizeof path, "/%s", name);
                log_info("removing %s: never initialised and its process is gone", path);
                shm_unlink(path);
            } else {
                log_warn("skipping segment /%s: not initialised after 5 s", name);
                skip_add(name, "not initialised after 5 s", -EAGAIN);
            }
            names_del(&pending, e);
            continue;
        }
        unsigned before = pending.n;
        try_open(name);
        if (pending.n == before && names_find(&pending, name))
            i++;
    }
    /* The youngest pending name sets the pace. */
    int64_t iv = PENDING_RETRY_SLOW_NS;
    for (unsigned i = 0; i < pending.n; i++)
        if (now - pending.v[i].since < PENDING_FAST_NS)
            iv = PENDING_RETRY_FAST_NS;
    pending_due = now + iv;
}

/* ---------------------------------------------------------------------- */
/* Draining and housekeeping                                               */
/* ---------------------------------------------------------------------- */

double procs_drain_all(void)
{
    double worst = 0;
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r)
            continue;
        /* EXITED before the drain: that drain then gets everything. */
        if (qp_reader_exited(p->r)) {
            proc_finish(p, "exited");
            continue;
        }
        double f = proc_drain(p);
        if (f > worst)
            worst = f;
    }
    return worst;
}

/* utime + stime (clock ticks) and resident bytes of pid; 0 or -1. */
static void proc_usage(struct proc *p, int64_t now)
{
    proc_cmdline(p);
    uint64_t ticks, rss;
    if (qp_proc_usage(p->pid, &ticks, &rss) < 0) {
        p->cpu_pct = -1;
        return;
    }
    p->rss_bytes = rss;
    if (p->cpu_mono && now > p->cpu_mono && ticks >= p->cpu_ticks) {
        double secs = (double)(now - p->cpu_mono) / 1e9;
        p->cpu_pct = (double)(ticks - p->cpu_ticks) / (double)sysconf(_SC_CLK_TCK) / secs * 100.0;
    }
    p->cpu_ticks = ticks;
    p->cpu_mono = now;
}

/* Once a window: remember each op's p99 as the "previous window" one, and
 * (every second) check the budgets against the window. */
static void window_tick(struct proc *p, int64_t sec, int roll)
{
    for (uint32_t i = 0; i < p->nops; i++) {
        struct agg_op *o = p->ops[i];
        if (o && !o->win && roll)
            o->p99_prev = 0;   /* nothing in the window (compacted, or never) */
        if (!o || (!roll && !o->rules_matched) || !o->win)
            continue;
        struct agg_stats w;
        agg_window(o, sec, &w);
        if (roll)
            o->p99_prev = hist_percentile(&w.h, 99.0);
        if (o->rules_matched)
            budgets_check(p, o, &w, sec);
        agg_stats_free(&w);
    }
}

/* Bytes the statistics of p hold, its structure included. */
static size_t proc_memory(const struct proc *p)
{
    size_t b = sizeof *p + p->nops * sizeof *p->ops;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i])
            b += agg_op_memory(p->ops[i]);
    return b;
}

/* *pp has exited and the window has passed its last second: keep only
 * what the cumulative statistics need (agg_op_compact()), and move it all
 * - the process, its op table, ops, names, histograms, children and
 * slowest samples - into one allocation.  Its old pieces lay among those
 * of the processes that ran beside it; freed together, whole pages come
 * free, and a process forgotten later frees one block. */
static void proc_compact(struct proc **pp)
{
    struct proc *p = *pp;
    size_t before = proc_memory(p);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i]) {
            agg_op_compact(p->ops[i]);
            n = i + 1;
        }
    p->compacted = 1;
    size_t size = ALIGN8(sizeof *p) + ALIGN8(n * sizeof *p->ops);
    for (uint32_t i = 0; i < n; i++)
        if (p->ops[i])
            size += agg_op_pack_size(p->ops[i]);
    char *block = block_alloc(size), *cur = block;
    if (!block)
        return;   /* compacted, in its pieces */
    struct proc *d = (struct proc *)(void *)cur;
    cur += ALIGN8(sizeof *d);
    *d = *p;
    d->compacted = 2;
    /* The op table as far as the last op with samples: nothing of the
     * segment is added any more. */
    d->nops = n;
    d->ops = n ? (struct agg_op **)(void *)cur : NULL;
    cur += ALIGN8(n * sizeof *p->ops);
    for (uint32_t i = 0; i < n; i++) {
        d->ops[i] = p->ops[i] ? agg_op_pack(p->ops[i], &cur) : NULL;
        agg_op_free(p->ops[i]);
    }
    free(p->ops);
    free(p);
    *pp = d;
    qpd.proc_gen++;   /* p is gone */
    log_debug("compacted %s[%ld]: %zu bytes in one block, %zu before", d->name, (long)d->pid,
              size, before);
}

/* Whether p is an exited process that may be forgotten or compacted (not
 * a saved one still waiting for its segment). */
static int proc_exited(const struct proc *p)
{
    return !p->r && !p->saved;
}

static int exit_cmp(const void *a, const void *b)
{
    const struct proc *x = *(const struct proc *const *)a, *y = *(const struct proc *const *)b;
    return x->exit_mono < y->exit_mono ? -1 : x->exit_mono > y->exit_mono;
}

/* More than --retain-max exited processes: marks the ones that exited
 * first for forgetting (exit_mono = INT64_MIN). */
static void retain_cap(void)
{
    unsigned n = 0;
    for (struct proc *p = qpd.procs; p; p = p->next)
        n += proc_exited(p);
    if (n <= qpd.cfg.retain_max)
        return;
    struct proc **v = malloc(n * sizeof *v);
    if (!v)
        return;   /* the next second tries again */
    unsigned k = 0;
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (proc_exited(p))
            v[k++] = p;
    qsort(v, n, sizeof *v, exit_cmp);
    unsigned excess = n - qpd.cfg.retain_max;
    for (unsigned i = 0; i < excess; i++)
        v[i]->exit_mono = INT64_MIN;
    free(v);
    qpd.forgotten += excess;
    /* Logged at most once a minute, with the count so far. */
    static int64_t logged;
    static uint64_t logged_n;
    int64_t now = mono_ns();
    if (!logged || now - logged >= 60ll * 1000000000) {
        log_notice("--retain-max %u: forgot %llu exited processes before their --retain "
                   "time (%llu in all)",
                   qpd.cfg.retain_max, (unsigned long long)(qpd.forgotten - logged_n),
                   (unsigned long long)qpd.forgotten);
        logged = now;
        logged_n = qpd.forgotten;
    }
}

void procs_tick_second(void)
{
    int64_t now = mono_ns();
    int64_t sec = now / 1000000000;
    /* The window [sec - W, sec - 1] is complete when second sec begins. */
    int roll = sec % qpd.cfg.window == 0;
    int freed = 0;
    retain_cap();
    struct proc **pp = &qpd.procs;
    while (*pp) {
        struct proc *p = *pp;
        if (p->r) {
            if (!qp_proc_alive(p->pid, p->start_time))
                proc_finish(p, "died");
            else {
                p->uid = access_proc_uid(qp_reader_info(p->r));   /* setuid() */
                p->threads = qp_reader_threads(p->r);
                proc_usage(p, now);
            }
        }
        if (proc_exited(p) && (p->exit_mono == INT64_MIN ||
                               now - p->exit_mono > (int64_t)qpd.cfg.retain * 1000000000)) {
            log_debug("forgetting %s[%ld]", p->name, (long)p->pid);
            qpd.dropped_gone += p->dropped_last - p->dropped_base;
            *pp = p->next;
            qpd.nprocs--;
            proc_free(p);
            freed = 1;
            continue;
        }
        /* Its samples are all of its exit second or earlier: once the
         * window and the p99 of the previous window (window_tick) have
         * passed that second, nothing but the cumulative statistics can
         * show them. */
        if (proc_exited(p) && !p->compacted &&
            sec > p->exit_mono / 1000000000 + (int64_t)qpd.cfg.window + 1) {
            proc_compact(pp);
            p = *pp;
            freed = 1;
        }
        for (uint32_t i = 0; i < p->nops; i++)
            if (p->ops[i])
                agg_settle(p->ops[i]);
        window_tick(p, roll ? sec - 1 : sec, roll);
        pp = &p->next;
    }
#ifdef __GLIBC__
    /* What compaction freed lies between live allocations: hand the free
     * pages back once a burst of exits is over (or every 10 s in a long
     * one). */
    static int64_t trimmed;
    static int trim_due;
    trim_due |= freed;
    if (trim_due && (!freed || now - trimmed >= 10ll * 1000000000)) {
        malloc_trim(0);
        trimmed = now;
        trim_due = 0;
    }
#endif
    if (now > qpd.rate_mono) {
        if (qpd.rate_mono)
            qpd.samples_per_s = (double)(qpd.aggregated - qpd.rate_base) /
                                ((double)(now - qpd.rate_mono) / 1e9);
        qpd.rate_base = qpd.aggregated;
        qpd.rate_mono = now;
    }
}

void procs_shutdown(void)
{
    /* Tell the producers first that nobody will drain them any more, then
     * drain: a producer exiting from now on removes its own segment, and
     * one that exited before is seen EXITED below and removed by us.  The
     * fence orders our stores before the loads of the exit state (the
     * producer stores EXITED before it reads daemon_pid). */
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->r)
            (void)qp_reader_set_daemon(p->r, 0);   /* -EFAULT: the drain below sees it */
    qp_fence_seq_cst();
    procs_retry_pending();
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->r)
            continue;
        int gone = qp_reader_exited(p->r) || !qp_proc_alive(p->pid, p->start_time);
        if (gone)
            proc_finish(p, "exited");
        else
            proc_drain(p);
    }
}

void procs_fini(void)
{
    while (qpd.procs) {
        struct proc *p = qpd.procs;
        qpd.procs = p->next;
        proc_free(p);
    }
    qpd.nprocs = 0;
    if (ino_fd >= 0)
        close(ino_fd);
    ino_fd = -1;
    if (arena_cur)
        munmap(arena_cur, sizeof *arena_cur + arena_cur->cap);
    arena_cur = NULL;
    free(pending.v);
    free(skipped.v);
    pending = skipped = (struct name_set){ 0 };
}

void procs_reset(void)
{
    int64_t now = mono_ns();
    struct proc **pp = &qpd.procs;
    while (*pp) {
        struct proc *p = *pp;
        if (!access_visible(p)) {   /* system mode: another user's */
            pp = &p->next;
            continue;
        }
        if (!p->r) {   /* nothing left to show of an exited process */
            *pp = p->next;
            qpd.nprocs--;
            proc_free(p);
            continue;
        }
        proc_update_dropped_(p, 1);
        p->dropped_base = p->dropped_last;
        if (p->nop_drop)
            memcpy(p->op_drop_base, p->op_drop, p->nop_drop * sizeof *p->op_drop);
        p->lost_prev = 0;
        p->seen_mono = now;
        for (uint32_t i = 0; i < p->nops; i++)
            if (p->ops[i])
                agg_op_clear(p->ops[i]);
        pp = &p->next;
    }
    if (qpd.view_uid == (uid_t)-1) {
        /* Everything: the recorder too (a user's reset keeps it, as it
         * holds other users' samples). */
        qpd.dropped_gone = 0;
        history_clear();
        for (struct proc *p = qpd.procs; p; p = p->next)
            history_tails_clear(&p->tails);
    }
}

/* The skipped segments the client being served may see: its own, or those
 * naming a process of its user (system mode); all for root and for a
 * daemon's own user. */
void procs_render_skipped(jw_t *w)
{
    jw_arr_begin(w);
    for (unsigned i = 0; i < skipped.n; i++) {
        const struct name_ent *e = &skipped.v[i];
        if (qpd.view_uid != (uid_t)-1 && e->owner != qpd.view_uid && e->puid != qpd.view_uid)
            continue;
        jw_obj_begin(w);
        jw_key(w, "pid");
        jw_i64(w, e->pid);
        jw_key(w, "name");
        jw_str(w, e->pname);
        jw_key(w, "segment");
        char path[130];
        snprintf(path, sizeof path, "/%s", e->name);
        jw_str(w, path);
        jw_key(w, "owner_uid");
        if (e->owner == (uid_t)-1)
            jw_null(w);
        else
            jw_u64(w, e->owner);
        jw_key(w, "reason");
        jw_str(w, e->reason);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}
