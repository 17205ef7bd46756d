/*
 * qpulsed.h — the collector daemon's shared state and its modules:
 *
 *   main.c    options, start-up, the one poll loop, signals, shutdown
 *   procs.c   the process table: attach, close, compact, retain, forget, reset
 *   discover.c finding segments (inotify, rescans, pending and skipped names)
 *   drain.c   draining them into agg.c, the recorder and slowest samples
 *   procstat.c /proc usage; tick.c the once-a-second tick (exits, budgets)
 *   agg.c     per-operation statistics and the sliding window
 *   render.c  the snapshot JSON of docs/PROTOCOL.md
 *   server.c  the local socket (PING, SNAPSHOT, VIEW, HISTORY, RESET)
 *   view.c    VIEW: qptop's table built, sorted and paged in the daemon
 *   prom.c    the Prometheus endpoint (--listen), on libmicrohttpd's thread
 *   prom_fmt.c the three Prometheus pages; prom_native.c native buckets
 *   budgets.c budget rules: evaluation and breach logging
 *   access.c  system mode: whose processes a client sees and may reset
 *   state.c   --state: the state file's format, saving and loading
 *   restart.c --state at start-up and exit: what survives, what is `lost`
 *   log.c     the log (stderr, a file, or syslog); jw.c the output buffer
 *   history.c the flight recorder (--history-mb)
 *   trace.c   the recorder as Trace Event Format (HISTORY, --dump-dir)
 *   slowest.c the slowest samples of each op, with what ran inside them
 *
 * Everything runs on the main thread except prom.c's handler, which takes
 * qpd.lock, and the drain threads (--threads, drain.c), which the main
 * thread runs fork-join while it holds qpd.lock; the main loop holds
 * qpd.lock while it changes the process table or the statistics.
 */
#ifndef QPULSED_H
#define QPULSED_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "agg.h"
#include "history.h"
#include "budget.h"
#include "jw.h"
#include "reader.h"

struct proc {
    struct proc *next;
    qp_reader_t *r;             /* NULL once the segment is closed */
    char shm_name[128];
    pid_t pid;
    uid_t uid;                  /* the user the process belongs to */
    uint64_t start_time;        /* /proc starttime of the producer */
    char name[64];
    char cmdline[256];          /* /proc/PID/cmdline: NUL-separated, cut short */
    unsigned cmdline_len;       /* bytes of it; 0 when unknown */
    int alive;
    int compacted;              /* exited, statistics compacted (procs.c):
                                   1 in place, 2 all in one block with
                                   this structure */
    double started_at;          /* realtime seconds */
    double exited_at;           /* realtime seconds; 0 while alive */
    int64_t seen_mono;          /* when first seen or reset (ns) */
    int64_t exit_mono;          /* when found exited (ns) */
    uint64_t dropped_base;      /* not-aggregated count at the last RESET */
    uint64_t dropped_last;      /* last known producer drops + reader invalid */
    uint64_t lost;              /* samples this daemon could not count */
    uint64_t lost_prev;         /* "lost": consumed by an earlier daemon whose
                                   statistics did not survive (state.c) */
    uint64_t consumed_base;     /* records consumed before this daemon
                                   attached (all counted or lost) */
    uint64_t dropped_prev;      /* invalid/uncounted samples of earlier
                                   daemons (from the state file) */
    int saved;                  /* loaded from --state, not yet matched to
                                   its segment (restart.c) */
    uint64_t saved_consumed;    /* records consumed when it was saved */
    double saved_seen;          /* seen_mono as Unix seconds */
    uint32_t threads;
    double cpu_pct;             /* -1 when unknown */
    uint64_t rss_bytes;
    uint64_t cpu_ticks;         /* utime + stime at the last /proc read */
    int64_t cpu_mono;           /* when they were read (ns) */
    struct agg_op **ops;        /* by op index; NULL where no sample yet */
    uint32_t nops;
    uint32_t hid;               /* its id in the flight recorder */
    struct hist_tails tails;    /* its threads' last samples (history.h) */
    /* Samples dropped per operation, by op index, as the producer counts
     * them (op_drop) and at the last RESET (op_drop_base); read when the
     * process's own count of drops moves, and at its end. */
    uint64_t *op_drop, *op_drop_base;
    uint32_t nop_drop;
    uint64_t op_drop_seen;      /* qp_reader_dropped() at that read */
    /* Left by a drain thread for the main thread (drain.c): the segment
     * turned unreadable (-errno), or was found EXITED and drained to its end. */
    long drain_err;
    int drain_exited;
};

