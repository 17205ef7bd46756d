/*
 * procstat.c — what /proc says of a process: its command line, CPU use
 * and resident memory.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "procs.h"
#include "qpulsed.h"

/* The command line of p, as the process shows it now (a server may
 * rewrite it: "nginx: worker process"); kept as it was when unreadable. */
void proc_cmdline(struct proc *p)
{
    ssize_t n = qp_proc_cmdline(p->pid, p->cmdline, sizeof p->cmdline);
    if (n > 0)
        p->cmdline_len = (unsigned)n;   /* else kept as it was */
}

void proc_usage(struct proc *p, int64_t now)
{
    proc_cmdline(p);
    uint64_t ticks, rss;
    if (qp_proc_usage(p->pid, &ticks, &rss) < 0) {
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

