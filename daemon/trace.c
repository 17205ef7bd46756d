/*
 * trace.c — the flight recorder (history.h) as Trace Event Format JSON, for
 * the HISTORY request (`qpulse trace`) and the dumps on a budget breach
 * (--dump-dir).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "common.h"
#include "history.h"
#include "log.h"
#include "qpulsed.h"

/* ---------------------------------------------------------------------- */
/* Selection and the trace                                                 */
/* ---------------------------------------------------------------------- */

/* The process with history id hid (a one-entry cache: records of one
 * process come in runs). */
static struct proc *proc_by_hid(uint32_t hid)
{
    static struct proc *last;
    static uint64_t last_gen;
    if (last && last_gen == qpd.proc_gen && last->hid == hid)
        return last;
    for (struct proc *p = qpd.procs; p; p = p->next)
        if (p->hid == hid) {
            last = p;
            last_gen = qpd.proc_gen;
            return p;
        }
    return NULL;
}

static int selected(const struct hist_rec *r, const struct history_sel *sel, struct proc **pp)
{
    if (r->start < sel->since_mono || (sel->until_mono && r->start > sel->until_mono))
        return 0;
    struct proc *p = proc_by_hid(r->proc);
    if (!p || (sel->pid > 0 && p->pid != sel->pid) || r->op >= p->nops || !p->ops[r->op] ||
        !access_visible(p))
        return 0;
    *pp = p;
    return 1;
}

/* About 130 bytes each: a trace stays well under the 256 MiB a client
 * accepts. */
#define TRACE_MAX_EVENTS 1500000u

struct sel_ent {
    uint32_t proc;
    int32_t tid;
    uint64_t start, dur;
    uint64_t idx;
    const struct hist_rec *r;   /* in the ring or in a thread's tail */
};

/* By process, thread, start, and the longer first: a parent precedes what
 * ran inside it. */
static int sel_cmp(const void *a, const void *b)
{
    const struct sel_ent *x = a, *y = b;
    int c;
    if ((c = QP_CMP(x->proc, y->proc)) || (c = QP_CMP(x->tid, y->tid)) ||
        (c = QP_CMP(x->start, y->start)) || (c = QP_CMP(y->dur, x->dur)))
        return c;
    return QP_CMP(x->idx, y->idx);
}

static int start_cmp(const void *a, const void *b)
{
    const struct sel_ent *x = a, *y = b;
    return QP_CMP(x->start, y->start);
}

static void meta(jw_t *w, const char *what, long pid, long tid, const char *name)
{
    jw_obj_begin(w);
    jw_kv_str(w, "ph", "M");
    jw_kv_str(w, "name", what);
    jw_kv_i64(w, "pid", pid);
    jw_kv_i64(w, "tid", tid);
    jw_key(w, "args");
    jw_obj_begin(w);
    jw_kv_str(w, "name", name);
    jw_obj_end(w);
    jw_obj_end(w);
}

/* The thread's name from /proc while its process lives, else "tid N". */
void trace_thread_name(const struct proc *p, int32_t tid, char *buf, size_t len)
{
    snprintf(buf, len, "%s tid %ld", p->name, (long)tid);
    if (!p->alive)
        return;
    char comm[64];
    if (qp_thread_name(p->pid, tid, comm, sizeof comm) < 0 || !*comm)
        return;
    qp_scrub(comm);
    snprintf(buf, len, "%s (tid %ld)", comm, (long)tid);
}

/* Appends r to the selection if it is selected; -1 when memory runs out. */
static int add_ent(struct sel_ent **v, size_t *n, size_t *cap, const struct hist_rec *r,
                   uint64_t idx, const struct history_sel *sel, uint64_t *base)
{
    struct proc *p;
    if (!selected(r, sel, &p))
        return 0;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        struct sel_ent *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (struct sel_ent){ r->proc, r->tid, r->start, r->dur, idx, r };
    if (r->start < *base)
        *base = r->start;
    return 0;
}

