/*
 * qpd_badseg.c — writes malformed qpulse segments for the daemon's
 * hostile-input test.  Each kind starts from a small, valid segment and
 * breaks one thing; kind "ok" breaks nothing (so the test can show the
 * daemon accepts the base, and refuses the others for their defect only).
 *
 *   qpd_badseg make KIND NS PID SEQ       create /qpulse.NS.PID.<starttime>.SEQ
 *   qpd_badseg shrink NAME                truncate a live segment to 4 KiB
 *   qpd_badseg heads NAME                 push used rings' heads far past their tails
 *   qpd_badseg times NAME                 publish RING samples with hostile start
 *                                         times, durations, self times, nesting
 *                                         and thread id into ring 0 (of an "ok"
 *                                         segment: nobody else writes it)
 *
 * KIND: ok truncated empty magic major sizes offsets opdrops names ops strings
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "testutil.h"

#define RING 64u

static size_t layout(struct qp_seg_header *h)
{
    h->magic = QP_MAGIC;
    h->major = QP_LAYOUT_MAJOR;
    h->minor = QP_LAYOUT_MINOR;
    memset(h->slots_used, 0xff, sizeof h->slots_used);   /* every slot in use */
    h->header_size = QP_HEADER_SIZE;
    h->word_size = 8;
    h->sample_size = sizeof(qp_sample_t);
    h->consumer_off = 4096;
    h->consumer_size = 4096;
    h->sets_off = 8192;
    h->sets_cap = 4;
    h->ops_off = h->sets_off + 4 * sizeof(struct qp_set_entry);
    h->ops_cap = 4;
    h->strings_off = h->ops_off + 4 * sizeof(struct qp_op_entry);
    h->strings_cap = 256;
    h->slots_off = (h->strings_off + 256 + 7) & ~7ull;
    h->slot_count = 1;
    h->slot_size = sizeof(struct qp_slot);
    h->rings_off = 12288;
    h->ring_records = RING;
    h->total_size = h->rings_off + RING * sizeof(qp_sample_t);
    h->clock_kind = QP_CLOCK_MONOTONIC;
    h->ns_per_tick = 1.0;
    return h->total_size;
}

static int make(const char *kind, const char *ns, pid_t pid, unsigned seq)
{
    uint64_t st = qp_proc_starttime(pid);
    char name[160];
    if (qp_seg_name(name, sizeof name, ns, pid, st, seq) < 0)
        return 2;
    struct qp_seg_header h;
    memset(&h, 0, sizeof h);
    size_t size = layout(&h);
    h.pid = pid;
    h.uid = getuid();
    h.start_time = st;
    snprintf(h.name, sizeof h.name, "badseg-%s", kind);
    snprintf(h.ns, sizeof h.ns, "%s", ns);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h.created_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    h.state = QP_STATE_ALIVE;
    /* A command-line length past the field, in every kind, "ok" included:
     * a reader bounds it (the daemon takes the process's own from /proc). */
    h.cmdline_len = UINT32_MAX;
    memset(h.cmdline, '\033', sizeof h.cmdline);

    /* one set "bad" with one op "Op" */
    char strings[256] = "bad\0Op\0grp\0desc";
    struct qp_set_entry se = { 0, 0, 1, 0 };
    struct qp_op_entry oe = { 0, 4, 7, 11, 1, 0 };
    h.sets_count = 1;
    h.ops_count = 1;

    if (!strcmp(kind, "magic"))
        h.magic = 0x4141414141414141ull;
    else if (!strcmp(kind, "major"))
        h.major = 99;
    else if (!strcmp(kind, "sizes"))
        h.slot_count = 1u << 30;
    else if (!strcmp(kind, "offsets"))
        h.rings_off = 1ull << 40;
    else if (!strcmp(kind, "opdrops"))
        h.op_dropped_off = h.total_size - 8;   /* the counters run off the end */
    else if (!strcmp(kind, "names"))
        memset(h.name, 'x', sizeof h.name);
    else if (!strcmp(kind, "ops"))
        oe.set = 7;            /* names a set that does not exist */
    else if (!strcmp(kind, "strings"))
        se.name_off = 250;     /* runs off the end of the string region */
    else if (strcmp(kind, "ok") && strcmp(kind, "truncated") && strcmp(kind, "empty")) {
        fprintf(stderr, "qpd_badseg: unknown kind %s\n", kind);
        return 2;
    }
    if (!strcmp(kind, "strings"))
        memset(strings + 240, 'y', 16);

    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        perror(name);
        return 1;
    }
    if (!strcmp(kind, "empty")) {
        close(fd);
        printf("%s\n", name);
        return 0;
    }
    if (ftruncate(fd, !strcmp(kind, "truncated") ? 100 : (off_t)size) < 0) {
        perror("ftruncate");
        return 1;
    }
    if (strcmp(kind, "truncated")) {
        uint64_t magic = h.magic;
        h.magic = 0;
        if (pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
            pwrite(fd, &se, sizeof se, (off_t)h.sets_off) != (ssize_t)sizeof se ||
            pwrite(fd, &oe, sizeof oe, (off_t)h.ops_off) != (ssize_t)sizeof oe ||
            pwrite(fd, strings, sizeof strings, (off_t)h.strings_off) != (ssize_t)sizeof strings ||
            pwrite(fd, &magic, sizeof magic, 0) != (ssize_t)sizeof magic) {
            perror("pwrite");
            return 1;
        }
    }
    close(fd);
    printf("%s\n", name);
    return 0;
}