/* Samples of op i of p dropped since it started or the last RESET. */
static inline uint64_t proc_op_dropped(const struct proc *p, uint32_t i)
{
    if (i >= p->nop_drop || p->op_drop[i] < p->op_drop_base[i])
        return 0;
    return p->op_drop[i] - p->op_drop_base[i];
}

struct qpd_config {
    const char *ns;
    const char *listen;         /* HOST:PORT or NULL */
    unsigned window;            /* seconds */
    unsigned retain;            /* seconds */
    unsigned retain_max;        /* exited processes kept at most */
    const char *budgets_path;
    const char *log_file;
    const char *pidfile;
    const char *state;          /* --state as given, NULL: the default */
    int verbose;
    int daemonize;
    unsigned history_mb;        /* flight recorder bound */
    unsigned slowest;           /* K slowest samples kept per op and second */
    const char *dump_dir;       /* where a budget breach writes a trace */
    unsigned threads;           /* drain threads (--threads) */
};

struct qpd {
    struct qpd_config cfg;
    pthread_mutex_t lock;       /* see the top of this file */
    struct proc *procs;
    unsigned nprocs;
    qp_budgets_t *budgets;
    char shm_prefix[96];        /* "qpulse.<ns>." */
    int64_t start_mono;
    uint64_t aggregated;        /* samples aggregated since start */
    uint64_t rate_base;         /* aggregated at the last rate update */
    int64_t rate_mono;
    double samples_per_s;
    uint64_t dropped_gone;      /* drops of processes no longer listed */
    unsigned nopen;             /* segments attached now */
    int drain_now;              /* a segment was just attached */
    int system;                 /* system mode: running as root */
    uid_t view_uid;             /* whose processes the request being served
                                   sees: (uid_t)-1 all (access.c) */
    const char *state_path;     /* --state, NULL when off */
    uint32_t next_hid;          /* last struct proc.hid handed out */
    uint64_t proc_gen;          /* bumped whenever a struct proc is freed */
    uint64_t forgotten;         /* exited processes forgotten early for
                                   --retain-max */
};

extern struct qpd qpd;

int64_t mono_ns(void);
double real_s(void);

/* procs.c, discover.c, drain.c, tick.c (procs.h: among themselves) */
int procs_init(void);
void procs_fini(void);
/* inotify fd to poll, or -1. */
int procs_inotify_fd(void);
void procs_inotify_read(void);
/* Drains every open segment; returns the highest ring fill seen (0..1). */
double procs_drain_all(void);
void procs_rescan(void);
void procs_retry_pending(void);
/* Segments waiting to be initialised by their producer. */
unsigned procs_pending(void);
/* When procs_retry_pending() is next due (monotonic ns), INT64_MAX when
 * nothing is pending: every 1 ms while a segment is new, so that a process
 * is attached within milliseconds of its first sample. */
int64_t procs_pending_due(void);
/* Once a second: /proc stats, exits and deaths, retention, window p99. */
void procs_tick_second(void);
/* drain.c: starts the n - 1 drain threads beside the main one (0 or
 * -errno), and stops them. */
#define DRAIN_THREADS_MAX 64
int drain_start(unsigned n);
void drain_stop(void);
/* Final drain at shutdown; removes the segments of exited processes. */
void procs_shutdown(void);
void procs_reset(void);
/* The skipped segments the client being served may see, as a JSON array
 * of {pid, name, segment, owner_uid, reason}. */
void procs_render_skipped(jw_t *w);

/* access.c */
/* The user process `in` belongs to: the segment's owner, or for a root
 * segment (a server that dropped privileges) the process's real uid. */
