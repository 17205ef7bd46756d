/*
 * reap.c — the segments that earlier program images of this process left
 * behind.
 *
 * exec() replaces a profiled image without running its exit path, so its
 * segment stays marked alive (the pid, and the start time, are the same)
 * and, with no daemon running, nobody would ever remove it.  Under
 * LD_PRELOAD every image of the chain loads this library, so at load time
 * it hands the previous images' segments over exactly as their exit path
 * would have: marked exited (a daemon drains and removes them), or removed
 * when no daemon of the namespace runs.
 *
 * Runs in the constructor, under the recursion guard, before this image
 * has a segment of its own (the caller checks), unless `qpulse run` said
 * this image is its process's first under the preload
 * (qp_preload_first_image()): then there is nothing to hand over.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "common.h"
#include "layout.h"
#include "preload.h"

/* Misses in a row after which no earlier image's segment is looked for. */
#define REAP_MISSES 2u
/* As many seqs as an image tries when it creates its segment. */
#define REAP_SEQ_MAX 64u

int qp_preload_first_image(void)
{
    const char *v = getenv(QP_ENV_FIRST_IMAGE);
    if (!v)
        return 0;
    long long n = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9' && n < (1ll << 40); p++)
        n = n * 10 + (*p - '0');
    int first = p != v && !*p && n == (long long)getpid();
    /* Said once: a later image of this process (after exec) is not the
     * first, and the program's environment is as it would be without us.
     * The constructor runs before the program has threads. */
    unsetenv(QP_ENV_FIRST_IMAGE);
    return first;
}

void qp_preload_reap(void)
{
    const char *ns = qp_ns_from_env();
    if (!ns)
        return;
    /* qpulse.<ns>.<pid>.<starttime>.<seq>: the seq tells the images apart.
     * The names are tried one by one, not found by listing /dev/shm: a
     * listing costs in proportion to everything there (150 us at a
     * thousand segments, in every program started), a try is one failed
     * open.  An image takes the lowest seq free when it creates its
     * segment, so earlier images' segments sit at the low seqs; a daemon
     * may have removed a lower one since (a hole), hence a second miss
     * before giving up.  One missed in a longer hole stays marked alive
     * until the process exits; the daemon then drains and removes it. */
    pid_t pid = getpid();
    uint64_t st = qp_self_starttime(pid);   /* kept for this image's own segment */
    if (!st)
        return;
    int daemon = -1;
    unsigned misses = 0;
    for (unsigned seq = 0; seq < REAP_SEQ_MAX && misses < REAP_MISSES; seq++) {
        char name[300];
        if (qp_seg_name(name, sizeof name, ns, pid, st, seq) < 0)
            return;
        int r = qp_seg_mark_exited(name, pid);
        misses = r < 0 ? misses + 1 : 0;
        if (r <= 0)
            continue;
        if (daemon < 0)
            daemon = qp_daemon_running(ns);
        if (!daemon)
            shm_unlink(name);
    }
}
