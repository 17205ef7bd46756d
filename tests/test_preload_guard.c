/*
 * test_preload_guard.c — the hooks of libqpulse-preload and their recursion
 * guard, in a real process with a real segment.
 *
 * The hooks (preload/hooks.c) are linked into this test program itself, so
 * they interpose libc here exactly as LD_PRELOAD makes them do elsewhere,
 * and the test can switch groups and hold the guard directly.  They start
 * switched off (QPULSE_HOOKS=none, set by a constructor that runs before
 * the hooks' own) so that Criterion's runner records nothing; each test
 * turns on what it checks, in a namespace of its own.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "qpulse.h"
#include "reader.h"
#include "testutil.h"

/* A set of the program's own, as a program that also uses the macros. */
#define APP_OPS(X) X(Work, "app", "the program's own scope", 1)
QPULSE_DECLARE_SET(app, APP_OPS)
QPULSE_DEFINE_SET(app, APP_OPS)

__attribute__((constructor(101))) static void hooks_off_at_start(void)
{
    setenv("QPULSE_HOOKS", "none", 1);
}

static char ns[64];

static void setup(void)
{
    tu_worker_ns(ns, sizeof ns, "t-plguard");
    setenv("QPULSE_NS", ns, 1);
    setenv("QPULSE_RUNTIME_DIR", "/nonexistent-qpulse-test", 1);
}

static void teardown(void)
{
    qp_preload_set_mask(0);
    qpulse_shutdown();   /* no daemon in this namespace: removes the segment */
}

TestSuite(guard, .init = setup, .fini = teardown, .timeout = 60);
TU_SWEEP_SHM("t-plguard")

static int devnull(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open /dev/null");
    return fd;
}

Test(guard, segment_creation_inside_a_hook_records_only_the_call)
{
    int fd = devnull();
    qp_preload_set_mask(QP_HOOK_ALL);
    cr_assert_eq(qpulse_recorded(), 0, "no segment before the first sample");
    /* The first write creates the segment from inside the hook: shm_open,
     * /proc reads, malloc, a mutex — with every group on.  Any of them
     * recorded (or re-entering the recorder) would show here or hang. */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(write(fd, "x", 1), 1, "write %d returns 1", i);
    uint64_t n = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq(n, 100, "exactly the 100 writes are recorded, got %llu",
                 (unsigned long long)n);
    close(fd);
}

static void *noop(void *arg)
{
    return arg;
}

Test(guard, segment_creation_by_the_programs_macros_is_not_recorded)
{
    qp_preload_set_mask(QP_HOOK_ALL);
    /* The program's own first sample creates the segment outside any hook:
     * libqpulse's calls then (open/read of /proc, its mutex) must pass
     * through — recording them would re-enter the creation and deadlock. */
    {
        QPULSE_SCOPE(app, Work);
    }
    uint64_t n = qpulse_recorded();
    /* fork and thread exit run library code too (mem off now: pthread_create
     * allocates for the program, and that is rightly recorded). */
    qp_preload_set_mask(QP_HOOK_ALL & ~QP_HOOK_MEM);
    pid_t pid = fork();
    if (pid == 0)
        _exit(qpulse_recorded() == 0 ? 0 : 1);
    int st;
    waitpid(pid, &st, 0);
    pthread_t t;
    pthread_create(&t, NULL, noop, NULL);
    pthread_join(t, NULL);
    uint64_t after = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq(n, 1, "only the program's scope is recorded, got %llu", (unsigned long long)n);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child starts with no samples");
    cr_assert_eq(after, n + 0, "thread start/exit and fork recorded nothing hooked here "
                 "(got %llu more)", (unsigned long long)(after - n));
}