uid_t access_proc_uid(const qp_proc_info_t *in);
/* Whether the client being served (qpd.view_uid) sees p. */
int access_visible(const struct proc *p);
/* Sets qpd.view_uid for a client of uid peer. */
void access_begin(uid_t peer);
void access_end(void);
/* Whether a client of uid peer may connect at all. */
int access_peer_allowed(uid_t peer);

/* render.c */
/* Appends the snapshot JSON (one line, no newline) to w. */
void render_snapshot(jw_t *w, int cumulative, int with_hist);
/* Only some of it: the processes sel->proc keeps, and of them the ops
 * sel->op keeps (the detail of one qptop row). */
struct render_sel {
    int (*proc)(const struct proc *p, void *arg);
    int (*op)(const struct agg_op *o, void *arg);
    void *arg;
    int threads;        /* each op's samples per thread, from the recorder */
};
/* trace.c: "comm (tid N)" of thread tid of p, or "name tid N". */
void trace_thread_name(const struct proc *p, int32_t tid, char *buf, size_t len);
void render_snapshot_sel(jw_t *w, int cumulative, int with_hist, const struct render_sel *sel);
/* The snapshot's keys before "processes" (inside an open object). */
void render_snapshot_head(jw_t *w, int cumulative);
/* Seconds the statistics of p cover, for rate_per_s. */
double render_proc_span(const struct proc *p, int64_t now, int cumulative);

/* view.c: the VIEW request (qptop's table, sorted, filtered and paged by
 * the daemon) and the selection of a filtered SNAPSHOT. */
struct view_req;
/* Parses the words after "VIEW"; 0, or -1 with a message in err. */
int view_parse(char **words, int n, struct view_req **out, char *err, size_t errlen);
void view_render(jw_t *w, const struct view_req *req);
void view_req_free(struct view_req *req);
/* Parses SNAPSHOT's selection words (pid=, name=, set=, op=); 0 or -1. */
int view_sel_parse(char **words, int n, struct render_sel *sel, char *err, size_t errlen);
void view_sel_free(struct render_sel *sel);

/* server.c */
int server_init(void);
void server_fini(void);
/* Adds the server's fds to the poll set; returns how many were added. */
struct pollfd;
int server_pollfds(struct pollfd *pfd, int max);
void server_handle(struct pollfd *pfd, int n);
/* The earliest client deadline (ns) or INT64_MAX. */
int64_t server_next_deadline(void);
void server_expire(void);

/* prom.c */
/* Checks a --listen HOST:PORT (syntax, port range, the host resolves). */
int prom_check_listen(const char *listen, char *err, size_t errlen);
int prom_start(const char *listen, char *err, size_t errlen);
void prom_stop(void);

/* budgets.c */
/* The rules that apply to op o (cached). */
void budgets_match(struct agg_op *o);
/* Once a tick: evaluates the window stats st (ending with second sec) of op
 * o of process p, keeps the state in o for the views, logs changes. */
void budgets_check(const struct proc *p, struct agg_op *o, const struct agg_stats *st,
                   int64_t sec);
/* trace.c: --dump-dir, rule r broke for op o of p: write the recent
 * history of p to a trace file (at most one a minute per rule). */
void trace_breach(const struct proc *p, const struct agg_op *o, const qp_budget_rule_t *r);

/* A rule that applies to an op, and its state. */
struct budget_state {
    const qp_budget_rule_t *rule;
    double actual;          /* the value of its stat (ns) */
    int broken;
};
/* The rules of op o in stat order, with their state, into out; returns how
 * many.  With st, evaluated over st (the tick's window, a cumulative view):
 * broken when st has samples and qp_budget_broken() says so, the one breach
 * test.  Without (NULL), the window's state as the last tick found it, which
 * the log reported: the snapshot and the VIEW rows of the window. */
unsigned budgets_states(const struct agg_op *o, const struct agg_stats *st,
                        struct budget_state out[QP_STAT_COUNT_]);

#endif /* QPULSED_H */
