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

#include "atomics.h"
#include "common.h"
#include "layout.h"
#include "preload.h"

/* Marks one earlier image's segment exited; 1 when it was one. */
static int reap_one(const char *name, pid_t pid)
{
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct stat sb;
    int ours = 0;
    if (fstat(fd, &sb) == 0 && sb.st_uid == getuid() && (size_t)sb.st_size >= QP_HEADER_SIZE) {
        struct qp_seg_header *h =
            mmap(NULL, QP_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (h != MAP_FAILED) {
            if (qp_load_acquire(&h->magic) == QP_MAGIC && h->pid == pid) {
                /* Pairs with the acquire load in qp_reader_exited(), as the
                 * store in qpulse_shutdown() does. */
                qp_store_release(&h->state, QP_STATE_EXITED);
                ours = 1;
            }
            munmap(h, QP_HEADER_SIZE);
        }
    }
    close(fd);
    return ours;
}

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
    int n = snprintf(prefix, sizeof prefix, "qpulse.%s.%ld.", ns, (long)pid);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return;
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
        if (strncmp(de->d_name, prefix, (size_t)n) != 0)
            continue;
        char sns[QP_NAME_MAX];
        pid_t spid;
        uint64_t sst;
        if (qp_seg_name_parse(de->d_name, sns, sizeof sns, &spid, &sst, NULL) < 0 ||
            spid != pid || strcmp(sns, ns) != 0)
            continue;
        if (!st && !(st = qp_proc_starttime(pid)))
            break;
        if (sst != st)
            continue;   /* an earlier process that had this pid */
        char name[300];
        snprintf(name, sizeof name, "/%.280s", de->d_name);
        if (!reap_one(name, pid))
            continue;
        if (daemon < 0)
            daemon = qp_daemon_running(ns);
        if (!daemon)
            shm_unlink(name);
    }
    close(d);
}
