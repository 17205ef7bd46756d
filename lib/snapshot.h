/*
 * snapshot.h — a qpulsed snapshot in memory, and its one JSON reader.
 *
 * The JSON is the one documented in docs/PROTOCOL.md (the
 * `qptop -b --format json` object plus extra fields).  qptop, `qpulse check`
 * and the tests all read snapshots through qp_snapshot_parse(); nobody
 * else walks the JSON.  Unknown fields are ignored; missing optional fields
 * read as 0/NULL; a missing required field or a wrong type is an error that
 * names the field.
 */
#ifndef QPULSE_SNAPSHOT_H
#define QPULSE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct qp_snap_child {
    char *set, *op;
    uint64_t count;
    uint64_t total_ns;          /* time the child took inside this op */
} qp_snap_child_t;

/* One thread's samples of an op, as the flight recorder holds them. */
typedef struct qp_snap_thread {
    long tid;
    char *name;                 /* "comm (tid N)" */
    uint64_t count, total_ns, max_ns;
} qp_snap_thread_t;

typedef struct qp_snap_bucket {
    uint64_t lo_ns, hi_ns;      /* [lo, hi) */
    uint64_t count;
} qp_snap_bucket_t;

typedef struct qp_snap_budget {
    char *rule;                 /* the rule as written, e.g. "trading.* p99 < 1ms" */
    char *stat;                 /* mean p50 p90 p99 p999 max */
    double limit_ns, actual_ns;
    int broken;
} qp_snap_budget_t;

/* One sample inside a slowest sample, and what ran inside it in turn. */
typedef struct qp_snap_span {
    char *set, *op;
    uint64_t offset_ns;         /* start after the slowest sample's parent's start */
    uint64_t dur_ns, self_ns;
    struct qp_snap_span *children; size_t nchildren;   /* in order of start */
} qp_snap_span_t;

/* One of an operation's slowest samples. */
typedef struct qp_snap_slow {
    double time;                /* its start, Unix seconds */
    long tid;
    uint64_t dur_ns, self_ns;
    int truncated;              /* more ran inside than the daemon kept */
    qp_snap_span_t *children; size_t nchildren;
} qp_snap_slow_t;

#define QP_SNAP_SPAN_DEPTH 600  /* deeper nesting is refused */

typedef struct qp_snap_op {
    char *set, *op, *group, *description;
    int priority;
    uint64_t count;
    double rate_per_s, mean_ns, stddev_ns;
    uint64_t min_ns, max_ns, p50_ns, p90_ns, p99_ns, p999_ns;
    uint64_t total_ns, self_ns;
    uint64_t p99_prev_ns;       /* p99 of the previous window, 0 = unknown */
    uint64_t dropped;           /* its samples the process dropped (0 if not said) */
    qp_snap_child_t *children; size_t nchildren;
    qp_snap_bucket_t *hist; size_t nhist;      /* only when asked for */
    qp_snap_budget_t *budgets; size_t nbudgets;
    qp_snap_slow_t *slowest; size_t nslowest;  /* slowest first */
    /* Only when asked for (SNAPSHOT ... threads): the flight recorder's
     * samples of the op per thread, busiest first, since threads_from
     * (realtime seconds; 0 = the recorder holds nothing); threads_other:
     * samples of threads beyond the list. */
    qp_snap_thread_t *threads; size_t nthreads;
    uint64_t threads_other;
    double threads_from;
} qp_snap_op_t;

typedef struct qp_snap_proc {
    long pid;
    char *name;
    char **cmdline; size_t ncmdline;    /* its arguments, as /proc shows them; may be none */
    int alive;
    uint64_t dropped;
    uint64_t lost;              /* consumed by an earlier daemon, not saved */
    double cpu_pct;             /* -1 when unknown */
    uint64_t rss_bytes;
    uint32_t threads;
    double started_at;          /* realtime seconds */
    double exited_at;           /* realtime seconds, 0 while alive */
    qp_snap_op_t *ops; size_t nops;
} qp_snap_proc_t;

/* A segment of the namespace the daemon does not read, and why. */
typedef struct qp_snap_skip {
    long pid;                   /* 0 when unknown */
    char *name;                 /* the program, "" when unknown */
    char *segment;
    char *reason;
} qp_snap_skip_t;

typedef struct qp_snapshot {
    int version;                /* "qpulse": 1 */
    double time;                /* realtime seconds */
    double window_s;            /* 0 when cumulative (JSON null) */
    int cumulative;
    char *ns;
    long daemon_pid;
    double samples_per_s;       /* aggregated by the daemon, over all processes */
    uint64_t dropped_total;
    qp_snap_proc_t *procs; size_t nprocs;
    qp_snap_skip_t *skipped; size_t nskipped;   /* may be none */
} qp_snapshot_t;

/* Parses one snapshot object.  NULL on error, with "field: what was wrong"
 * in err. */
qp_snapshot_t *qp_snapshot_parse(const char *json, size_t len, char *err, size_t errlen);
/* The same for a reply that carries a snapshot's top-level fields without
 * "processes" (VIEW: docs/PROTOCOL.md); nprocs is 0 when absent. */
qp_snapshot_t *qp_snapshot_parse_head(const char *json, size_t len, char *err, size_t errlen);
/* Reads a whole file into a malloc'd, NUL-terminated *out, at most 256 MiB
 * (-EFBIG beyond: --input /dev/zero must not eat the memory).  0 or -errno. */
int qp_snapshot_read(const char *path, char **out, size_t *outlen);
/* Reads a file holding one snapshot (the first line, or the whole file). */
qp_snapshot_t *qp_snapshot_load(const char *path, char *err, size_t errlen);
void qp_snapshot_free(qp_snapshot_t *s);

/* The value of one stat of an op, in ns; stat is a qp_stat_t of budget.h
 * (mean p50 p90 p99 p999 max).  -1 for an unknown stat. */
double qp_snap_op_stat(const qp_snap_op_t *op, int stat);

#endif /* QPULSE_SNAPSHOT_H */
