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
#include <sys/mman.h>
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
    int killed;              /* by bg_kill: not logged */
    bg_done_fn *done;
    char what[64];
} kids[BG_MAX];

/* What each child says of its end, in memory shared with it: a child ends
 * with SIGKILL (bg_exit), so its exit status cannot carry it. */
static struct bg_result {
    int32_t ended;           /* bg_exit was reached */
    int32_t status;
    int64_t work_ns;
} *results;
static int my_slot = -1;     /* in a child: its slot */

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

pid_t bg_fork(const char *what, int keep_fd, bg_done_fn *done)
{
    if (bg_off)
        return -1;
    if (!results) {
        void *m = mmap(NULL, sizeof *results * BG_MAX, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            log_warn("%s: cannot map the writers' results (%s); writing it in the daemon", what,
                     strerror(errno));
            return -1;
        }
        results = m;
    }
    int slot = -1;
    for (int i = 0; i < BG_MAX && slot < 0; i++)
        if (!kids[i].pid)
            slot = i;
    if (slot < 0) {
        log_info("%s: %d writers running already; writing it in the daemon", what, BG_MAX);
        return -1;
    }
    memset(&results[slot], 0, sizeof results[slot]);
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
        kids[slot].killed = 0;
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
    my_slot = slot;
    log_as_pid(parent);
    close_others(keep_fd);
    return 0;
}

/* The child's end: its result into the shared page, then SIGKILL.  It is a
 * copy of the daemon: nothing needs freeing, flushing or unlinking, and a
 * leak checker (valgrind in CI) would otherwise scan the whole copied heap
 * for seconds at its exit. */
void bg_exit(int status, int64_t work_ns)
{
    if (my_slot >= 0 && results) {
        results[my_slot].status = status;
        results[my_slot].work_ns = work_ns;
        __atomic_store_n(&results[my_slot].ended, 1, __ATOMIC_RELEASE);
    }
    kill(getpid(), SIGKILL);
    _exit(status ? 1 : 0);
}

static void reaped(int i, int st)
{
    bg_done_fn *done = kids[i].done;
    const struct bg_result *res = &results[i];
    int ended = __atomic_load_n(&res->ended, __ATOMIC_ACQUIRE);
    int ok = ended && res->status == 0;
    if (kids[i].killed)
        ;   /* bg_kill's */
    else if (!ended && WIFSIGNALED(st))
        log_warn("%s: the writer (pid %ld) was killed by signal %d", kids[i].what,
                 (long)kids[i].pid, WTERMSIG(st));
    else if (!ok)
        log_info("%s: the writer (pid %ld) did not finish", kids[i].what, (long)kids[i].pid);
    int64_t work = ended ? res->work_ns : 0;
    kids[i].pid = 0;
    kids[i].done = NULL;
    if (done)
        done(ok, work);
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
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        kids[i].killed = 1;
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
