/*
 * attach_prod.c — a short-lived instrumented process for the attach test:
 * records a burst of SAMPLES samples at once (its first sample creates its
 * segment), then watches its own segment until a daemon has attached (the
 * daemon's pid in the segment's consumer region), prints
 *
 *   attach_us=D recorded=R dropped=X
 *
 * with D the microseconds from just before its first sample to the moment
 * it saw the daemon attached (-1 when none did within 5 s), and exits.
 *
 *   attach_prod [-n SAMPLES]       (default 1000)
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "common.h"
#include "layout.h"
#include "qpulse.h"
#include "testutil.h"

#define ATTACH_OPS(X) X(Burst, "test", "a short-lived process's samples", 1)
QPULSE_DECLARE_SET(attach, ATTACH_OPS)
QPULSE_DEFINE_SET(attach, ATTACH_OPS)

/* This process's segment's consumer region, mapped read-only; NULL while
 * it cannot be opened. */
static const struct qp_consumer *consumer(void)
{
    const char *ns = qp_ns_from_env();
    char name[128];
    if (!ns || qp_seg_name(name, sizeof name, ns, getpid(), qp_proc_starttime(getpid()), 0) < 0)
        return NULL;
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct qp_seg_header h;
    void *p = MAP_FAILED;
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && h.magic == QP_MAGIC)
        p = mmap(NULL, h.consumer_size, PROT_READ, MAP_SHARED, fd, (off_t)h.consumer_off);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
    unsigned long n = 1000;
    int c;
    while ((c = getopt(argc, argv, "n:")) != -1) {
        if (c == 'n')
            n = strtoul(optarg, NULL, 10);
        else {
            return tu_usage("attach_prod [-n SAMPLES]");
        }
    }
    double t0 = (double)tu_now_ns() / 1e3;
    for (unsigned long i = 0; i < n; i++)
        QPULSE_RECORD(attach, Burst, 1000 + (i & 1023));
    const struct qp_consumer *cons = NULL;
    double t = (double)tu_now_ns() / 1e3, delay = -1;
    while (t - t0 < 5e6) {
        if (!cons)
            cons = consumer();
        if (cons && qp_load_acquire(&cons->daemon_pid) > 0) {
            delay = t - t0;
            break;
        }
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
        t = (double)tu_now_ns() / 1e3;
    }
    printf("attach_us=%.0f recorded=%llu dropped=%llu\n", delay,
           (unsigned long long)qpulse_recorded(), (unsigned long long)qpulse_dropped());
    return 0;
}
