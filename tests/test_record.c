/*
 * test_record.c — the recording library and the segment reader, end to end
 * in one process: what the macros write is what the reader drains.
 *
 * Each test runs in its own process (Criterion forks) with its own
 * namespace, so segments never collide.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "qpulse.h"
#include "reader.h"
#include "testutil.h"

#define TOPS(X)                                                    \
    X(Outer, "g1", "the outer operation", 1)                       \
    X(Inner, "g2", "nested inside Outer", 2)                       \
    X(Leaf, "g2", "nested inside Inner", 3)

QPULSE_DECLARE_SET(tset, TOPS)
QPULSE_DEFINE_SET(tset, TOPS)

#define OTHER(X) X(Alpha, "other\n", "a second \033[31mset", 5)
QPULSE_DECLARE_SET(tother, OTHER)
QPULSE_DEFINE_SET(tother, OTHER)

/* Collected events, by op name. */
typedef struct {
    qp_reader_t *r;
    size_t n;
    qp_event_t ev[200000];
} sink_t;

static sink_t *sink;

static void collect(void *ctx, const qp_event_t *ev, size_t n)
{
    sink_t *s = ctx;
    for (size_t i = 0; i < n && s->n < sizeof s->ev / sizeof s->ev[0]; i++)
        s->ev[s->n++] = ev[i];
}

static char ns_buf[64];

static void setup(void)
{
    tu_worker_ns(ns_buf, sizeof ns_buf, "t-rec");
    setenv("QPULSE_NS", ns_buf, 1);
    sink = calloc(1, sizeof *sink);
}

static void teardown(void)
{
    if (sink && sink->r)
        qp_reader_close(sink->r);
    free(sink);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "qpulse.%s.", ns_buf);
    tu_unlink_shm(prefix);
}

TU_SWEEP_SHM("t-rec")

static qp_reader_t *open_self(void)
{
    char name[128], err[256] = "";
    qp_seg_name(name, sizeof name, ns_buf, getpid(), qp_proc_starttime(getpid()), 0);
    qp_reader_t *r = NULL;
    int rc = qp_reader_open(&r, name, QP_READER_CONSUME, err, sizeof err);
    cr_assert_eq(rc, 0, "qp_reader_open(%s): %d %s", name, rc, err);
    sink->r = r;
    return r;
}

static const char *opname(uint32_t op)
{
    const qp_op_info_t *o = qp_reader_op(sink->r, op);
    return o ? o->name : "?";
}

static size_t count_op(const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < sink->n; i++)
        c += !strcmp(opname(sink->ev[i].op), name);
    return c;
}

TestSuite(record, .init = setup, .fini = teardown);

Test(record, no_segment_before_first_sample)
{
    char name[128], err[128];
    qp_seg_name(name, sizeof name, ns_buf, getpid(), qp_proc_starttime(getpid()), 0);
    qp_reader_t *r = NULL;
    cr_assert_eq(qp_reader_open(&r, name, 0, err, sizeof err), -ENOENT,
                 "a program that recorded nothing has no segment");
}

Test(record, tables_describe_the_sets)
{
    /* A set enters the tables with its first sample. */
    QPULSE_RECORD(tset, Outer, 5);
    QPULSE_RECORD(tother, Alpha, 5);
    qp_reader_t *r = open_self();
    cr_assert_eq(qp_reader_nops(r), 4, "3 ops of tset + 1 of tother, got %u", qp_reader_nops(r));
    int seen = 0;
    for (uint32_t i = 0; i < qp_reader_nops(r); i++) {
        const qp_op_info_t *o = qp_reader_op(r, i);
        if (!strcmp(o->name, "Inner")) {
            cr_assert_str_eq(o->set, "tset");
            cr_assert_str_eq(o->group, "g2");
            cr_assert_str_eq(o->description, "nested inside Outer");
            cr_assert_eq(o->priority, 2);
            seen++;
        }
        if (!strcmp(o->name, "Alpha")) {
            cr_assert_str_eq(o->set, "tother");
            cr_assert_eq(o->priority, 5);
            cr_assert_str_eq(o->group, "other?", "control characters are not passed on");
            cr_assert_str_eq(o->description, "a second ?[31mset");
            seen++;
        }
    }
    cr_assert_eq(seen, 2, "both sets are in the table");
    const qp_proc_info_t *in = qp_reader_info(r);
    cr_assert_eq(in->pid, getpid());
    cr_assert_str_eq(in->ns, ns_buf);
}

