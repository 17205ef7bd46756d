/*
 * procstat.c — what /proc says of a process: its command line, CPU use
 * and resident memory.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procs.h"
#include "qpulsed.h"

/* The command line of p, as the process shows it now (a server may
 * rewrite it: "nginx: worker process"); kept as it was when unreadable. */
void proc_cmdline(struct proc *p)
{
    char path[64], buf[sizeof p->cmdline];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)p->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0)
        return;
    memcpy(p->cmdline, buf, (size_t)n);
    p->cmdline_len = (unsigned)n;
}

/* utime + stime (clock ticks) and resident bytes of pid; 0 or -1. */
static int read_proc_usage(pid_t pid, uint64_t *ticks, uint64_t *rss)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *s = strrchr(buf, ')');   /* comm may hold spaces and parentheses */
    unsigned long long ut, stt;
    if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &stt) != 2)
        return -1;
    *ticks = ut + stt;
    snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unsigned long long size, res;
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2)
        return -1;
    *rss = res * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

void proc_usage(struct proc *p, int64_t now)
{
    proc_cmdline(p);
    uint64_t ticks, rss;
    if (read_proc_usage(p->pid, &ticks, &rss) < 0) {
        p->cpu_pct = -1;
        return;
    }
    p->rss_bytes = rss;
    if (p->cpu_mono && now > p->cpu_mono && ticks >= p->cpu_ticks) {
        double secs = (double)(now - p->cpu_mono) / 1e9;
        p->cpu_pct = (double)(ticks - p->cpu_ticks) / (double)sysconf(_SC_CLK_TCK) / secs * 100.0;
    }
    p->cpu_ticks = ticks;
    p->cpu_mono = now;
}

