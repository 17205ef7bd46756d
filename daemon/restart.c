/*
 * restart.c — --state in the daemon's life: load at start, match each
 * loaded process to its segment again as the first scan finds it, save
 * every few seconds and at exit (atomically: temporary file, fsync,
 * rename, fsync of the directory).
 *
 * The accounting that makes restarts lose nothing silently: the consumer
 * region's tails say how many records all daemons so far consumed from a
 * segment; the state says how many of those its statistics cover.  The
 * difference (samples a SIGKILLed daemon consumed after its last save, or
 * everything when no usable state exists) is the process's `lost`, so
 * count + dropped + lost equals what the process recorded.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg.h"
#include "common.h"
#include "log.h"
#include "state.h"

static int64_t next_save;
static int save_failing;   /* log a failure once, and the recovery */
static pid_t save_kid;     /* a periodic save being written by a child */
static int64_t save_started;

void restart_load(void)
{
    const char *path = qpd.state_path;
    if (!path)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT)
            log_err("state file %s: %s; starting without it", path, strerror(errno));
        return;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_uid != geteuid() || (st.st_mode & 022))
        why = "owned by another user or writable by others";
    else if (st.st_size > STATE_MAX_BYTES)
        why = "larger than 1 GiB";
    uint8_t *buf = NULL;
    size_t len = why ? 0 : (size_t)st.st_size;
    if (!why && !(buf = malloc(len ? len : 1)))
        why = "out of memory";
    for (size_t off = 0; !why && off < len;) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n <= 0) {
            why = n < 0 ? strerror(errno) : "shorter than it was";
            break;
        }
        off += (size_t)n;
    }
    close(fd);
    struct proc *list = NULL;
    char err[256] = "";
    if (!why && state_parse(buf, len, qpd.cfg.ns, &list, err, sizeof err) < 0)
        why = err;
    free(buf);
    if (why) {
        log_err("state file %s: %s; ignoring it: the samples earlier daemons consumed "
                "count as lost",
                path, why);
        return;
    }
    double rnow = real_s();
    int64_t mnow = mono_ns();
    unsigned n = 0;
    while (list) {
        struct proc *p = list;
        list = p->next;
        p->seen_mono = mnow - (int64_t)((rnow - p->saved_seen) * 1e9);
        if (!p->alive)
            p->exit_mono = mnow - (int64_t)((rnow - p->exited_at) * 1e9);
        if (qpd.budgets)
            for (uint32_t i = 0; i < p->nops; i++)
                if (p->ops[i])
                    budgets_match(p->ops[i]);
        p->next = qpd.procs;
        qpd.procs = p;
        qpd.nprocs++;
        n++;
    }
    log_notice("loaded the statistics of %u processes from %s", n, path);
}

static void unlink_proc(struct proc *s)
{
    for (struct proc **pp = &qpd.procs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            qpd.nprocs--;
            state_free_list((s->next = NULL, s));
            return;
        }
}

void restart_adopt(struct proc *p)
{
    uint64_t consumed = qp_reader_consumed(p->r);
    struct proc *s = qpd.procs;
    for (; s; s = s->next)
        if (s->saved && !s->r && s != p && s->pid == p->pid &&
            s->start_time == p->start_time && !strcmp(s->shm_name, p->shm_name))
            break;
    if (s && consumed >= s->saved_consumed) {
        for (uint32_t i = 0; i < p->nops; i++)
            agg_op_free(p->ops[i]);
        free(p->ops);
        p->ops = s->ops;
        p->nops = s->nops;
        s->ops = NULL;
        s->nops = 0;
        p->lost_prev = s->lost_prev + (consumed - s->saved_consumed);
        p->dropped_prev = s->dropped_prev;
        p->dropped_base = s->dropped_base;
        p->seen_mono = s->seen_mono;
        if (consumed > s->saved_consumed)
            log_notice("process %s[%ld]: %llu samples consumed after the last save of the "
                       "state are lost",
                       p->name, (long)p->pid, (unsigned long long)(consumed - s->saved_consumed));
        log_info("process %s[%ld] continues from the state file", p->name, (long)p->pid);
        unlink_proc(s);
        return;
    }
    if (s) {
        log_warn("process %s[%ld]: its segment was consumed less than the state says; "
                 "ignoring the saved statistics",
                 p->name, (long)p->pid);
        unlink_proc(s);
    }
    p->lost_prev = consumed;
    if (consumed)
        log_notice("process %s[%ld]: %llu samples consumed by an earlier daemon are in no "
                   "state file: counted as lost",
                   p->name, (long)p->pid, (unsigned long long)consumed);
}

