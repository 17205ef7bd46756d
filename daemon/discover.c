/*
 * discover.c — finding the segments of our namespace: inotify on /dev/shm
 * plus a periodic rescan, the pending names (a segment whose producer has
 * not published its header yet) and the skipped ones (refused, with their
 * reason), attaching a segment, and removing stale ones.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "procs.h"
#include "qpulsed.h"
#include "state.h"

#define SHM_DIR "/dev/shm"
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
struct name_ent *skip_add(const char *name, const char *why, int ret)
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
    /* Refused for its owner (it may follow its process through setuid), or
     * not initialised in time (a producer stopped during its first sample
     * that may go on): looked at again, backing off. */
    e->retry = ret == -EPERM || ret == -EAGAIN;
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
    if (ret == -EAGAIN && retry_reason) {
        skip_add(name, retry_reason, ret);   /* still not initialised */
        return;
    }
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
                log_warn("skipping segment /%s: not initialised after 5 s; looking at it "
                         "again now and then", name);
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
        jw_kv_i64(w, "pid", e->pid);
        jw_kv_str(w, "name", e->pname);
        jw_key(w, "segment");
        char path[130];
        snprintf(path, sizeof path, "/%s", e->name);
        jw_str(w, path);
        jw_key(w, "owner_uid");
        if (e->owner == (uid_t)-1)
            jw_null(w);
        else
            jw_u64(w, e->owner);
        jw_kv_str(w, "reason", e->reason);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

void discover_fini(void)
{
    if (ino_fd >= 0)
        close(ino_fd);
    ino_fd = -1;
    free(pending.v);
    free(skipped.v);
    pending = skipped = (struct name_set){ 0 };
}
