/*
 * test_reader_shrink.c — a segment shrunk under the daemon's reader: every
 * access the daemon makes (attach: marking the segment as watched; drain;
 * detach at shutdown) returns -EFAULT instead of killing the process with
 * SIGBUS.  The segment is a real shm object, truncated with ftruncate(2) as
 * a hostile producer would.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "reader.h"
#include "testutil.h"

#define RING 64u

static char name[160];
static int seg_fd = -1;

/* A small valid segment of our own pid: one set, one op, one slot whose
 * ring holds n published samples. */
static void make_segment(unsigned n)
{
    char ns[64];
    tu_worker_ns(ns, sizeof ns, "t-shrink");
    uint64_t st = qp_proc_starttime(getpid());
    cr_assert_eq(qp_seg_name(name, sizeof name, ns, getpid(), st, 0), 0);
    struct qp_seg_header h;
    memset(&h, 0, sizeof h);
    h.magic = QP_MAGIC;
    h.major = QP_LAYOUT_MAJOR;
    h.minor = QP_LAYOUT_MINOR;
    memset(h.slots_used, 0xff, sizeof h.slots_used);   /* every slot in use */
    h.header_size = QP_HEADER_SIZE;
    h.word_size = 8;
    h.sample_size = sizeof(qp_sample_t);
    h.consumer_off = 4096;
    h.consumer_size = 4096;
    h.sets_off = 8192;
    h.sets_cap = 4;
    h.ops_off = h.sets_off + 4 * sizeof(struct qp_set_entry);
    h.ops_cap = 4;
    h.strings_off = h.ops_off + 4 * sizeof(struct qp_op_entry);
    h.strings_cap = 256;
    h.slots_off = (h.strings_off + 256 + 7) & ~7ull;
    h.slot_count = 1;
    h.slot_size = sizeof(struct qp_slot);
    h.rings_off = 12288;
    h.ring_records = RING;
    h.total_size = h.rings_off + RING * sizeof(qp_sample_t);
    h.clock_kind = QP_CLOCK_MONOTONIC;
    h.ns_per_tick = 1.0;
    h.pid = getpid();
    h.uid = getuid();
    h.start_time = st;
    snprintf(h.name, sizeof h.name, "shrinker");
    snprintf(h.ns, sizeof h.ns, "%s", ns);
    h.state = QP_STATE_ALIVE;
    h.sets_count = 1;
    h.ops_count = 1;
    seg_fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(seg_fd, 0);
    cr_assert_eq(ftruncate(seg_fd, (off_t)h.total_size), 0);
    uint8_t *m = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, seg_fd, 0);
    cr_assert_neq(m, MAP_FAILED);
    memcpy(m, &h, sizeof h);
    static const char strings[] = "set\0Op\0grp\0desc";
    memcpy(m + h.strings_off, strings, sizeof strings);
    struct qp_set_entry se = { 0, 0, 1, 0 };
    struct qp_op_entry oe = { 0, 4, 7, 11, 1, 0 };
    memcpy(m + h.sets_off, &se, sizeof se);
    memcpy(m + h.ops_off, &oe, sizeof oe);
    qp_sample_t *ring = (qp_sample_t *)(m + h.rings_off);
    for (unsigned i = 0; i < n; i++) {
        memset(&ring[i], 0, sizeof ring[i]);
        ring[i].dur = 1000 + i;
    }
    struct qp_slot *slot = (struct qp_slot *)(m + h.slots_off);
    slot->head = n;
    slot->state = QP_SLOT_CLAIMED;
    munmap(m, h.total_size);
}

static void cleanup(void)
{
    if (seg_fd >= 0)
        close(seg_fd);
    shm_unlink(name);
}

static size_t seen;
static void count(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ctx;
    (void)ev;
    seen += n;
}

TestSuite(reader_shrink, .fini = cleanup);
TU_SWEEP_SHM("t-shrink")

/* The made segment, opened by a consuming reader. */
static qp_reader_t *open_reader(void)
{
    qp_reader_t *r;
    char err[256] = "";
    cr_assert_eq(qp_reader_open(&r, name, QP_READER_CONSUME, err, sizeof err), 0, "%s", err);
    return r;
}

/* A segment with n samples, opened by a consuming reader. */
static qp_reader_t *open_segment(unsigned n)
{
    make_segment(n);
    return open_reader();
}

Test(reader_shrink, intact_segment_is_read)
{
    qp_reader_t *r = open_segment(10);
    cr_assert_eq(qp_reader_set_daemon(r, getpid()), 0);
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), 10);
    cr_assert_eq(qp_reader_consumed(r), 10);
    cr_assert_eq(qp_reader_set_daemon(r, 0), 0);
    qp_reader_close(r);
}

/* Shrunk between the reader's validation and the daemon's attach, then
 * drained, then detached as at shutdown: every step reports -EFAULT. */
Test(reader_shrink, attach_drain_detach_after_shrink)
{
    qp_reader_t *r = open_segment(10);
    cr_assert_eq(ftruncate(seg_fd, 0), 0);
    cr_assert_eq(qp_reader_set_daemon(r, getpid()), -EFAULT);
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), -EFAULT);
    cr_assert_eq(qp_reader_set_daemon(r, 0), -EFAULT);
    cr_assert_eq(qp_reader_exited(r), 1);   /* unreadable: treated as gone */
    qp_reader_close(r);
}

/* Shrunk after a drain, to just the header: the consumer region is gone. */
Test(reader_shrink, detach_after_partial_shrink)
{
    qp_reader_t *r = open_segment(5);
    cr_assert_eq(qp_reader_set_daemon(r, getpid()), 0);
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), 5);
    cr_assert_eq(ftruncate(seg_fd, QP_HEADER_SIZE), 0);
    cr_assert_eq(qp_reader_set_daemon(r, 0), -EFAULT);
    qp_reader_close(r);
}

/* Rewrites the made segment's minor version and claimed-slot bits. */
static void set_slots_used(uint16_t minor, uint64_t bits)
{
    struct qp_seg_header *h = mmap(NULL, QP_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                                   seg_fd, 0);
    cr_assert_neq(h, MAP_FAILED);
    h->minor = minor;
    memset(h->slots_used, 0, sizeof h->slots_used);
    h->slots_used[0] = bits;
    munmap(h, QP_HEADER_SIZE);
}

/* A segment from before the claimed-slot bits (minor 1): every slot is
 * looked at. */
Test(reader_shrink, minor1_segment_reads_every_slot)
{
    make_segment(10);
    set_slots_used(1, 0);
    qp_reader_t *r = open_reader();
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), 10);
    qp_reader_close(r);
}

/* Minor 2: only claimed slots are polled, and a slot whose bit appears
 * after the reader opened (a thread's first sample) is read from then on,
 * all of it. */
Test(reader_shrink, slot_read_once_its_bit_is_set)
{
    make_segment(10);
    set_slots_used(2, 0);
    qp_reader_t *r = open_reader();
    cr_assert_eq(qp_reader_pending(r), 0);
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), 0);
    set_slots_used(2, 1);
    cr_assert_eq(qp_reader_pending(r), 10);
    cr_assert_eq(qp_reader_drain(r, count, NULL, 1000), 10);
    cr_assert_eq(qp_reader_consumed(r), 10);
    qp_reader_close(r);
}