size_t history_trace(jw_t *w, const struct history_sel *sel)
{
    size_t n = 0, cap = 0;
    struct sel_ent *v = NULL;
    uint64_t base = UINT64_MAX;
    /* Oldest first: the threads' tails' samples the ring no longer holds,
     * then the ring. */
    for (struct proc *tp = qpd.procs; tp; tp = tp->next)
        for (uint32_t t = 0; t < tp->tails.n; t++) {
            const struct hist_tail *tl = tp->tails.t[t];
            uint64_t k0 = tl->head > HIST_TAIL_N ? tl->head - HIST_TAIL_N : 0;
            for (uint64_t k = k0; k < tl->head; k++) {
                unsigned j = (unsigned)(k % HIST_TAIL_N);
                if (history_held(tl->idx[j]))
                    continue;   /* the ring has it */
                if (add_ent(&v, &n, &cap, &tl->v[j], tl->idx[j], sel, &base) < 0)
                    goto full;
            }
        }
    for (unsigned k = 0; k < hist_ring.nlanes && hist_ring.cap; k++) {
        const struct hist_lane *l = &hist_ring.lane[k];
        for (uint64_t i = l->head > l->cap ? l->head - l->cap : 0; i < l->head; i++)
            if (add_ent(&v, &n, &cap, &l->v[i % l->cap], i * hist_ring.nlanes + k, sel,
                        &base) < 0)
                goto full;
    }
full:;
    /* Several lanes (drain threads): oldest first is by start. */
    if (hist_ring.nlanes > 1 && n > TRACE_MAX_EVENTS)
        qsort(v, n, sizeof *v, start_cmp);
    /* A trace must reach its reader whole (replies are bounded): keep the
     * newest TRACE_MAX_EVENTS samples. */
    size_t skipped = 0;
    if (n > TRACE_MAX_EVENTS) {
        skipped = n - TRACE_MAX_EVENTS;
        memmove(v, v + skipped, TRACE_MAX_EVENTS * sizeof *v);   /* v is oldest first */
        n = TRACE_MAX_EVENTS;
        base = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (v[i].start < base)
                base = v[i].start;
    }
    if (n)
        qsort(v, n, sizeof *v, sel_cmp);
    double real0 = real_s() - (double)mono_ns() / 1e9;

    jw_obj_begin(w);
    jw_kv_str(w, "displayTimeUnit", "ns");
    jw_key(w, "otherData");
    jw_obj_begin(w);
    jw_kv_i64(w, "qpulse", 1);
    jw_kv_str(w, "ns", qpd.cfg.ns);
    jw_kv_u64(w, "samples", n);
    jw_kv_time(w, "ts0_unix_s", n ? real0 + (double)base / 1e9 : 0.0);   /* ts 0, wall-clock */
    if (skipped) {
        jw_kv_u64(w, "older_samples_left_out", skipped);
    }
    jw_obj_end(w);
    jw_key(w, "traceEvents");
    jw_arr_begin(w);
    uint32_t last_proc = UINT32_MAX;
    int32_t last_tid = 0;
    char name[192];
    for (size_t k = 0; k < n; k++) {
        const struct hist_rec *r = v[k].r;
        struct proc *p = proc_by_hid(r->proc);
        if (!p)
            continue;
        if (r->proc != last_proc) {
            meta(w, "process_name", p->pid, 0, p->name);
            last_proc = r->proc;
            last_tid = r->tid - 1;
        }
        if (r->tid != last_tid) {
            trace_thread_name(p, r->tid, name, sizeof name);
            meta(w, "thread_name", p->pid, r->tid, name);
            last_tid = r->tid;
        }
        const struct agg_op *o = p->ops[r->op];
        snprintf(name, sizeof name, "%s.%s", o->set, o->name);
        jw_obj_begin(w);
        jw_kv_str(w, "ph", "X");
        jw_kv_str(w, "name", name);
        jw_kv_str(w, "cat", *o->group ? o->group : o->set);
        jw_kv_i64(w, "pid", p->pid);
        jw_kv_i64(w, "tid", r->tid);
        jw_kv_milli(w, "ts", r->start - base);
        jw_kv_milli(w, "dur", r->dur);
        jw_key(w, "args");
        jw_obj_begin(w);
        jw_kv_u64(w, "self_ns", r->self);
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
    free(v);
    return n;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int history_parse_request(char **w, int n, struct history_sel *sel, char *err, size_t errlen)
{
    uint64_t pid = 0, last_ms = 0;
    if (n != 2 || parse_u64(w[0], 0x7fffffff, &pid) < 0 ||
        parse_u64(w[1], 366ull * 86400 * 1000, &last_ms) < 0) {
        snprintf(err, errlen, "usage: HISTORY PID LAST_MS (0 = all)");
        return -1;
    }
    memset(sel, 0, sizeof *sel);
    sel->pid = (pid_t)pid;
    if (last_ms) {
        int64_t since = mono_ns() - (int64_t)last_ms * 1000000;
        sel->since_mono = since > 0 ? (uint64_t)since : 0;
    }
    return 0;
}

long history_dump(const char *dir, const char *what, const struct history_sel *sel, char *path,
                  size_t pathlen)
{
    jw_t w;
    jw_init(&w);
    size_t n = history_trace(&w, sel);
    jw_raw(&w, "\n", 1);
    if (w.oom) {
        jw_free(&w);
        return -ENOMEM;
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char safe[96];
    snprintf(safe, sizeof safe, "%s", what);
    for (char *c = safe; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == '_'))
            *c = '_';
    snprintf(path, pathlen, "%s/qpulse-%s-%s.trace.json", dir, safe, stamp);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    for (int k = 2; fd < 0 && errno == EEXIST && k < 100; k++) {
        snprintf(path, pathlen, "%s/qpulse-%s-%s-%d.trace.json", dir, safe, stamp, k);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd < 0) {
        int e = errno;
        jw_free(&w);
        return -e;
    }
    int e = qp_write_all(fd, w.buf, w.len);
    jw_free(&w);
    if (e < 0) {
        close(fd);
        unlink(path);
        return e;
    }
    if (close(fd) < 0)
        return -errno;
    return (long)n;
}

/* --dump-dir: the last dump of each rule (a rule may cover many ops). */
struct dump_mark {
    const qp_budget_rule_t *rule;
    int64_t at;
};
static struct dump_mark marks[64];

#define DUMP_EVERY_NS (60ll * 1000000000)

void trace_breach(const struct proc *p, const struct agg_op *o, const qp_budget_rule_t *rule)
{
    if (!qpd.cfg.dump_dir || !hist_ring.cap)
        return;
    int64_t now = mono_ns();
    struct dump_mark *m = NULL, *oldest = &marks[0];
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        if (marks[i].rule == rule) {
            m = &marks[i];
            break;
        }
        if (marks[i].at < oldest->at)
            oldest = &marks[i];
    }
    if (m && now - m->at < DUMP_EVERY_NS) {
        log_notice("budget breach of %s.%s: a trace for rule '%s' was written less than a "
                 "minute ago; not writing another", o->set, o->name, rule->text);
        return;
    }
    if (!m) {
        m = oldest;
        m->rule = rule;
    }
    m->at = now;
    struct history_sel sel = { p->pid, 0, 0 };
    int64_t since = now - (int64_t)(qpd.cfg.window + 1) * 1000000000;
    sel.since_mono = since > 0 ? (uint64_t)since : 0;
    char what[160], path[4096 + 200];
    snprintf(what, sizeof what, "%s-%ld-%s.%s", p->name, (long)p->pid, o->set, o->name);
    /* Written by a child (bg.c), which logs the file's name: the drain
     * goes on meanwhile. */
    pid_t kid = bg_fork("a breach dump", -1, NULL);
    if (kid > 0)
        return;
    long n = history_dump(qpd.cfg.dump_dir, what, &sel, path, sizeof path);
    if (n < 0)
        log_err("budget breach of %s.%s: cannot write a trace to %s: %s", o->set, o->name,
                qpd.cfg.dump_dir, strerror((int)-n));
    else
        log_warn("budget breach of %s[%ld] %s.%s: trace of its last %us (%ld samples) written "
                 "to %s", p->name, (long)p->pid, o->set, o->name, qpd.cfg.window + 1, n, path);
    if (kid == 0)
        bg_exit(n < 0, 0);
}
