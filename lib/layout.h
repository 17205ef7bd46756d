/*
 * layout.h — the one definition of qpulse's per-process shared-memory segment.
 *
 * Writer: lib/record.c (the instrumented process).  Reader: lib/reader.c (the
 * daemon, tests, tools).  Nobody else reads or writes these structs.
 *
 * A segment is one POSIX shm object named /qpulse.<ns>.<pid>.<starttime>,
 * mode 0600, laid out as (every region page-aligned where noted):
 *
 *   [0]              struct qp_seg_header          (QP_HEADER_SIZE bytes)
 *   [consumer_off]   struct qp_consumer + tails    (page-aligned; the ONLY
 *                                                   region a reader writes)
 *   [slots_off]      struct qp_slot[slot_count]    (producer-owned indices)
 *   [sets_off]       struct qp_set_entry[sets_cap]
 *   [ops_off]        struct qp_op_entry[ops_cap]
 *   [strings_off]    char[strings_cap]             (NUL-terminated strings)
 *   [op_dropped_off] uint64_t[ops_cap]             (drops per operation; minor >= 1)
 *   [rings_off]      struct qp_sample[ring_records] x slot_count (page-aligned)
 *
 * (The writer chooses the order; a reader goes by the offsets.)  The tables
 * and rings are reserved as they fill, so a large capacity costs nothing
 * until it is used.
 *
 * Rules: offsets, never pointers; the header starts
 * with magic, major/minor version, header size and word size; structs are
 * append-only (new fields at the end, in the reserved space); a reader
 * refuses a major version it does not know and bounds every offset, index and
 * count it reads, because the writer may be buggy, dead or hostile.
 *
 * Concurrency: each ring has exactly one producer (the thread that claimed the
 * slot) and one consumer (the daemon).  The producer writes a record and then
 * publishes it with a release store of slot.head; the consumer acquire-loads
 * head, copies the records, and then release-stores its tail; the producer
 * acquire-loads the tail only when its cached copy says the ring is full.
 * A producer killed mid-write never published the half-written record.
 */
#ifndef QPULSE_LAYOUT_H
#define QPULSE_LAYOUT_H

#include <stdint.h>

#include "qpulse.h"

#define QP_MAGIC 0x31534c5550515f51ull   /* "Q_QPULS1" little-endian */
/* 2: sample times are raw ticks that the reader converts with its own
 * calibration (ns_per_tick is 0 from the producer); tables of up to 4096
 * sets, 131072 operations and 16 MiB of strings. */
#define QP_LAYOUT_MAJOR 2u
/* Minor 1: op_dropped_off, the samples dropped per operation (a minor-0
 * segment has 0 there: only the process-wide counters).
 * Minor 2: slots_used, a bit for every slot a thread ever claimed, so a
 * reader looks at those slots only (a minor-1 segment: every slot).
 * Minor 3: cmdline, the command line at creation, for a process that exits
 * before a reader can look at /proc/<pid>/cmdline. */
#define QP_LAYOUT_MINOR 3u
#define QP_HEADER_SIZE 4096u
#define QP_CACHELINE 64u
#define QP_PAGE 4096u

#define QP_NAME_MAX 64          /* process name, namespace name (with NUL) */
#define QP_CMDLINE_MAX 256      /* command line kept in the header */
#define QP_NS_MAX 48            /* longest namespace name (without NUL) */
#define QP_SHM_PREFIX "/qpulse."

/* Default sizes; QPULSE_THREADS and QPULSE_RING_RECORDS override them. */
#define QP_DEFAULT_SLOTS 64u
#define QP_DEFAULT_RING_RECORDS 65536u     /* 2 MiB a thread, touched lazily */
#define QP_MAX_SLOTS 4096u
#define QP_MIN_RING_RECORDS 64u
#define QP_MAX_RING_RECORDS (1u << 24)
#define QP_SETS_CAP 4096u
#define QP_OPS_CAP 131072u
#define QP_STRINGS_CAP (16u << 20)

/* clock_kind */
#define QP_CLOCK_TSC 1u          /* invariant TSC; the reader finds ns per tick */
#define QP_CLOCK_MONOTONIC 2u    /* CLOCK_MONOTONIC nanoseconds; ns_per_tick = 1 */

/* state */
#define QP_STATE_ALIVE 1u
#define QP_STATE_EXITED 2u       /* the process ran its exit path */

/* slot state */
#define QP_SLOT_FREE 0u
#define QP_SLOT_CLAIMED 1u

typedef struct qpulse__sample qp_sample_t;   /* 32 bytes, see qpulse.h */

struct qp_seg_header {
    uint64_t magic;               /* QP_MAGIC */
    uint16_t major;               /* QP_LAYOUT_MAJOR: readers refuse others */
    uint16_t minor;               /* QP_LAYOUT_MINOR: readers accept any */
    uint32_t header_size;         /* QP_HEADER_SIZE */
    uint32_t word_size;           /* sizeof(void *) of the producer */
    uint32_t sample_size;         /* sizeof(qp_sample_t) */
    uint64_t total_size;          /* bytes in the segment */

    /* Identity: pid + start time tell a reused pid apart. */
    int32_t pid;
    uint32_t uid;
    uint64_t start_time;          /* /proc/<pid>/stat field 22 (clock ticks) */
    uint64_t created_realtime_ns; /* CLOCK_REALTIME at creation */
    char name[QP_NAME_MAX];       /* program name (comm), NUL-terminated */
    char ns[QP_NAME_MAX];         /* namespace, NUL-terminated */