void restart_settle(void)
{
    double rnow = real_s();
    int64_t mnow = mono_ns();
    for (struct proc *p = qpd.procs; p; p = p->next) {
        if (!p->saved || p->r)
            continue;
        p->saved = 0;
        if (p->alive) {
            /* It exited while no daemon ran: its last samples went with it. */
            p->alive = 0;
            p->exited_at = rnow;
            p->exit_mono = mnow;
            log_info("process %s[%ld] from the state file exited meanwhile", p->name,
                     (long)p->pid);
        }
    }
}

int restart_save(void)
{
    const char *path = qpd.state_path;
    if (!path)
        return 0;
    /* A periodic save still being written is older than this one: it must
     * not rename its file over ours afterwards. */
    if (save_kid > 0) {
        bg_kill(save_kid);
        save_kid = 0;
    }
    uint8_t *buf;
    size_t len;
    int r = state_serialize(qpd.procs, qpd.cfg.ns, real_s(), mono_ns(), &buf, &len);
    if (r < 0) {
        log_err("cannot save the state: %s", strerror(-r));
        return r;
    }
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int w = fd < 0 ? -errno : qp_write_all(fd, buf, len);
    if (w < 0 || fsync(fd) < 0)
        e = w < 0 ? -w : errno;
    if (fd >= 0 && close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    free(buf);
    if (e) {
        unlink(tmp);
        if (!save_failing)
            log_err("cannot save the state to %s: %s", path, strerror(e));
        save_failing = 1;
        return -e;
    }
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (save_failing)
        log_notice("the state is saved to %s again", path);
    save_failing = 0;
    return 0;
}

/* The next save after one that began at start and ended now: a large
 * host's state takes long to write (1000 processes x 50 ops: ~150 MB, a
 * second): never more than 1/STATE_SAVE_SHARE of the time. */
static void schedule(int64_t start, int64_t took)
{
    int64_t gap = took * STATE_SAVE_SHARE;
    next_save = start + (gap > STATE_SAVE_INTERVAL_NS ? gap : STATE_SAVE_INTERVAL_NS);
    if (gap > STATE_SAVE_INTERVAL_NS)
        log_debug("state saved in %.0f ms: the next save in %.0f s", (double)took / 1e6,
                  (double)gap / 1e9);
}

/* A periodic save's child ended (it logged its failure or recovery):
 * the next save is paced by the work it did, not by the child's start and
 * end (which under valgrind take a second of their own). */
static void save_done(int ok, int64_t work_ns)
{
    save_kid = 0;
    save_failing = !ok;
    schedule(save_started, ok ? work_ns : mono_ns() - save_started);
}

void restart_tick(int64_t now)
{
    if (!qpd.state_path || now < next_save || save_kid > 0)
        return;
    /* Written by a child (bg.c): serialising and writing a large host's
     * state took the loop a second, and the drain waited for it. */
    save_started = now;
    pid_t kid = bg_fork("a state save", -1, save_done);
    if (kid > 0) {
        save_kid = kid;
        return;
    }
    int r = restart_save();
    if (kid == 0)
        bg_exit(r < 0, mono_ns() - now);
    schedule(now, mono_ns() - now);
}