Test(record, record_ns_is_exact)
{
    for (int i = 1; i <= 1000; i++)
        QPULSE_RECORD(tset, Leaf, (uint64_t)i * 1000);
    qp_reader_t *r = open_self();
    long n = qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(n, 1000, "drained %ld", n);
    uint64_t sum = 0;
    for (size_t i = 0; i < sink->n; i++) {
        cr_assert_str_eq(opname(sink->ev[i].op), "Leaf");
        sum += sink->ev[i].dur_ns;
    }
    cr_assert_eq(sum, 1000ull * 1001 / 2 * 1000, "durations are passed through exactly");
    cr_assert_eq(qpulse_recorded(), 1000);
    cr_assert_eq(qpulse_dropped(), 0);
}

static int work(int x)
{
    QPULSE_SCOPE(tset, Inner);
    tu_spin_ns(200000);
    {
        QPULSE_SCOPE(tset, Leaf);
        tu_spin_ns(100000);
    }
    return x * 2;
}

Test(record, nesting_gives_parent_and_self_time)
{
    int v;
    {
        QPULSE_SCOPE(tset, Outer);
        tu_spin_ns(300000);
        v = QPULSE_PROFILE(tset, Inner, work(21));
    }
    cr_assert_eq(v, 42, "QPULSE_PROFILE yields the value");
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    /* Leaf, Inner(work), Inner(PROFILE), Outer */
    cr_assert_eq(sink->n, 4, "4 samples, got %zu", sink->n);
    const qp_event_t *leaf = &sink->ev[0], *inner = &sink->ev[1], *prof = &sink->ev[2],
                     *outer = &sink->ev[3];
    cr_assert_str_eq(opname(leaf->op), "Leaf");
    cr_assert_str_eq(opname(inner->op), "Inner");
    cr_assert_str_eq(opname(prof->op), "Inner");
    cr_assert_str_eq(opname(outer->op), "Outer");
    cr_assert_eq(leaf->parent, inner->op + 1, "Leaf's parent is Inner");
    cr_assert_eq(inner->parent, prof->op + 1, "work's Inner nests in the PROFILE's Inner");
    cr_assert_eq(outer->parent, 0, "Outer has no parent");
    cr_assert_eq(leaf->self_ns, leaf->dur_ns, "a leaf's self time is its duration");
    cr_assert(inner->dur_ns >= 300000, "Inner took >= 300us: %lu", (unsigned long)inner->dur_ns);
    /* Ticks convert to ns per value, so allow the rounding of three values. */
    cr_assert(llabs((long long)inner->self_ns - (long long)(inner->dur_ns - leaf->dur_ns)) <= 2,
              "self = dur - children");
    cr_assert(llabs((long long)outer->self_ns - (long long)(outer->dur_ns - prof->dur_ns)) <= 2,
              "self = dur - children");
    cr_assert(outer->self_ns >= 300000 && outer->self_ns < outer->dur_ns);
    cr_assert(outer->start_ns <= prof->start_ns && prof->start_ns <= inner->start_ns,
              "starts are ordered");
}

static int scope_exits(int how)
{
    for (int i = 0; i < 3; i++) {
        QPULSE_SCOPE(tset, Leaf);
        if (how == 0 && i == 1)
            break;
        if (how == 1 && i == 1)
            return 7;
        if (how == 2 && i == 0)
            goto out;
    }
out:
    return 0;
}

Test(record, scope_ends_on_every_way_out)
{
    scope_exits(0);   /* 2 samples */
    scope_exits(1);   /* 2 samples */
    scope_exits(2);   /* 1 sample */
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(count_op("Leaf"), 5, "break, return and goto end the scope: %zu",
                 count_op("Leaf"));
    for (size_t i = 0; i < sink->n; i++)
        cr_assert_eq(sink->ev[i].parent, 0, "no dangling parent after early exits");
}

Test(record, sampled_scope_records_one_in_n)
{
    for (int i = 0; i < 1000; i++) {
        QPULSE_SAMPLED_SCOPE(tset, Inner, 10);
    }
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(count_op("Inner"), 100, "1000 calls, 1 in 10: %zu", count_op("Inner"));
}

