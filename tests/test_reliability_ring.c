/*
 * test_reliability_ring.c — the ring protocol under ThreadSanitizer: short-
 * lived producer threads (slots claimed, released and reused) record while
 * a consumer thread of the same process drains their rings.
 *
 * Why a consumer of our own: qpulsed is another process, and even a reader
 * thread here (lib/reader.c) maps the segment a second time, at another
 * address; TSan tracks memory by virtual address within one process, so it
 * would see two unrelated objects and could prove nothing.  This consumer
 * finds the producer's own mapping in /proc/self/maps and drains it with
 * the protocol of qp_reader_open()/qp_reader_drain(), access for access:
 *   - acquire-load the magic before any other header field (pairs with the
 *     release store of the magic at the end of seg_create());
 *   - per ring: acquire-load the head (pairs with the release store of the
 *     head in qpulse__push()/qpulse__push_slow()), copy the records below
 *     it, then release-store the tail (pairs with the acquire loads of the
 *     tail in slot_claim() and qpulse__push_slow(), which make the producer
 *     reuse a record only after we have copied it).
 * A missing or misplaced barrier in lib/record.c or include/qpulse.h is a
 * data race TSan reports (the -fsanitize=thread build in
 * scripts/ci-extra.sh); in an ordinary build this is a stress test of the
 * same protocol.  Nothing is suppressed.
 *
 * Checks: no torn or repeated record (each is thread k's i-th sample,
 * encoded in dur and self); consumed + dropped == attempted, exactly.
 * Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "qpulse.h"

#define RING_OPS(X) X(S, "ring", "Numbered sample", 1)
QPULSE_DECLARE_SET(ring, RING_OPS)
QPULSE_DEFINE_SET(ring, RING_OPS)

#define DRIVERS 4              /* QPULSE_THREADS = 5: slots are reused */
#define THREADS_PER_DRIVER 8
#define SAMPLES 20000
#define NTHREADS (DRIVERS * THREADS_PER_DRIVER)

static uint64_t consumed, torn;
static uint64_t next_i[NTHREADS + 1];   /* + main's first sample */
static int done;               /* atomic: every producer has finished */
static int ready;              /* atomic: the consumer has found the segment */
static int created;            /* atomic: main's first sample created it */

static void *producer(void *arg)
{
    uint64_t k = (uint64_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < SAMPLES; i++) {
        QPULSE_RECORD(ring, S, k << 40 | i);
        if ((i & 127) == 127)
            sched_yield();   /* let the consumer keep up now and then */
    }
    return NULL;
}

static void *driver(void *arg)
{
    uintptr_t d = (uintptr_t)arg;
    for (uintptr_t j = 0; j < THREADS_PER_DRIVER; j++) {
        pthread_t t;
        if (pthread_create(&t, NULL, producer, (void *)(d * THREADS_PER_DRIVER + j)) != 0)
            abort();
        pthread_join(t, NULL);
    }
    return NULL;
}

/* The producer's mapping of our segment, from /proc/self/maps. */
static uint8_t *find_segment(const char *ns)
{
    char want[128], line[512];
    snprintf(want, sizeof want, "/dev/shm/qpulse.%s.%ld.", ns, (long)getpid());
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return NULL;
    uint8_t *base = NULL;
    while (!base && fgets(line, sizeof line, f)) {
        unsigned long lo;
        if (strstr(line, want) && sscanf(line, "%lx-", &lo) == 1)
            base = (uint8_t *)lo;
    }
    fclose(f);
    return base;
}

static void check(const qp_sample_t *s)
{
    uint64_t k = s->dur >> 40, i = s->dur & ((1ull << 40) - 1);
    if (s->dur != s->self || k > NTHREADS || i < next_i[k]) {
        if (torn++ < 5)
            fprintf(stderr, "torn or repeated record: dur=%" PRIu64 " self=%" PRIu64 "\n",
                    s->dur, s->self);
        return;
    }
    next_i[k] = i + 1;   /* a gap is a drop, counted by the producer */
    consumed++;
}

