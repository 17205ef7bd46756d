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
 * has a segment of its own (the caller checks).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "preload.h"

void qp_preload_reap(void)
{
    const char *ns = qp_ns_from_env();
    pid_t pid = getpid();
    char prefix[160];
    if (!ns)
        return;
    /* qpulse.<ns>.<pid>.<starttime>.<seq>: the seq tells the images apart.
     * Matched on the pid first: this process's start time (a read of
     * /proc/PID/stat) is needed only when a segment of this pid is there,
     * which is rare — most images are the first of their process. */
    if (qp_seg_pid_prefix(prefix, sizeof prefix, ns, pid) < 0)
        return;
    size_t n = strlen(prefix);
    /* getdents64() into a buffer on the stack, not opendir(): that one
     * allocates 32 KiB, which in a program that has not allocated yet is
     * the heap's creation (system calls and page faults), in every image. */
    int d = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return;
    int daemon = -1;
    uint64_t st = 0;
    _Alignas(8) char buf[4096];
    ssize_t got = 0, at = 0;
    for (;;) {
        if (at >= got) {
            got = getdents64(d, buf, sizeof buf);
            at = 0;
            if (got <= 0)
                break;
        }
        struct dirent64 *de = (struct dirent64 *)(void *)(buf + at);
        at += de->d_reclen;
        if (strncmp(de->d_name, prefix, n) != 0)
            continue;
        char sns[QP_NAME_MAX];
        pid_t spid;
        uint64_t sst;
        unsigned seq;
        if (qp_seg_name_parse(de->d_name, sns, sizeof sns, &spid, &sst, &seq) < 0 ||
            spid != pid || strcmp(sns, ns) != 0)
            continue;
        if (!st && !(st = qp_proc_starttime(pid)))
            break;
        if (sst != st)
            continue;   /* an earlier process that had this pid */
        char name[QP_NAME_MAX + 64];
        if (qp_seg_name(name, sizeof name, ns, pid, sst, seq) < 0 ||
            !qp_seg_mark_exited(name, pid))
            continue;
        if (daemon < 0)
            daemon = qp_daemon_running(ns);
        if (!daemon)
            shm_unlink(name);
    }
    close(d);
}