static int shrink(const char *name)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0 || ftruncate(fd, 4096) < 0) {
        perror(name);
        return 1;
    }
    close(fd);
    return 0;
}

/* Runs fn on the segment `name` mapped read-write: 0, or 1 (said on
 * stderr) when it cannot be mapped. */
static int with_segment(const char *name, void (*fn)(struct qp_seg_header *))
{
    int fd = shm_open(name, O_RDWR, 0);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        perror(name);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    void *h = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    fn(h);
    munmap(h, (size_t)sb.st_size);
    return 0;
}

static void heads(struct qp_seg_header *h)
{
    struct qp_slot *s = (struct qp_slot *)((char *)h + h->slots_off);
    for (uint32_t i = 0; i < h->slot_count; i++)   /* the rings in use */
        if (s[i].head)
            __atomic_store_n(&s[i].head, s[i].head + (1ull << 40), __ATOMIC_RELEASE);
}

static void times(struct qp_seg_header *h)
{
    struct qp_slot *s = (struct qp_slot *)((char *)h + h->slots_off);
    qp_sample_t *ring = (qp_sample_t *)((char *)h + h->rings_off);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    static const uint64_t starts[] = { 0, 1, UINT64_MAX, UINT64_MAX / 2, 1ull << 63, 0 /* now */,
                                       0 /* now + 1 h */, 0 /* now - 1 h */ };
    for (uint32_t i = 0; i < RING; i++) {
        qp_sample_t *r = &ring[i];
        uint64_t st = starts[i % 8];
        if (i % 8 == 5)
            st = now - (RING - i) * 1000;
        if (i % 8 == 6)
            st = now + 3600ull * 1000000000ull;
        if (i % 8 == 7)
            st = now - 3600ull * 1000000000ull;
        r->start = st;
        r->dur = i % 3 == 0 ? UINT64_MAX - i : i % 3 == 1 ? 0 : 1000 * i;
        r->self = i % 2 ? UINT64_MAX : r->dur / 2;
        r->op = (i % 4 == 0 ? QPULSE__NS : 0);   /* op 0, in ns or ticks */
        r->parent = i % 2;                       /* its own parent, or none */
    }
    s[0].tid = -7;
    s[0].state = QP_SLOT_CLAIMED;
    __atomic_store_n(&s[0].head, RING, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "make"))
        return make(argv[2], argv[3], (pid_t)atol(argv[4]), (unsigned)atoi(argv[5]));
    if (argc == 3 && !strcmp(argv[1], "shrink"))
        return shrink(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "heads"))
        return with_segment(argv[2], heads);
    if (argc == 3 && !strcmp(argv[1], "times"))
        return with_segment(argv[2], times);
    return tu_usage("see the top of tests/qpd_badseg.c");
}
