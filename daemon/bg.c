/*
 * bg.c — long writes in a forked child (see bg.h).  Rendering a trace of
 * 1.5 million samples takes the daemon seconds; done in the main loop it
 * stopped the drain for that long, and a producer recording at 1 M
 * samples/s dropped most of what it recorded meanwhile.  A fork costs the
 * copy of the page tables (milliseconds at a few hundred MB), and the
 * pages the daemon writes afterwards are copied as it writes them.
 *
 * The drain threads (--threads) are parked while the main loop runs, and
 * the child touches nothing but memory, its one descriptor and the log.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "common.h"
#include "log.h"
#include "qpulsed.h"

#define BG_MAX 4

int bg_off;

static struct {
    pid_t pid;
    void (*done)(int ok);
    char what[64];
} kids[BG_MAX];

/* In the child: every descriptor but 0-2, the log's and keep_fd.  Only
 * those below the soft limit: above it may lie a tool's own (valgrind's),
 * which the program must not close. */
static void close_others(int keep_fd)
{
    struct rlimit rl;
    long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (long)rl.rlim_cur
                   : 1L << 20;
    int logfd = log_fileno();
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int dfd = dirfd(d);
    int v[256], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < (int)(sizeof v / sizeof v[0])) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end || end == de->d_name || fd <= 2 || fd >= lim || fd == dfd || fd == keep_fd ||
            fd == logfd)
            continue;
        v[n++] = (int)fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        close(v[i]);
}

pid_t bg_fork(const char *what, int keep_fd, void (*done)(int ok))
{
    if (bg_off)
        return -1;
    int slot = -1;
    for (int i = 0; i < BG_MAX && slot < 0; i++)
        if (!kids[i].pid)
            slot = i;
    if (slot < 0) {
        log_info("%s: %d writers running already; writing it in the daemon", what, BG_MAX);
        return -1;
    }
    pid_t parent = getpid();
    int64_t t0 = mono_ns();
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("%s: cannot fork a writer (%s); writing it in the daemon", what,
                 strerror(errno));
        return -1;
    }
    if (pid > 0) {
        kids[slot].pid = pid;
        kids[slot].done = done;
        snprintf(kids[slot].what, sizeof kids[slot].what, "%s", what);
        log_debug("%s: writer pid %ld forked in %.2f ms", what, (long)pid,
                  (double)(mono_ns() - t0) / 1e6);
        return pid;
    }
    /* The child: gone with the daemon, however the daemon ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    log_as_pid(parent);
    close_others(keep_fd);
    return 0;
}

void bg_exit(int status)
{
    _exit(status ? 1 : 0);
}

static void reaped(int i, int st)
{
    void (*done)(int) = kids[i].done;
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && kids[i].pid < 0)
        ;   /* bg_kill's */
    else if (WIFSIGNALED(st))
        log_warn("%s: the writer (pid %ld) was killed by signal %d", kids[i].what,
                 (long)kids[i].pid, WTERMSIG(st));
    else if (WIFEXITED(st) && WEXITSTATUS(st))
        log_info("%s: the writer (pid %ld) did not finish", kids[i].what, (long)kids[i].pid);
    kids[i].pid = 0;
    kids[i].done = NULL;
    if (done)
        done(ok);
}

void bg_reap(void)
{
    for (int i = 0; i < BG_MAX; i++) {
        int st;
        if (kids[i].pid && waitpid(kids[i].pid, &st, WNOHANG) == kids[i].pid)
            reaped(i, st);
    }
}

void bg_kill(pid_t pid)
{
    for (int i = 0; i < BG_MAX; i++) {
        if (pid <= 0 || kids[i].pid != pid)
            continue;
        kill(pid, SIGKILL);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        kids[i].pid = -pid;   /* killed on purpose: not logged */
        reaped(i, st);
    }
}

unsigned bg_running(void)
{
    unsigned n = 0;
    for (int i = 0; i < BG_MAX; i++)
        n += kids[i].pid != 0;
    return n;
}

void bg_finish(int64_t limit_ns)
{
    int64_t end = mono_ns() + limit_ns;
    while (bg_running() && mono_ns() < end) {
        bg_reap();
        if (bg_running()) {
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < BG_MAX; i++) {
        if (!kids[i].pid)
            continue;
        log_warn("%s: the writer (pid %ld) is still busy at shutdown; stopping it",
                 kids[i].what, (long)kids[i].pid);
        bg_kill(kids[i].pid);
    }
}
