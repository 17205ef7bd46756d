/*
 * fuzz_reader.c — libFuzzer target for the segment reader (lib/reader.c).
 *
 * A segment is hostile input: any process of the user can write any bytes
 * into it, and keep writing while the daemon reads.  Random bytes would
 * almost never pass the header validation, so the harness starts from a
 * valid (small) segment built here, like lib/record.c builds one, and the
 * fuzz input is a list of edits applied to it:
 *
 *   edit := kind:u8 off:u16le len:u8 bytes[len]
 *   kind & 3 == 0   write bytes at off before the reader opens the segment
 *   kind & 3 == 1   write bytes at off into the live segment, after open
 *                   (a producer that changes what was validated: TOCTOU)
 *   kind & 3 == 2   shrink the object to off*4 bytes after open (SIGBUS
 *                   on access: the reader must answer -EFAULT, not crash)
 *   kind & 3 == 3   refresh + drain now (interleaves reads and edits)
 *
 * off is taken modulo the segment size (about 20 KiB); libFuzzer's
 * comparison tracing steers edits to the values the validation compares.
 *
 * The object is named like a real segment of this process,
 * /qpulse.fuzz-<pid>.<pid>.<starttime>.0, because the reader checks the
 * pid in the name against the header and /proc.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "reader.h"

#define FZ_SLOTS 4u
#define FZ_RECORDS 64u
#define FZ_SETS_CAP 4u
#define FZ_OPS_CAP 16u
#define FZ_STRINGS_CAP 512u

static uint8_t *tmpl;          /* the valid segment every input starts from */
static size_t tmpl_size;
static char seg_name[128];

static size_t page_up(size_t v)
{
    return (v + QP_PAGE - 1) & ~(size_t)(QP_PAGE - 1);
}

static uint32_t add_string(struct qp_seg_header *h, const char *s)
{
    size_t n = strlen(s) + 1;
    uint32_t at = h->strings_used;
    memcpy(tmpl + h->strings_off + at, s, n);
    h->strings_used += (uint32_t)n;
    return at;
}

/* Lays out a segment the way seg_layout() does, with small capacities. */
static void build_template(void)
{
    struct qp_seg_header h;
    memset(&h, 0, sizeof h);
    size_t off = QP_HEADER_SIZE;
    h.consumer_off = off;
    h.consumer_size = page_up(sizeof(struct qp_consumer) + FZ_SLOTS * sizeof(struct qp_tail));
    off += h.consumer_size;
    h.sets_off = off;
    h.sets_cap = FZ_SETS_CAP;
    off += FZ_SETS_CAP * sizeof(struct qp_set_entry);
    h.ops_off = off;
    h.ops_cap = FZ_OPS_CAP;
    off += FZ_OPS_CAP * sizeof(struct qp_op_entry);
    h.strings_off = off;
    h.strings_cap = FZ_STRINGS_CAP;
    h.strings_used = 1;
    off += FZ_STRINGS_CAP;
    off = (off + 7) & ~(size_t)7;
    h.op_dropped_off = off;           /* layout minor 1: drops per operation */
    off += FZ_OPS_CAP * sizeof(uint64_t);
    h.slots_off = off;
    h.slot_count = FZ_SLOTS;
    h.slot_size = sizeof(struct qp_slot);
    off += FZ_SLOTS * sizeof(struct qp_slot);
    h.rings_off = page_up(off);
    h.ring_records = FZ_RECORDS;
    h.total_size = h.rings_off + (size_t)FZ_SLOTS * FZ_RECORDS * sizeof(qp_sample_t);
    tmpl_size = h.total_size;
    tmpl = calloc(1, tmpl_size);
    if (!tmpl)
        abort();

    h.magic = QP_MAGIC;
    h.major = QP_LAYOUT_MAJOR;
    h.minor = QP_LAYOUT_MINOR;
    memset(h.slots_used, 0xff, sizeof h.slots_used);   /* every slot in use */
    h.header_size = QP_HEADER_SIZE;
    h.word_size = sizeof(void *);
    h.sample_size = sizeof(qp_sample_t);
    h.pid = getpid();
    h.uid = getuid();
    h.start_time = qp_proc_starttime(getpid());
    snprintf(h.name, sizeof h.name, "fuzz");
    snprintf(h.ns, sizeof h.ns, "fuzz-%ld", (long)getpid());
    h.clock_kind = QP_CLOCK_TSC;
    h.ns_per_tick = 0.5;
    h.tick_ref = 1000;
    h.mono_ref_ns = 5000;
    h.state = QP_STATE_ALIVE;

    /* one set "fz" with three ops */
    struct qp_set_entry *se = (void *)(tmpl + h.sets_off);
    se[0].name_off = add_string(&h, "fz");
    se[0].first_op = 0;
    se[0].nops = 3;
    h.sets_count = 1;
    static const char *const names[] = { "A", "B", "C" };
    struct qp_op_entry *oe = (void *)(tmpl + h.ops_off);
    for (int i = 0; i < 3; i++) {
        oe[i].set = 0;
        oe[i].name_off = add_string(&h, names[i]);
        oe[i].group_off = add_string(&h, "g");
        oe[i].desc_off = add_string(&h, "an operation");
        oe[i].priority = i;
    }
    h.ops_count = 3;

    /* slot 0: 10 records published; slot 1: wrapped once, 5 consumed */
    struct qp_slot *sl = (void *)(tmpl + h.slots_off);
    qp_sample_t *ring = (void *)(tmpl + h.rings_off);
    sl[0].state = QP_SLOT_CLAIMED;
    sl[0].head = 10;
    for (uint32_t j = 0; j < 10; j++)
        ring[j] = (qp_sample_t){ 2000 + j, 100 + j, 50, j % 3, j ? 1 : 0 };
    sl[1].head = FZ_RECORDS + 7;
    sl[1].dropped = 3;
    for (uint32_t j = 0; j < FZ_RECORDS; j++)
        ring[FZ_RECORDS + j] = (qp_sample_t){ 3000, 1000, 1000, (j % 3) | 0x80000000u, 0 };
    struct qp_tail *tails = (void *)(tmpl + h.consumer_off + sizeof(struct qp_consumer));
    tails[1].tail = 7 + 5;
    memcpy(tmpl, &h, sizeof h);

    pid_t pid = getpid();
    char ns[64];
    snprintf(ns, sizeof ns, "fuzz-%ld", (long)pid);
    if (qp_seg_name(seg_name, sizeof seg_name, ns, pid, h.start_time, 0) < 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    build_template();
    return 0;
}

static uint64_t sink;

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        sink += ev[i].op + ev[i].parent + ev[i].dur_ns + ev[i].self_ns + ev[i].start_ns;
}