/* One pass over every ring, as drain_rings() in lib/reader.c does it. */
static uint64_t drain(const struct qp_seg_header *h, uint64_t *tails_copy)
{
    const uint8_t *base = (const uint8_t *)h;
    const struct qp_slot *slots = (const void *)(base + h->slots_off);
    const qp_sample_t *rings = (const void *)(base + h->rings_off);
    struct qp_tail *tails = (void *)(base + h->consumer_off + sizeof(struct qp_consumer));
    uint64_t cap = h->ring_records, n = 0;
    for (uint32_t i = 0; i < h->slot_count; i++) {
        /* Pairs with the release store of the head in qpulse__push(). */
        uint64_t head = __atomic_load_n(&slots[i].head, __ATOMIC_ACQUIRE);
        uint64_t tail = tails_copy[i];
        if (head - tail > cap) {
            fprintf(stderr, "slot %u: head %" PRIu64 " ran %" PRIu64 " past the tail\n", i,
                    head, head - tail);
            torn++;
            tail = head - cap;
        }
        for (uint64_t j = tail; j < head; j++) {
            qp_sample_t s = rings[(size_t)i * cap + (j & (cap - 1))];
            check(&s);
        }
        n += head - tail;
        tails_copy[i] = head;
        /* The records below head are copied: the producer may reuse them.
         * Pairs with the acquire loads of the tail in lib/record.c. */
        __atomic_store_n(&tails[i].tail, head, __ATOMIC_RELEASE);
    }
    return n;
}

static void *consumer(void *arg)
{
    const char *ns = arg;
    uint8_t *base = NULL;
    const struct qp_seg_header *h;
    /* The segment appears with the first sample. */
    struct timespec nap = { 0, 100000 };
    /* We learn of the segment from main, as qpulsed learns of one from
     * /dev/shm: pairs with the release store of created in main(), which
     * orders the mmap() before our reads (TSan counts the mmap as a write
     * of the whole range, and cannot see /proc/self/maps). */
    while (!__atomic_load_n(&created, __ATOMIC_ACQUIRE))
        nanosleep(&nap, NULL);
    if (!(base = find_segment(ns))) {
        fprintf(stderr, "no segment in /proc/self/maps\n");
        exit(1);
    }
    h = (const void *)base;
    /* Pairs with the release store of the magic in seg_create(): after it,
     * every header field is initialised. */
    while (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != QP_MAGIC)
        ;
    uint64_t *tails = calloc(h->slot_count, sizeof *tails);
    if (!tails)
        abort();
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    for (;;) {
        /* Pairs with the release store of done in main(): every producer
         * has published its last record when we see it. */
        int last = __atomic_load_n(&done, __ATOMIC_ACQUIRE);
        if (drain(h, tails) == 0) {
            if (last)
                break;
            nanosleep(&nap, NULL);
        }
    }
    free(tails);
    return NULL;
}

int main(void)
{
    static char ns[64];
    snprintf(ns, sizeof ns, "t-relring-%ld", (long)getpid());
    /* Read when the segment is created, at the first sample. */
    setenv("QPULSE_NS", ns, 1);
    setenv("QPULSE_THREADS", "5", 1);   /* main + one producer a driver */
    setenv("QPULSE_RING_RECORDS", "1024", 1);

    pthread_t c, d[DRIVERS];
    if (pthread_create(&c, NULL, consumer, ns) != 0)
        return 1;
    /* One sample creates the segment; the producers start once the
     * consumer drains it, so that the rings really change hands. */
    QPULSE_RECORD(ring, S, (uint64_t)NTHREADS << 40);
    __atomic_store_n(&created, 1, __ATOMIC_RELEASE);
    struct timespec nap = { 0, 100000 };
    while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        nanosleep(&nap, NULL);
    for (uintptr_t i = 0; i < DRIVERS; i++)
        if (pthread_create(&d[i], NULL, driver, (void *)i) != 0)
            return 1;
    for (int i = 0; i < DRIVERS; i++)
        pthread_join(d[i], NULL);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    pthread_join(c, NULL);

    uint64_t attempted = (uint64_t)NTHREADS * SAMPLES + 1, dropped = qpulse_dropped();
    printf("attempted=%" PRIu64 " consumed=%" PRIu64 " dropped=%" PRIu64 " recorded=%" PRIu64
           " torn=%" PRIu64 "\n",
           attempted, consumed, dropped, qpulse_recorded(), torn);
    qpulse_shutdown();   /* no daemon here: removes the segment */
    if (torn || consumed + dropped != attempted || consumed != qpulse_recorded()) {
        fprintf(stderr, "FAIL: unbalanced or torn\n");
        return 1;
    }
    return 0;
}