    /* Clock: ns = (ticks - tick_ref) * ns_per_tick + mono_ref_ns, where
     * (tick_ref, mono_ref_ns) is a pair the producer read at creation and
     * ns_per_tick is the reader's own calibration of the TSC (the field is
     * 0: producers do not calibrate; 1 for CLOCK_MONOTONIC). */
    uint32_t clock_kind;          /* QP_CLOCK_* */
    uint32_t reserved0;
    double ns_per_tick;
    uint64_t tick_ref;
    uint64_t mono_ref_ns;

    /* Tables.  The *_count fields grow while the process runs; a writer fills
     * entries and strings first, then release-stores the count (pairs with
     * the acquire load in qp_reader_refresh()). */
    uint64_t sets_off;
    uint32_t sets_cap;
    uint32_t sets_count;          /* atomic */
    uint64_t ops_off;
    uint32_t ops_cap;
    uint32_t ops_count;           /* atomic */
    uint64_t strings_off;
    uint32_t strings_cap;
    uint32_t strings_used;

    uint64_t consumer_off;        /* page-aligned */
    uint64_t consumer_size;       /* page multiple */
    uint64_t slots_off;
    uint32_t slot_count;
    uint32_t slot_size;           /* sizeof(struct qp_slot) */
    uint64_t rings_off;           /* page-aligned */
    uint32_t ring_records;        /* power of two */
    uint32_t reserved1;

    uint32_t state;               /* atomic: QP_STATE_* */
    int32_t exit_code;
    uint64_t dropped_noslot;      /* atomic: samples dropped for want of a slot */
    uint64_t dropped_error;       /* atomic: samples dropped for other reasons */
    uint64_t recorded;            /* atomic, updated at slot release/exit */

    /* Minor >= 1.  Samples dropped per operation (uint64_t each, atomic,
     * indexed like the op table, reserved with it): every drop of a sample
     * whose operation is in the table (full ring, no slot, a push that
     * interrupted another) is counted here as well as in the slot or
     * process counter above.  0: not kept. */
    uint64_t op_dropped_off;

    /* Minor >= 2.  Bit i set (atomic or, when a thread claims slot i, before
     * it publishes a record there) once slot i has ever been claimed; never
     * cleared.  A reader polls only these slots: a process of 2 threads
     * costs it 2 slots, not QP_DEFAULT_SLOTS. */
    uint64_t slots_used[QP_MAX_SLOTS / 64];

    /* Minor >= 3.  /proc/<pid>/cmdline as it was when the segment was
     * created (arguments each ending in a NUL, cut short at QP_CMDLINE_MAX),
     * cmdline_len bytes of it; 0: unknown.  Written before the segment is
     * published, never changed. */
    uint32_t cmdline_len;
    char cmdline[QP_CMDLINE_MAX];

    uint8_t reserved[2804];       /* room to grow; zero */
};

/* One operation set. */
struct qp_set_entry {
    uint32_t name_off;            /* into the strings region */
    uint32_t first_op;            /* index of its operation 0 in the op table */
    uint32_t nops;
    uint32_t reserved;
};

/* One operation.  Indexed by qp_sample.op (without QPULSE__NS). */
struct qp_op_entry {
    uint32_t set;                 /* index into the set table */
    uint32_t name_off;
    uint32_t group_off;
    uint32_t desc_off;
    int32_t priority;
    uint32_t reserved;
};

/* A thread slot: producer-owned, one cache-line pair so that two producers
 * never share a line (adjacent-line prefetch pairs lines). */
struct qp_slot {
    uint64_t head;                /* atomic: records published (monotonic) */
    uint64_t dropped;             /* atomic: records dropped, ring full */
    uint32_t state;               /* atomic: QP_SLOT_* */
    int32_t tid;                  /* current or last owner */
    uint64_t claims;              /* how many threads have owned it */
    uint64_t reserved;            /* producer-private: ring records backed
                                     by fallocate so far */
    uint8_t pad[2 * QP_CACHELINE - 40];
};

/* The consumer region: written only by the daemon. */
struct qp_consumer {
    int32_t daemon_pid;           /* atomic: attached daemon, 0 = none */
    uint32_t reserved0;
    uint64_t attach_count;
    uint8_t pad[2 * QP_CACHELINE - 16];
    /* followed by slot_count struct qp_tail */
};

struct qp_tail {
    uint64_t tail;                /* atomic: records consumed */
    uint8_t pad[2 * QP_CACHELINE - 8];
};

/* The daemon's presence record, shm object "/qpulse.<ns>.daemon" (0600),
 * written by qpulsed at start.  A producer reads it at exit: when the daemon
 * it names is alive, the segment is left for the daemon to drain and remove;
 * otherwise the producer removes it itself. */
#define QP_DAEMON_MAGIC 0x4e4d454144505151ull   /* "QQPDAEMN" */
struct qp_daemon_rec {
    uint64_t magic;               /* QP_DAEMON_MAGIC, stored last */
    int32_t pid;
    uint32_t reserved;
    uint64_t start_time;          /* /proc/<pid>/stat starttime */
};

_Static_assert(sizeof(struct qp_seg_header) <= QP_HEADER_SIZE, "header fits its page");
_Static_assert(sizeof(qp_sample_t) == 32, "sample is 32 bytes");
_Static_assert(sizeof(struct qp_slot) == 128, "slot is two cache lines");
_Static_assert(sizeof(struct qp_consumer) == 128, "consumer head is two lines");
_Static_assert(sizeof(struct qp_tail) == 128, "tail is two cache lines");

#endif /* QPULSE_LAYOUT_H */