Test(guard, held_guard_passes_calls_through_unrecorded)
{
    int fd = devnull();
    qp_preload_set_mask(QP_HOOK_IO);
    cr_assert_eq(write(fd, "x", 1), 1, "first write");
    uint64_t before = qpulse_recorded();
    qp_guard_enter();
    for (int i = 0; i < 50; i++)
        cr_assert_eq(write(fd, "x", 1), 1, "guarded write %d still writes", i);
    qp_guard_leave();
    uint64_t guarded = qpulse_recorded();
    cr_assert_eq(write(fd, "x", 1), 1, "write after the guard");
    uint64_t after = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq(before, 1, "the first write was recorded");
    cr_assert_eq(guarded, before, "calls under the guard are not recorded");
    cr_assert_eq(after, before + 1, "recording resumes when the guard is left");
    close(fd);
}

Test(guard, groups_switch_hooks)
{
    int fd = devnull();
    qp_preload_set_mask(QP_HOOK_IO);
    cr_assert_eq(write(fd, "x", 1), 1, "first write");
    uint64_t before = qpulse_recorded();
    void *volatile p;   /* volatile: the compiler may drop a malloc/free pair */
    for (int i = 0; i < 20; i++) {
        p = malloc(64);     /* mem is off */
        free(p);
    }
    int cfd = devnull();    /* fs is off */
    close(cfd);
    uint64_t after = qpulse_recorded();
    qp_preload_set_mask(QP_HOOK_MEM);
    for (int i = 0; i < 20; i++) {
        p = malloc(64);
        free(p);
    }
    uint64_t mem = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq(after, before, "groups that are off record nothing");
    cr_assert_eq(mem, after + 40, "20 malloc + 20 free recorded with mem on");
    close(fd);
}

Test(guard, errno_and_results_pass_through)
{
    qp_preload_set_mask(QP_HOOK_ALL);
    char buf[8];
    /* The failing call is the process's first sample: the segment is
     * created after it, and must not disturb its errno. */
    errno = 0;
    cr_assert_eq(read(-1, buf, 1), -1, "read(-1) fails");
    cr_assert_eq(errno, EBADF, "errno is EBADF, not %d (%s)", errno, strerror(errno));
    cr_assert_eq(qpulse_recorded(), 1, "and the failed call was recorded");

    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    memset(buf, 0x55, sizeof buf);
    errno = 4242;
    cr_assert_eq(read(fd, buf, sizeof buf), (ssize_t)sizeof buf, "read returns the count");
    cr_assert_eq(errno, 4242, "a successful call leaves errno alone");
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0, "the data arrived");
    close(fd);

    errno = 0;
    void *p = malloc(SIZE_MAX / 2);
    int e = errno;
    qp_preload_set_mask(0);
    cr_assert_null(p, "a huge malloc fails");
    cr_assert_eq(e, ENOMEM, "with ENOMEM");
    cr_assert_eq(open("/nonexistent/qpulse", O_RDONLY), -1, "open fails");
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;

static void *hold_a_while(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held);
    holding = 1;
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(&held);
    return NULL;
}

Test(guard, only_contended_locks_are_recorded)
{
    qp_preload_set_mask(QP_HOOK_LOCK);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(pthread_mutex_lock(&m), 0, "lock %d", i);
        pthread_mutex_unlock(&m);
    }
    uint64_t uncontended = qpulse_recorded();
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_a_while, NULL), 0, "holder starts");
    while (!holding)
        sched_yield();
    cr_assert_eq(pthread_mutex_lock(&held), 0, "the contended lock is taken");
    pthread_mutex_unlock(&held);
    pthread_join(t, NULL);
    uint64_t contended = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq(uncontended, 0, "uncontended locks record nothing");
    cr_assert_eq(contended, 1, "one wait recorded");
}

/* ---------------------------------------------------------------------- */
/* A signal handler that calls a hooked function                           */
/* ---------------------------------------------------------------------- */

static int sig_pipe[2];
static volatile pid_t reader_tid;

static void on_usr1(int sig)
{
    (void)sig;
    int e = errno;
    if (write(sig_pipe[1], "s", 1) != 1)
        abort();
    errno = e;
}

static void *block_in_read(void *arg)
{
    char c;
    (void)arg;
    reader_tid = (pid_t)syscall(SYS_gettid);
    ssize_t n = read(sig_pipe[0], &c, 1);
    return (void *)(intptr_t)n;
}