Test(record, void_profile_is_allowed)
{
    int x = 0;
    QPULSE_PROFILE(tset, Leaf, (void)(x = 3));
    cr_assert_eq(x, 3);
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(count_op("Leaf"), 1);
}

Test(record, timer_pause_excludes_paused_time)
{
    qpulse_timer_t t = QPULSE_TIMER_START(tset, Outer);
    tu_spin_ns(100000);
    qpulse_timer_pause(&t);
    tu_spin_ns(20000000);   /* long, so that a preempted 0.2 ms can't look like it */
    qpulse_timer_resume(&t);
    tu_spin_ns(100000);
    qpulse_timer_stop(&t);
    qpulse_timer_stop(&t);   /* a second stop records nothing */
    qpulse_timer_t d = QPULSE_TIMER_START(tset, Inner);
    qpulse_timer_discard(&d);
    qpulse_timer_stop(&d);
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(sink->n, 1, "one sample: discard and double stop record nothing (%zu)", sink->n);
    uint64_t dur = sink->ev[0].dur_ns;
    cr_assert(dur >= 200000 && dur < 15000000, "paused 20 ms not counted: %lu ns",
              (unsigned long)dur);
}

static void *stop_elsewhere(void *arg)
{
    qpulse_timer_stop(arg);
    return NULL;
}

Test(record, timer_stops_on_another_thread)
{
    qpulse_timer_t t = QPULSE_TIMER_START(tset, Outer);
    tu_spin_ns(50000);
    pthread_t th;
    pthread_create(&th, NULL, stop_elsewhere, &t);
    pthread_join(th, NULL);
    qp_reader_t *r = open_self();
    qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(count_op("Outer"), 1);
    cr_assert(sink->ev[0].dur_ns >= 50000);
}

#define NTHREADS 8
#define PER_THREAD 5000

static void *burst(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        QPULSE_RECORD(tset, Leaf, 10);
    return NULL;
}

Test(record, threads_get_slots_and_slots_are_reused)
{
    setenv("QPULSE_THREADS", "4", 1);
    QPULSE_RECORD(tset, Outer, 1);   /* main thread: slot 1 of 4 */
    for (int round = 0; round < 3; round++) {
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&th[i], NULL, burst, NULL);
        for (int i = 0; i < 3; i++)
            pthread_join(th[i], NULL);
    }
    cr_assert_eq(qpulse_dropped(), 0, "9 threads through 3 free slots, 3 at a time: no drop");
    cr_assert_eq(qpulse_recorded(), 1 + 9 * PER_THREAD);
    qp_reader_t *r = open_self();
    long n = qp_reader_drain(r, collect, sink, SIZE_MAX);
    cr_assert_eq(n, 1 + 9 * PER_THREAD);
    cr_assert_eq(qp_reader_threads(r), 1, "only the main thread holds a slot now");
}

Test(record, no_free_slot_drops_and_counts)
{
    setenv("QPULSE_THREADS", "2", 1);
    QPULSE_RECORD(tset, Outer, 1);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, burst, NULL);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    uint64_t rec = qpulse_recorded(), drop = qpulse_dropped();
    cr_assert_eq(rec + drop, 1 + NTHREADS * PER_THREAD,
                 "every sample recorded or dropped: %lu + %lu", (unsigned long)rec,
                 (unsigned long)drop);
}

Test(record, full_ring_drops_and_counts_then_recovers)
{
    setenv("QPULSE_RING_RECORDS", "64", 1);
    for (int i = 0; i < 100; i++)
        QPULSE_RECORD(tset, Leaf, 1);
    cr_assert_eq(qpulse_recorded(), 64);
    cr_assert_eq(qpulse_dropped(), 36);
    qp_reader_t *r = open_self();
    cr_assert_eq(qp_reader_dropped(r), 36, "the reader sees the producer's drop count");
    cr_assert_eq(qp_reader_drain(r, collect, sink, SIZE_MAX), 64);
    for (int i = 0; i < 64; i++)
        QPULSE_RECORD(tset, Leaf, 1);
    cr_assert_eq(qpulse_dropped(), 36, "room again after the drain");
    cr_assert_eq(qp_reader_drain(r, collect, sink, SIZE_MAX), 64);
}