/* Touches everything the reader hands out, so that ASan sees a bad copy. */
static void exercise(qp_reader_t *r)
{
    /* the daemon's attach, drain and detach (shutdown) writes */
    (void)qp_reader_set_daemon(r, 4242);
    (void)qp_reader_refresh(r, NULL, 0);
    (void)qp_reader_drain(r, on_events, NULL, 1000);
    (void)qp_reader_set_daemon(r, 0);
    sink += qp_reader_consumed(r);
    sink += qp_reader_pending(r) + qp_reader_dropped(r) + qp_reader_invalid(r) +
            qp_reader_drained(r) + (uint64_t)qp_reader_exited(r) + qp_reader_threads(r);
    sink += (uint64_t)(qp_reader_max_fill(r) * 100);
    uint64_t od[8];
    if (qp_reader_op_dropped(r, od, 8) == 0)
        for (uint32_t i = 0; i < 8 && i < qp_reader_nops(r); i++)
            sink += od[i];
    for (uint32_t i = 0; i < qp_reader_nops(r); i++) {
        const qp_op_info_t *o = qp_reader_op(r, i);
        sink += strlen(o->set) + strlen(o->name) + strlen(o->group) + strlen(o->description);
    }
    const qp_proc_info_t *in = qp_reader_info(r);
    sink += strlen(in->name) + strlen(in->ns) + in->slot_count;
}

struct edit {
    unsigned kind;
    size_t off;
    const uint8_t *bytes;
    size_t len;
};

/* Decodes the next edit; 0 at the end of the input. */
static int next_edit(const uint8_t **p, const uint8_t *end, struct edit *e)
{
    if (end - *p < 4)
        return 0;
    const uint8_t *q = *p;
    e->kind = q[0] & 3u;
    size_t off = (size_t)q[1] | (size_t)q[2] << 8;
    size_t len = q[3];
    q += 4;
    if (len > (size_t)(end - q))
        len = (size_t)(end - q);
    e->off = off;
    e->bytes = q;
    e->len = len;
    *p = q + (e->kind <= 1 ? len : 0);
    return 1;
}

static void apply(uint8_t *seg, const struct edit *e)
{
    size_t off = e->off % tmpl_size;
    size_t n = e->len;
    if (n > tmpl_size - off)
        n = tmpl_size - off;
    memcpy(seg + off, e->bytes, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *end = data + size, *p;
    struct edit e;

    int fd = shm_open(seg_name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    if (ftruncate(fd, (off_t)tmpl_size) < 0)
        abort();
    uint8_t *seg = mmap(NULL, tmpl_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (seg == MAP_FAILED)
        abort();
    memcpy(seg, tmpl, tmpl_size);
    for (p = data; next_edit(&p, end, &e);)
        if (e.kind == 0)
            apply(seg, &e);

    qp_reader_t *r = NULL;
    char err[256];
    if (qp_reader_open(&r, seg_name, QP_READER_CONSUME, err, sizeof err) == 0) {
        int shrunk = 0;
        for (p = data; next_edit(&p, end, &e);) {
            if (e.kind == 1 && !shrunk) {
                apply(seg, &e);
            } else if (e.kind == 2 && !shrunk) {
                /* The producer's side of the mapping would fault too. */
                if (ftruncate(fd, (off_t)(e.off * 4)) < 0)
                    abort();
                shrunk = 1;
            } else if (e.kind == 3) {
                exercise(r);
            }
        }
        exercise(r);
        qp_reader_close(r);
    }
    munmap(seg, tmpl_size);
    close(fd);
    shm_unlink(seg_name);
    return 0;
}