/* 'S' when the thread sleeps in the kernel (here: in read on the pipe). */
static char task_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] ? p[2] : '?';
}

static int find_segment(char *name, size_t len)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "qpulse.%s.%ld.", ns, (long)getpid());
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    int found = -1;
    while (d && (de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix)) && strlen(de->d_name) + 2 <= len) {
            name[0] = '/';
            memcpy(name + 1, de->d_name, strlen(de->d_name) + 1);
            found = 0;
        }
    if (d)
        closedir(d);
    return found;
}

struct seen {
    const qp_reader_t *r;
    int reads, writes, nested_writes;
};

static void count_events(void *ctx, const qp_event_t *ev, size_t n)
{
    struct seen *s = ctx;
    for (size_t i = 0; i < n; i++) {
        const qp_op_info_t *op = qp_reader_op(s->r, ev[i].op);
        if (strcmp(op->set, "libc"))
            continue;
        if (!strcmp(op->name, "read"))
            s->reads++;
        if (!strcmp(op->name, "write")) {
            s->writes++;
            const qp_op_info_t *par = ev[i].parent ? qp_reader_op(s->r, ev[i].parent - 1) : NULL;
            if (par && !strcmp(par->name, "read"))
                s->nested_writes++;
        }
    }
}

Test(guard, signal_handler_calls_are_recorded_nested)
{
    cr_assert_eq(pipe(sig_pipe), 0, "pipe");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    qp_preload_set_mask(QP_HOOK_IO);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, block_in_read, NULL), 0, "reader starts");
    /* Our own polling must not be recorded: hold the guard. */
    qp_guard_enter();
    for (int i = 0; i < 6000 && (!reader_tid || task_state(reader_tid) != 'S'); i++)
        usleep(5000);
    char state = task_state(reader_tid);
    qp_guard_leave();
    cr_assert_eq(state, 'S', "the reader blocks in read()");
    pthread_kill(t, SIGUSR1);
    void *res;
    pthread_join(t, &res);
    qp_preload_set_mask(0);
    cr_assert_eq((intptr_t)res, 1, "read() got the byte the handler wrote");

    char name[256];
    cr_assert_eq(find_segment(name, sizeof name), 0, "this process has a segment");
    qp_reader_t *r;
    char err[256];
    cr_assert_eq(qp_reader_open(&r, name, QP_READER_CONSUME, err, sizeof err), 0, "open: %s", err);
    cr_assert_eq(qp_reader_refresh(r, err, sizeof err), 0, "refresh: %s", err);
    struct seen s = { r, 0, 0, 0 };
    while (qp_reader_drain(r, count_events, &s, 1u << 16) > 0)
        ;
    qp_reader_close(r);
    cr_assert_eq(s.reads, 1, "one read recorded, got %d", s.reads);
    cr_assert_eq(s.writes, 1, "the handler's write recorded, got %d", s.writes);
    cr_assert_eq(s.nested_writes, 1, "the handler's write nests under the interrupted read");
}

/* ---------------------------------------------------------------------- */
/* fork, and programs that close descriptors                               */
/* ---------------------------------------------------------------------- */

Test(guard, forked_child_records_into_its_own_segment)
{
    int fd = devnull();
    qp_preload_set_mask(QP_HOOK_IO);
    cr_assert_eq(write(fd, "x", 1), 1, "parent writes once");
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            if (write(fd, "x", 1) != 1)
                _exit(10);
        char name[256];
        int ok = qpulse_recorded() == 3 && find_segment(name, sizeof name) == 0;
        qp_preload_set_mask(0);
        qpulse_shutdown();
        _exit(ok ? 0 : 11);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");
    uint64_t n = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the child recorded its 3 writes in a segment named with its pid (status %d)", st);
    cr_assert_eq(n, 1, "the parent's segment holds only the parent's write");
    close(fd);
}

/* The fd of this process's segment, from /proc/self/fd. */
static int segment_fd(void)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "/dev/shm/qpulse.%s.%ld.", ns, (long)getpid());
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int found = -1;
    while (d && (de = readdir(d))) {
        char path[300 + sizeof de->d_name], target[300];
        snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            if (!strncmp(target, prefix, strlen(prefix)))
                found = atoi(de->d_name);
        }
    }
    if (d)
        closedir(d);
    return found;
}

