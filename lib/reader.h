/*
 * reader.h — the consumer side of the segment layout: the one module every
 * reader (qpulsed, tests, tools) uses to attach to a segment and drain it.
 *
 * A segment can be truncated, corrupt, hostile or changed while being read.
 * The reader validates every header field and bounds every index and offset
 * it reads, copies what it keeps (names, tables) into its own memory, and
 * turns a SIGBUS from a segment shrunk under it into -EFAULT instead of a
 * crash.  It maps the producer's part read-only; only with QP_READER_CONSUME
 * does it map the consumer region (the ring tails) read-write.
 *
 * Not thread-safe: one thread drains one reader.
 */
#ifndef QPULSE_READER_H
#define QPULSE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct qp_reader qp_reader_t;

#define QP_READER_CONSUME 1u   /* map the tails read-write: this reader drains */

/* What the reader learnt about the process (validated, NUL-terminated). */
typedef struct qp_proc_info {
    pid_t pid;
    uid_t uid;                 /* owner of the shm object */
    uint64_t start_time;       /* /proc/<pid>/stat starttime */
    uint64_t created_realtime_ns;
    char name[64];
    char ns[64];
    char shm_name[128];
    char cmdline[256];         /* the command line at creation (minor >= 3):
                                  arguments each ending in a NUL */
    unsigned cmdline_len;      /* bytes of it; 0 when unknown */
    uint32_t clock_kind;       /* QP_CLOCK_* */
    double ns_per_tick;        /* the reader's calibration (1 for monotonic) */
    uint16_t major, minor;
    uint32_t slot_count;
    uint32_t ring_records;
} qp_proc_info_t;

/* One operation, copied out of the segment. */
typedef struct qp_op_info {
    const char *set;
    const char *name;
    const char *group;
    const char *description;
    int priority;
    uint32_t set_index;
} qp_op_info_t;

/* One sample, converted to nanoseconds. */
typedef struct qp_event {
    uint32_t op;               /* index into the reader's op table */
    uint32_t parent;           /* parent op index + 1; 0 = none */
    uint64_t start_ns;         /* CLOCK_MONOTONIC ns (approximate for TSC) */
    uint64_t dur_ns;
    uint64_t self_ns;
    int32_t tid;               /* the recording thread (its ring's owner) */
    uint32_t reserved;
} qp_event_t;

/* Drain callback: n events at a time (n <= QP_READER_BATCH). */
typedef void (*qp_event_fn)(void *ctx, const qp_event_t *ev, size_t n);
#define QP_READER_BATCH 256

/* Opens the shm object `name` ("/qpulse...."), validates it, and maps it.
 * On failure returns -errno (-EBADMSG: malformed; -EPROTO: unknown major;
 * -EPERM: wrong owner) and writes a one-line reason into err. */
int qp_reader_open(qp_reader_t **out, const char *name, unsigned flags,
                   char *err, size_t errlen);
void qp_reader_close(qp_reader_t *r);

const qp_proc_info_t *qp_reader_info(const qp_reader_t *r);

/* Re-reads the set/op tables when they grew.  0, or -EBADMSG/-EFAULT. */
int qp_reader_refresh(qp_reader_t *r, char *err, size_t errlen);
uint32_t qp_reader_nops(const qp_reader_t *r);
const qp_op_info_t *qp_reader_op(const qp_reader_t *r, uint32_t op);

/* Drains up to max samples from every ring into fn, advancing the tails
 * (needs QP_READER_CONSUME).  Returns the number drained, or -EFAULT when
 * the segment vanished or shrank under the reader (nothing is lost that was
 * not already unreadable), -EBADMSG when an index is out of range.
 * Samples naming an op outside the table are counted in qp_reader_invalid()
 * and not passed on. */
long qp_reader_drain(qp_reader_t *r, qp_event_fn fn, void *ctx, size_t max);

/* Samples published and not yet drained, over all rings (a backlog gauge). */
uint64_t qp_reader_pending(qp_reader_t *r);
/* Highest fill of any ring, 0..1: lets the caller drain sooner. */
double qp_reader_max_fill(qp_reader_t *r);

/* Producer-side counters, read fresh each call. */
uint64_t qp_reader_dropped(qp_reader_t *r);      /* full rings + no slot + errors */
uint64_t qp_reader_invalid(const qp_reader_t *r); /* rejected by this reader */
/* The samples of each of the operations 0 .. n-1 that the producer dropped
 * (n at most qp_reader_nops(); zeros from a producer that does not count
 * them) into out.  A drop of a sample whose set was never bound has no
 * operation: it counts in qp_reader_dropped() only.  0, or -EFAULT. */
int qp_reader_op_dropped(qp_reader_t *r, uint64_t *out, uint32_t n);
uint64_t qp_reader_drained(const qp_reader_t *r); /* passed to fn so far */
/* Samples whose end came before their start (TSCs of the host's CPUs not in
 * step): passed on with a zero duration, and counted here. */
uint64_t qp_reader_clamped(const qp_reader_t *r);

/* This process's calibration of the TSC, ns per tick (measured once, in
 * 5 ms, at first use; refined as time passes).  Producers do not
 * calibrate: the reader converts their ticks with this. */
double qp_reader_tsc_ns_per_tick(void);
/* Records consumed from every ring so far, by this reader and by the
 * readers before it (the sum of the consumer region's tails). */
uint64_t qp_reader_consumed(const qp_reader_t *r);
int qp_reader_exited(qp_reader_t *r);            /* producer ran its exit path */
/* Threads holding a slot now. */
uint32_t qp_reader_threads(qp_reader_t *r);

/* Marks the segment as watched by daemon pid (consumer region), so that the
 * producer leaves it for the daemon at exit.  Needs QP_READER_CONSUME.
 * 0, or -EFAULT when the segment shrank under the reader. */
int qp_reader_set_daemon(qp_reader_t *r, pid_t pid);

#endif /* QPULSE_READER_H */
