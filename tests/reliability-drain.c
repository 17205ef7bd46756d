/*
 * reliability-drain.c — a minimal consumer for the fault tests: attaches to
 * the segment of one producer (tests/reliability-producer.c) through the
 * real reader (lib/reader.c), drains it like qpulsed does until the
 * producer is gone, then checks what it got.
 *
 *   reliability-drain -P PID [-p PROGRESS -t THREADS] [-w SECONDS] [-A FILE]
 *
 * -A FILE: create FILE once attached (a test waits for it before letting
 * the producer exit).
 *
 *   reliability-drain -P PID -T
 *
 * only prints "tails=N": the records consumed so far by whatever daemon
 * drained the segment (the sum of its ring tails), without consuming.
 *
 * QPULSE_NS names the namespace.  Checks, each a line on stderr and exit 1
 * when it fails:
 *   - no torn record: every rel.Sample has dur == self and decodes to a
 *     known thread k and an index i greater than k's previous one;
 *   - nothing invalid: the reader rejected no record;
 *   - balance (with -p): with A = the sum of the progress counters,
 *       A - THREADS <= drained + dropped <= A
 *     (each thread may have had one sample in flight when it was killed:
 *     attempted, but neither published nor counted), and for every thread
 *     its last drained index is below its progress count.
 * Prints "drained=N dropped=D attempted=A unaccounted=U" on stdout.
 * Like the daemon, it marks itself as the segment's consumer (so the
 * producer leaves the segment at exit) and removes the segment at the end.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "reader.h"
#include "testutil.h"

#define MAX_THREADS 4096
#define INDEX_MASK ((1ull << 40) - 1)

static uint64_t last_index[MAX_THREADS];
static uint8_t seen[MAX_THREADS];
static uint64_t drained_samples, torn;
static uint32_t sample_op = UINT32_MAX;
static qp_reader_t *reader;

static void nap_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* The name of pid's segment in namespace ns, found in /dev/shm. */
static int find_segment(const char *ns, long pid, char *out, size_t len)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "qpulse.%s.%ld.", ns, pid);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -errno;
    struct dirent *e;
    int r = -ENOENT;
    while ((e = readdir(d))) {
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(out, len, "/%s", e->d_name);
            r = 0;
            break;
        }
    }
    closedir(d);
    return r;
}

/* -T: the sum of the consumer tails of pid's segment, read-only. */
static int print_tails(const char *ns, long pid)
{
    char name[300];
    if (find_segment(ns, pid, name, sizeof name) < 0)
        return 1;
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    struct qp_seg_header h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.magic != QP_MAGIC ||
        h.slot_count == 0 || h.slot_count > QP_MAX_SLOTS) {
        close(fd);
        return 1;
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < h.slot_count; i++) {
        struct qp_tail t;
        off_t off = (off_t)(h.consumer_off + sizeof(struct qp_consumer) + i * sizeof t);
        if (pread(fd, &t, sizeof t, off) != (ssize_t)sizeof t) {
            close(fd);
            return 1;
        }
        sum += t.tail;
    }
    close(fd);
    printf("tails=%llu\n", (unsigned long long)sum);
    return 0;
}

static void find_sample_op(void)
{
    for (uint32_t i = 0; i < qp_reader_nops(reader); i++) {
        const qp_op_info_t *o = qp_reader_op(reader, i);
        if (!strcmp(o->set, "rel") && !strcmp(o->name, "Sample"))
            sample_op = i;
    }
}

static void on_events(void *ctx, const qp_event_t *ev, size_t n)
{
    (void)ctx;
    for (size_t j = 0; j < n; j++) {
        if (sample_op == UINT32_MAX)
            find_sample_op();
        if (ev[j].op != sample_op)
            continue;   /* the soak's nested scopes */
        uint64_t k = ev[j].dur_ns >> 40, i = ev[j].dur_ns & INDEX_MASK;
        if (ev[j].dur_ns != ev[j].self_ns || k >= MAX_THREADS ||
            (seen[k] && i <= last_index[k])) {
            if (torn++ < 5)
                fprintf(stderr, "torn or repeated record: dur=%llu self=%llu\n",
                        (unsigned long long)ev[j].dur_ns, (unsigned long long)ev[j].self_ns);
            continue;
        }
        seen[k] = 1;
        last_index[k] = i;
        drained_samples++;
    }
}