Test(record, fork_child_gets_its_own_segment)
{
    QPULSE_RECORD(tset, Outer, 1);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t p = fork();
    if (p == 0) {
        QPULSE_RECORD(tset, Inner, 2);
        QPULSE_RECORD(tset, Inner, 2);
        char name[128], err[128];
        qp_seg_name(name, sizeof name, ns_buf, getpid(), qp_proc_starttime(getpid()), 0);
        qp_reader_t *r = NULL;
        int ok = qp_reader_open(&r, name, 0, err, sizeof err) == 0 &&
                 qp_reader_info(r)->pid == getpid();
        char c = ok && qpulse_recorded() == 2 ? 'y' : 'n';
        if (write(fds[1], &c, 1) != 1)
            _exit(3);
        if (r)
            qp_reader_close(r);
        exit(0);   /* runs the exit path: no daemon, so it removes its segment */
    }
    int st;
    waitpid(p, &st, 0);
    char c = 0;
    cr_assert_eq(read(fds[0], &c, 1), 1);
    cr_assert_eq(c, 'y', "the child recorded 2 samples into a segment of its own");
    char name[128];
    qp_seg_name(name, sizeof name, ns_buf, p, qp_proc_starttime(p), 0);
    cr_assert_eq(shm_open(name, O_RDONLY, 0), -1, "the child removed its segment at exit");
    cr_assert_eq(qpulse_recorded(), 1, "the parent's ring only has the parent's sample");
}

/* A forked child names its segment with its start time without reading
 * /proc (from CLOCK_BOOTTIME around the fork, when it can): the name must
 * be the one /proc gives, every time (a wrong one would look like a
 * recycled pid's to the daemon). */
Test(record, fork_child_names_its_segment_with_its_start_time)
{
    QPULSE_RECORD(tset, Outer, 1);
    int bad = 0;
    for (int i = 0; i < 200 && !bad; i++) {
        pid_t p = fork();
        if (p == 0) {
            QPULSE_RECORD(tset, Inner, 2);
            char name[128];
            qp_seg_name(name, sizeof name, ns_buf, getpid(), qp_proc_starttime(getpid()), 0);
            int fd = shm_open(name, O_RDONLY, 0);
            _exit(fd >= 0 ? 0 : 1);   /* no exit path: the parent removes it */
        }
        int st;
        cr_assert_eq(waitpid(p, &st, 0), p);
        bad = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        char prefix[128];
        snprintf(prefix, sizeof prefix, "qpulse.%s.%ld.", ns_buf, (long)p);
        tu_unlink_shm(prefix);
        cr_assert_not(bad, "fork %d: child %ld has no segment named with its /proc start time",
                      i, (long)p);
    }
}

/* The CLOCK_MONOTONIC fallback (no invariant TSC) is chosen once a process, so run
 * the timing tests again in a fresh process with QPULSE_CLOCK=monotonic. */
Test(record, monotonic_clock_fallback)
{
    if (getenv("QPULSE_CLOCK"))
        return;   /* we are the child */
    pid_t p = fork();
    if (p == 0) {
        setenv("QPULSE_CLOCK", "monotonic", 1);
        /* Start a fresh runner, not another of Criterion's sandboxed workers. */
        extern char **environ;
        for (char **e = environ; *e;) {
            if (!strncmp(*e, "BXFI_", 5) || !strncmp(*e, "GMON_OUT_PREFIX=", 16)) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(strchr(*e, '=') - *e), *e);
                unsetenv(name);
            } else {
                e++;
            }
        }
        execl("/proc/self/exe", "test_record", "--filter",
              "record/@(nesting_gives_parent_and_self_time|timer_pause_excludes_paused_time|"
              "record_ns_is_exact|monotonic_is_said_in_the_header)",
              "-j1", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the timing tests pass with QPULSE_CLOCK=monotonic (status %d)", st);
}

Test(record, monotonic_is_said_in_the_header)
{
    if (!getenv("QPULSE_CLOCK"))
        return;
    QPULSE_RECORD(tset, Outer, 1);
    qp_reader_t *r = open_self();
    cr_assert_eq(qp_reader_info(r)->clock_kind, QP_CLOCK_MONOTONIC);
}
