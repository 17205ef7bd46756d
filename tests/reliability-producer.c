/*
 * reliability-producer.c — an instrumented program for the fault tests
 * (tests/reliability-*.sh) and the soak bench (bench/soak.sh).
 *
 *   reliability-producer [-t THREADS] [-n SAMPLES] [-p PROGRESS] [-b]
 *                        [-c TOTAL] [-s USEC] [-r] [-q]
 *
 *   -t THREADS   threads recording at once (default 1)
 *   -n SAMPLES   samples per thread; 0 = until killed (default 1000)
 *   -p FILE      progress file: thread k stores, BEFORE each sample, how
 *                many samples it has attempted (this one included) as a
 *                uint64 at offset 64*k.  The file is mapped shared, so the
 *                count survives SIGKILL: after a kill, thread k's samples
 *                that were published or counted as dropped number either
 *                progress[k] or progress[k]-1 (the one in flight).
 *   -b           hold every thread after its first sample until all THREADS
 *                have recorded one (so they all compete for slots at once)
 *   -c TOTAL     churn: run TOTAL threads in all, THREADS at a time, each
 *                recording SAMPLES and exiting (thread slots must be reused)
 *   -s USEC      sleep between samples (default 0)
 *   -r           also time nested scopes (Outer > Inner), for the soak
 *   -q           do not print the summary line
 *   -w           when done, print the summary and wait for EOF on stdin
 *                before exiting (lets a test attach a consumer first)
 *
 * Samples are QPULSE_RECORD(rel, Sample, k << 40 | i), thread k's i-th
 * sample, so a consumer can tell a torn record from a whole one (dur must
 * equal self and decode to a known thread with increasing i) and count what
 * each thread lost (tests/reliability-drain.c).
 *
 * At exit prints "attempted=A recorded=R dropped=D" (R and D from
 * qpulse_recorded()/qpulse_dropped()) and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "qpulse.h"
#include "testutil.h"

#define REL_OPS(X)                                                       \
    X(Sample, "rel", "One counted sample (thread << 40 | index)", 1)    \
    X(Outer, "rel", "Soak: outer scope", 2)                              \
    X(Inner, "rel", "Soak: inner scope", 2)

QPULSE_DECLARE_SET(rel, REL_OPS)
QPULSE_DEFINE_SET(rel, REL_OPS)

#define PROGRESS_STRIDE 8   /* uint64s per thread: one cache line each */

static unsigned nthreads = 1, hold, nested, wait_eof;
static unsigned long total_threads;
static uint64_t nsamples = 1000;
static unsigned long sleep_us;
static uint64_t *progress;          /* shared mapping, or NULL */
static pthread_barrier_t barrier;
static uint64_t attempted;          /* summed at thread exit */
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long next_index;    /* churn: next thread number */

static void nap(unsigned long us)
{
    struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void burn(unsigned n)
{
    volatile unsigned x = 0;
    for (unsigned i = 0; i < n; i++)
        x += i;
}

static uint64_t run_thread(unsigned long k)
{
    uint64_t i;
    for (i = 0; nsamples == 0 || i < nsamples; i++) {
        if (progress)
            /* Before the sample: after a SIGKILL this count is at most one
             * ahead of what was published or counted as dropped. */
            __atomic_store_n(&progress[k * PROGRESS_STRIDE], i + 1, __ATOMIC_RELAXED);
        QPULSE_RECORD(rel, Sample, (uint64_t)k << 40 | i);
        if (nested) {
            QPULSE_SCOPE(rel, Outer);
            burn(50);
            {
                QPULSE_SCOPE(rel, Inner);
                burn(100);
            }
        }
        if (i == 0 && hold)
            pthread_barrier_wait(&barrier);
        if (sleep_us)
            nap(sleep_us);
    }
    return i;
}

static void *thread_main(void *arg)
{
    uint64_t n = run_thread((unsigned long)(uintptr_t)arg);
    pthread_mutex_lock(&sum_lock);
    attempted += n;
    pthread_mutex_unlock(&sum_lock);
    return NULL;
}

static int claim_index(unsigned long *k)
{
    pthread_mutex_lock(&sum_lock);
    int ok = next_index < total_threads;
    if (ok)
        *k = next_index++;
    pthread_mutex_unlock(&sum_lock);
    return ok;
}

/* Churn driver: keeps THREADS pthreads alive, each a fresh one. */
static void *churn_main(void *arg)
{
    (void)arg;
    unsigned long k;
    while (claim_index(&k)) {
        pthread_t t;
        if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)k) != 0) {
            perror("pthread_create");
            exit(2);
        }
        pthread_join(t, NULL);
    }
    return NULL;
}

static uint64_t *map_progress(const char *path, size_t slots)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    size_t len = slots * PROGRESS_STRIDE * sizeof(uint64_t);
    if (ftruncate(fd, (off_t)len) < 0) {
        perror("ftruncate");
        exit(2);
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *progress_path = NULL;
    int quiet = 0, opt;
    while ((opt = getopt(argc, argv, "t:n:p:bc:s:rqw")) != -1) {
        switch (opt) {
        case 't': nthreads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': nsamples = strtoull(optarg, NULL, 10); break;
        case 'p': progress_path = optarg; break;
        case 'b': hold = 1; break;
        case 'c': total_threads = strtoul(optarg, NULL, 10); break;
        case 's': sleep_us = strtoul(optarg, NULL, 10); break;
        case 'r': nested = 1; break;
        case 'q': quiet = 1; break;
        case 'w': wait_eof = 1; break;
        default:
            return tu_usage("%s [-t N] [-n N] [-p FILE] [-b] [-c N] [-s US] [-r] [-q]",
                            argv[0]);
        }
    }
    if (nthreads == 0 || nthreads > 4096 || (hold && total_threads)) {
        fprintf(stderr, "bad -t, or -b with -c\n");
        return 2;
    }
    if (progress_path)
        progress = map_progress(progress_path, total_threads ? total_threads : nthreads);
    if (hold)
        pthread_barrier_init(&barrier, NULL, nthreads);
    pthread_t *t = calloc(nthreads, sizeof *t);
    if (!t)
        return 2;
    for (unsigned long k = 0; k < nthreads; k++) {
        int r = total_threads ? pthread_create(&t[k], NULL, churn_main, NULL)
                              : pthread_create(&t[k], NULL, thread_main, (void *)(uintptr_t)k);
        if (r != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(r));
            return 2;
        }
    }
    for (unsigned k = 0; k < nthreads; k++)
        pthread_join(t[k], NULL);
    free(t);
    if (!quiet)
        printf("attempted=%llu recorded=%llu dropped=%llu\n", (unsigned long long)attempted,
               (unsigned long long)qpulse_recorded(), (unsigned long long)qpulse_dropped());
    fflush(stdout);
    if (wait_eof) {
        char buf[64];
        while (read(0, buf, sizeof buf) > 0)
            ;
    }
    return 0;
}