static int read_progress(const char *path, unsigned threads, uint64_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* Killed before it even created the file: attempted nothing. */
        memset(out, 0, threads * sizeof *out);
        return 0;
    }
    if (fd < 0)
        return -errno;
    for (unsigned k = 0; k < threads; k++) {
        uint64_t v = 0;
        if (pread(fd, &v, sizeof v, (off_t)k * 64) != (ssize_t)sizeof v)
            v = 0;   /* the thread never started: the file is shorter */
        out[k] = v;
    }
    close(fd);
    return 0;
}

/* Opens pid's segment, retrying while it is being created; 0, or -ENOENT
 * when pid died without one. */
static int attach(const char *ns, long pid, int wait_s)
{
    char name[300], err[256] = "";
    time_t end = time(NULL) + wait_s;
    while (time(NULL) <= end) {
        int alive = qp_proc_alive((pid_t)pid, 0);
        if (find_segment(ns, pid, name, sizeof name) == 0) {
            int r = qp_reader_open(&reader, name, QP_READER_CONSUME, err, sizeof err);
            if (r == 0) {
                qp_reader_set_daemon(reader, getpid());
                return 0;
            }
            if (!alive && r != -EAGAIN) {
                fprintf(stderr, "cannot open %s: %s\n", name, err);
                return r;
            }
            if (!alive) {
                /* Killed between shm_open and the magic: nothing was
                 * published, remove what it left, as the daemon does. */
                shm_unlink(name);
                return -ENOENT;
            }
        } else if (!alive) {
            return -ENOENT;
        }
        nap_ms(1);
    }
    fprintf(stderr, "no segment of pid %ld within %d s: %s\n", pid, wait_s, err);
    return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
    long pid = 0;
    const char *progress = NULL, *attached = NULL;
    unsigned threads = 1;
    int wait_s = 30, opt, tails = 0;
    while ((opt = getopt(argc, argv, "P:p:t:w:A:T")) != -1) {
        switch (opt) {
        case 'P': pid = strtol(optarg, NULL, 10); break;
        case 'p': progress = optarg; break;
        case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'w': wait_s = atoi(optarg); break;
        case 'A': attached = optarg; break;
        case 'T': tails = 1; break;
        default:
            return tu_usage("%s -P PID [-p FILE -t N] [-w S]", argv[0]);
        }
    }
    const char *ns = qp_ns_from_env();
    if (pid <= 0 || !ns || threads == 0 || threads > MAX_THREADS)
        return 2;
    if (tails)
        return print_tails(ns, pid);
    int r = attach(ns, pid, wait_s);
    if (r < 0 && r != -ENOENT)
        return 1;
    uint64_t dropped = 0, invalid = 0;
    if (r == 0 && attached)
        close(open(attached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (r == 0) {
        /* Drain while the producer runs, as qpulsed does (every ~1 ms). */
        while (qp_proc_alive((pid_t)pid, 0)) {
            if (qp_reader_drain(reader, on_events, NULL, SIZE_MAX) == 0)
                nap_ms(1);
        }
        /* Dead: its published records are final; take them all. */
        long n;
        while ((n = qp_reader_drain(reader, on_events, NULL, SIZE_MAX)) > 0)
            ;
        if (n < 0)
            fprintf(stderr, "drain: %s\n", strerror((int)-n));
        dropped = qp_reader_dropped(reader);
        invalid = qp_reader_invalid(reader);
        shm_unlink(qp_reader_info(reader)->shm_name);
        qp_reader_close(reader);
    }
    int bad = torn != 0 || invalid != 0;
    if (invalid)
        fprintf(stderr, "the reader rejected %llu records\n", (unsigned long long)invalid);
    uint64_t attempted = 0, got = drained_samples + dropped;
    if (progress) {
        static uint64_t c[MAX_THREADS];
        if (read_progress(progress, threads, c) < 0) {
            perror(progress);
            return 2;
        }
        for (unsigned k = 0; k < threads; k++) {
            attempted += c[k];
            if (seen[k] && last_index[k] >= c[k]) {
                fprintf(stderr, "thread %u: drained index %llu but only %llu attempted\n", k,
                        (unsigned long long)last_index[k], (unsigned long long)c[k]);
                bad = 1;
            }
        }
        if (got > attempted || got + threads < attempted) {
            fprintf(stderr, "unbalanced: drained %llu + dropped %llu, attempted %llu (%u threads)\n",
                    (unsigned long long)drained_samples, (unsigned long long)dropped,
                    (unsigned long long)attempted, threads);
            bad = 1;
        }
    }
    printf("drained=%llu dropped=%llu attempted=%llu unaccounted=%lld\n",
           (unsigned long long)drained_samples, (unsigned long long)dropped,
           (unsigned long long)attempted, progress ? (long long)(attempted - got) : 0LL);
    return bad;
}