static void *write_once(void *arg)
{
    int fd = *(int *)arg;
    return (void *)(intptr_t)write(fd, "x", 1);
}

Test(guard, closed_and_reused_segment_fd_is_left_alone)
{
    int fd = devnull();
    qp_preload_set_mask(QP_HOOK_IO);
    cr_assert_eq(write(fd, "x", 1), 1, "the first write creates the segment");
    int sfd = segment_fd();
    cr_assert_geq(sfd, 0, "the segment's fd is open");
    /* What a daemonising program does: close every descriptor, then open
     * files of its own — one lands on the number the segment had. */
    char path[] = "/tmp/qpulse-plguard-XXXXXX";
    int tf = mkstemp(path);
    cr_assert_geq(tf, 0, "mkstemp");
    unlink(path);
    close(sfd);
    cr_assert_eq(dup2(tf, sfd), sfd, "a file of the program takes the number");
    close(tf);
    /* A new thread claims a fresh slot, which reserves its ring memory. */
    pthread_t t;
    void *res;
    cr_assert_eq(pthread_create(&t, NULL, write_once, &fd), 0, "thread starts");
    pthread_join(t, &res);
    uint64_t n = qpulse_recorded();
    qp_preload_set_mask(0);
    struct stat sb;
    cr_assert_eq(fstat(sfd, &sb), 0, "fstat");
    cr_assert_eq(sb.st_size, 0, "the program's file was not extended (size %lld)",
                 (long long)sb.st_size);
    cr_assert_eq((intptr_t)res, 1, "the thread's write worked");
    cr_assert_eq(n, 2, "and was recorded through the reopened segment");
    close(sfd);
    close(fd);
}

/* ---------------------------------------------------------------------- */
/* Threads that started before the hooks were on, and after                */
/* ---------------------------------------------------------------------- */

static int go_pipe[2];
static volatile pid_t early_tid;

static void *wait_then_write(void *arg)
{
    int fd = *(int *)arg, n = 0;
    char c;
    early_tid = (pid_t)syscall(SYS_gettid);
    if (read(go_pipe[0], &c, 1) != 1)   /* begun while the hooks are off */
        return NULL;
    for (int i = 0; i < 5; i++)
        n += write(fd, "x", 1) == 1;
    return (void *)(intptr_t)n;
}

static void *write_three(void *arg)
{
    int fd = *(int *)arg, n = 0;
    for (int i = 0; i < 3; i++)
        n += write(fd, "x", 1) == 1;
    return (void *)(intptr_t)n;
}

Test(guard, threads_from_before_and_after_the_hooks_are_recorded)
{
    int fd = devnull();
    cr_assert_eq(pipe(go_pipe), 0, "pipe");
    pthread_t early, late;
    void *r1, *r2;
    cr_assert_eq(pthread_create(&early, NULL, wait_then_write, &fd), 0, "early thread");
    /* Hooks on only once the early thread sleeps in its read. */
    for (int i = 0; i < 6000 && (!early_tid || task_state(early_tid) != 'S'); i++)
        usleep(5000);
    cr_assert_eq(task_state(early_tid), 'S', "the early thread blocks in read()");
    qp_preload_set_mask(QP_HOOK_IO);
    cr_assert_eq(write(go_pipe[1], "g", 1), 1, "wake the early thread");
    pthread_join(early, &r1);
    cr_assert_eq(pthread_create(&late, NULL, write_three, &fd), 0, "late thread");
    pthread_join(late, &r2);
    uint64_t n = qpulse_recorded();
    qp_preload_set_mask(0);
    cr_assert_eq((intptr_t)r1, 5, "the early thread wrote");
    cr_assert_eq((intptr_t)r2, 3, "the late thread wrote");
    /* 1 (main's write) + 5 (early thread; its read began before) + 3 */
    cr_assert_eq(n, 9, "every call made while the hooks are on is recorded, got %llu",
                 (unsigned long long)n);
}
