/*
 * hooks.c — libqpulse-preload.so: times the libc calls of an unmodified,
 * dynamically linked program (LD_PRELOAD, see `qpulse run`) into the
 * process's qpulse segment, as the operation set `libc`.
 *
 * Each hook is the libc function of the same name: it finds the next
 * definition with dlsym(RTLD_NEXT) and, when its group is on, wraps the
 * call in an ordinary qpulse scope — so the samples go through the same hot
 * path, ring and segment as the QPULSE_* macros, and a hooked call made
 * inside a macro scope is nested under it (and out of its self time).
 *
 * Where preload libraries usually break, and what this one does:
 *  - dlsym() may allocate before the real malloc is known: those calls are
 *    served by the bootstrap arena (bootstrap.c), which free() recognises.
 *  - recursion: recording a sample may create the segment (shm_open,
 *    ftruncate, /proc reads, a pthread mutex) or call malloc; all of that
 *    runs under the per-thread guard (preload.h), so the library's own
 *    calls go straight to libc, are never recorded and cannot re-enter the
 *    recorder (which would deadlock on its creation mutex).
 *  - the guard is NOT held during the real call itself, so a signal handler
 *    that interrupts a blocking read() and calls write() is recorded, nested
 *    under the read; a handler that interrupts our bookkeeping finds the
 *    guard held and is passed straight through (the ring push is not
 *    re-entrant).
 *  - errno and the return value of the real call are handed back untouched:
 *    errno is saved right after the call and restored after recording.
 *  - fork: the library's own atfork handlers (lib/record.c) give the child
 *    a fresh segment; ours hold the guard around them.  exec: LD_PRELOAD
 *    stays in the environment, so the new image is profiled with a segment
 *    of its own, and hands over the old image's at load (reap.c).
 *  - exit: our destructor runs before libqpulse's, turns every hook off and
 *    publishes the segment under the guard; _exit() and _Exit(), which run
 *    no destructor, do the same first.
 *
 * Calls that stay inside libc (stdio's own read/write, malloc calls made by
 * libc through internal aliases) are not seen; static binaries cannot be
 * profiled at all.  See libqpulse-preload(7).
 */
#include "config.h"

/* The hooks must define the plain symbols: no fortify inline wrappers, no
 * open -> open64 redirection. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"
#include "qpulse.h"

#define QP_EXPORT __attribute__((visibility("default")))

/* The operation set.  Names are the documented ones (qpulse-run(1));
 * the 64-bit and "at" variants of a call count as that call. */
#define QP_LIBC_OPS(X)                                                              \
    X(malloc, "mem", "malloc(3): allocating memory", 3)                             \
    X(calloc, "mem", "calloc(3): allocating zeroed memory", 3)                      \
    X(realloc, "mem", "realloc(3): resizing an allocation", 3)                      \
    X(free, "mem", "free(3): releasing memory", 3)                                  \
    X(posix_memalign, "mem", "posix_memalign(3): allocating aligned memory", 3)     \
    X(aligned_alloc, "mem", "aligned_alloc(3): allocating aligned memory", 3)       \
    X(mutex_lock, "lock", "pthread_mutex_lock(3): waiting for a held mutex", 1)     \
    X(read, "io", "read(2), __read_chk", 2)                                         \
    X(write, "io", "write(2)", 2)                                                   \
    X(pread, "io", "pread(2), pread64, __pread_chk", 2)                             \
    X(pwrite, "io", "pwrite(2), pwrite64", 2)                                       \
    X(readv, "io", "readv(2)", 2)                                                   \
    X(writev, "io", "writev(2)", 2)                                                 \
    X(send, "net", "send(2)", 2)                                                    \
    X(recv, "net", "recv(2), __recv_chk", 2)                                        \
    X(sendto, "net", "sendto(2)", 2)                                                \
    X(recvfrom, "net", "recvfrom(2), __recvfrom_chk", 2)                            \
    X(sendmsg, "net", "sendmsg(2)", 2)                                              \
    X(recvmsg, "net", "recvmsg(2)", 2)                                              \
    X(connect, "net", "connect(2)", 2)                                              \
    X(accept, "net", "accept(2), accept4", 2)                                       \
    X(open, "fs", "open(2), open64, openat, openat64 and their _2 checks", 2)       \
    X(close, "fs", "close(2)", 2)                                                   \
    X(fsync, "fs", "fsync(2)", 2)                                                   \
    X(fdatasync, "fs", "fdatasync(2)", 2)

QPULSE_DECLARE_SET(libc, QP_LIBC_OPS)
QPULSE_DEFINE_SET(libc, QP_LIBC_OPS)

/* Groups on now; 0 until the constructor has registered the set (a sample
 * taken before that would carry a wrong operation index) and again from the
 * destructor on. */
static unsigned g_mask;

/* Non-zero while this thread runs dlsym(): its allocations then come from
 * the bootstrap arena. */
static __thread unsigned t_resolving __attribute__((tls_model("initial-exec")));

/* ---------------------------------------------------------------------- */
/* The real functions                                                      */
/* ---------------------------------------------------------------------- */

/* The checking variants that programs built with _FORTIFY_SOURCE (all of
 * Debian's) call instead of the plain ones: glibc exports them but declares
 * them only under fortify, which this file turns off. */
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
extern ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
extern ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
extern ssize_t __recvfrom_chk(int fd, void *__restrict buf, size_t n, size_t buflen, int flags,
                              __SOCKADDR_ARG addr, socklen_t *__restrict alen);

#define QP_REAL_FNS(X)                                                              \
    X(malloc) X(calloc) X(realloc) X(free) X(posix_memalign) X(aligned_alloc)       \
    X(pthread_mutex_lock) X(pthread_mutex_trylock)                                  \
    X(read) X(write) X(pread) X(pread64) X(pwrite) X(pwrite64) X(readv) X(writev)   \
    X(__read_chk) X(__pread_chk) X(__pread64_chk)                                   \
    X(send) X(recv) X(sendto) X(recvfrom) X(sendmsg) X(recvmsg) X(connect)          \
    X(accept) X(accept4) X(__recv_chk) X(__recvfrom_chk)                            \
    X(open) X(open64) X(openat) X(openat64) X(close) X(fsync) X(fdatasync)          \
    X(__open_2) X(__open64_2) X(__openat_2) X(__openat64_2) X(_exit) X(_Exit)

#define QP_REAL_PTR(fn) static __typeof__(fn) *real_##fn;
QP_REAL_FNS(QP_REAL_PTR)

/* Looks every real function up.  The allocator comes first: dlsym of the
 * others may allocate, and should get the real heap when it can.  Threads
 * may race here; each store is of the same value. */
static void resolve_all(void)
{
    t_resolving++;
#define QP_RESOLVE(fn)                                                              \
    if (!qp_load_acquire(&real_##fn))                                               \
        qp_store_release(&real_##fn, (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn));
    QP_REAL_FNS(QP_RESOLVE)
#undef QP_RESOLVE
    t_resolving--;
}

/* The real fn, resolving on first use.  A NULL here (a libc without the
 * symbol) would crash the program at its first call of fn, as it would
 * have without us. */
#define REAL(fn)                                                                    \
    (QPULSE__LIKELY(qp_load_acquire(&real_##fn) != NULL)                            \
         ? real_##fn                                                                \
         : (resolve_all(), real_##fn))

/* ---------------------------------------------------------------------- */
/* Timing                                                                  */
/* ---------------------------------------------------------------------- */

/* A call is timed when its group is on and neither we (the guard) nor
 * libqpulse (qpulse__busy: creating the segment, claiming a slot, running
 * its fork or exit handlers — possibly on behalf of the program's own
 * QPULSE_* macros, outside any hook) are at work on this thread. */
static inline __attribute__((always_inline)) int hook_on(unsigned group)
{
    return (qp_load_relaxed(&g_mask) & group) && !qp_guard_held() &&
           !qpulse__busy;
}

/* Ends the scope begun before the real call.  Recording may make system
 * calls (the first sample of a thread claims a slot, the first of the
 * process creates the segment), hence the guard and the errno round trip. */
static inline __attribute__((always_inline)) void hook_end(qpulse_scope_t *s)
{
    int e = errno;
    qp_guard_enter();
    qpulse__scope_end(s);
    qp_guard_leave();
    errno = e;
}

/* Times `call` as operation op and returns its value. */
#define HOOK_TIMED(op, type, call)                                                  \
    do {                                                                            \
        qpulse_scope_t s_ =                                                         \
            qpulse__scope_begin(&s_, &qpulse_set_libc, QPULSE_OP(libc, op));        \
        type r_ = (call);                                                           \
        hook_end(&s_);                                                              \
        return r_;                                                                  \
    } while (0)

#define HOOK(group, op, type, fn, args)                                             \
    do {                                                                            \
        __typeof__(fn) *f_ = REAL(fn);                                              \
        if (!hook_on(group))                                                        \
            return f_ args;                                                         \
        HOOK_TIMED(op, type, f_ args);                                              \
    } while (0)

/* ---------------------------------------------------------------------- */
/* mem                                                                     */
/* ---------------------------------------------------------------------- */

/* While the allocator is not resolved (dlsym running on this thread, or
 * dlsym failed), allocations come from the bootstrap arena. */
static inline int mem_unresolved(void)
{
    if (QPULSE__LIKELY(qp_load_acquire(&real_free) != NULL))
        return 0;
    if (!t_resolving)
        resolve_all();
    return qp_load_acquire(&real_free) == NULL;
}

QP_EXPORT void *malloc(size_t n)
{
    if (mem_unresolved() || !real_malloc)
        return qp_boot_alloc(n, 16);
    if (!hook_on(QP_HOOK_MEM))
        return real_malloc(n);
    HOOK_TIMED(malloc, void *, real_malloc(n));
}

QP_EXPORT void *calloc(size_t n, size_t size)
{
    if (mem_unresolved() || !real_calloc) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return qp_boot_alloc(total, 16);   /* the arena is zeroed */
    }
    if (!hook_on(QP_HOOK_MEM))
        return real_calloc(n, size);
    HOOK_TIMED(calloc, void *, real_calloc(n, size));
}

/* realloc of a bootstrap block: move it to the heap (the arena never
 * frees).  Untimed: it happens at most a few times per process. */
static void *boot_realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q) {
        size_t old = qp_boot_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

QP_EXPORT void *realloc(void *p, size_t n)
{
    if (p && qp_boot_owns(p))
        return boot_realloc(p, n);
    if (mem_unresolved() || !real_realloc)
        return p ? NULL : qp_boot_alloc(n, 16);
    if (!hook_on(QP_HOOK_MEM))
        return real_realloc(p, n);
    HOOK_TIMED(realloc, void *, real_realloc(p, n));
}

QP_EXPORT void free(void *p)
{
    if (qp_boot_owns(p))
        return;
    if (mem_unresolved())
        return;   /* nothing but the arena can have handed p out yet */
    if (!hook_on(QP_HOOK_MEM)) {
        real_free(p);
        return;
    }
    qpulse_scope_t s = qpulse__scope_begin(&s, &qpulse_set_libc, QPULSE_OP(libc, free));
    real_free(p);
    hook_end(&s);
}

QP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (mem_unresolved() || !real_posix_memalign) {
        if (align < sizeof(void *) || (align & (align - 1)))
            return EINVAL;
        void *p = qp_boot_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    if (!hook_on(QP_HOOK_MEM))
        return real_posix_memalign(out, align, n);
    HOOK_TIMED(posix_memalign, int, real_posix_memalign(out, align, n));
}

QP_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (mem_unresolved() || !real_aligned_alloc)
        return qp_boot_alloc(n, align);
    if (!hook_on(QP_HOOK_MEM))
        return real_aligned_alloc(align, n);
    HOOK_TIMED(aligned_alloc, void *, real_aligned_alloc(align, n));
}

/* ---------------------------------------------------------------------- */
/* lock                                                                    */
/* ---------------------------------------------------------------------- */

/* Only the wait is timed: an uncontended lock succeeds in the trylock and
 * records nothing, so it costs one extra load and branch.  Whatever the
 * trylock says other than "busy" is the answer the lock would have given
 * (0, EOWNERDEAD for a robust mutex whose owner died, EAGAIN, EINVAL...),
 * and the lock is then held exactly as if pthread_mutex_lock had run. */
QP_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    __typeof__(pthread_mutex_lock) *lock = REAL(pthread_mutex_lock);
    if (!hook_on(QP_HOOK_LOCK))
        return lock(m);
    int r = REAL(pthread_mutex_trylock)(m);
    if (r != EBUSY)
        return r;
    HOOK_TIMED(mutex_lock, int, lock(m));
}

/* ---------------------------------------------------------------------- */
/* io                                                                      */
/* ---------------------------------------------------------------------- */

QP_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    HOOK(QP_HOOK_IO, read, ssize_t, read, (fd, buf, n));
}

QP_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    HOOK(QP_HOOK_IO, write, ssize_t, write, (fd, buf, n));
}

QP_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    HOOK(QP_HOOK_IO, pread, ssize_t, pread, (fd, buf, n, off));
}

QP_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    HOOK(QP_HOOK_IO, pread, ssize_t, pread64, (fd, buf, n, off));
}

QP_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    HOOK(QP_HOOK_IO, read, ssize_t, __read_chk, (fd, buf, n, buflen));
}

QP_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    HOOK(QP_HOOK_IO, pread, ssize_t, __pread_chk, (fd, buf, n, off, buflen));
}

QP_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
    HOOK(QP_HOOK_IO, pread, ssize_t, __pread64_chk, (fd, buf, n, off, buflen));
}

QP_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    HOOK(QP_HOOK_IO, pwrite, ssize_t, pwrite, (fd, buf, n, off));
}

QP_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    HOOK(QP_HOOK_IO, pwrite, ssize_t, pwrite64, (fd, buf, n, off));
}

QP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    HOOK(QP_HOOK_IO, readv, ssize_t, readv, (fd, iov, cnt));
}

QP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    HOOK(QP_HOOK_IO, writev, ssize_t, writev, (fd, iov, cnt));
}

/* ---------------------------------------------------------------------- */
/* net                                                                     */
/* ---------------------------------------------------------------------- */

QP_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    HOOK(QP_HOOK_NET, send, ssize_t, send, (fd, buf, n, flags));
}

QP_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    HOOK(QP_HOOK_NET, recv, ssize_t, recv, (fd, buf, n, flags));
}

QP_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    HOOK(QP_HOOK_NET, recv, ssize_t, __recv_chk, (fd, buf, n, buflen, flags));
}

QP_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                         __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
    HOOK(QP_HOOK_NET, sendto, ssize_t, sendto, (fd, buf, n, flags, addr, alen));
}

QP_EXPORT ssize_t recvfrom(int fd, void *__restrict buf, size_t n, int flags,
                           __SOCKADDR_ARG addr, socklen_t *__restrict alen)
{
    HOOK(QP_HOOK_NET, recvfrom, ssize_t, recvfrom, (fd, buf, n, flags, addr, alen));
}

QP_EXPORT ssize_t __recvfrom_chk(int fd, void *__restrict buf, size_t n, size_t buflen,
                                 int flags, __SOCKADDR_ARG addr, socklen_t *__restrict alen)
{
    HOOK(QP_HOOK_NET, recvfrom, ssize_t, __recvfrom_chk, (fd, buf, n, buflen, flags, addr, alen));
}

QP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    HOOK(QP_HOOK_NET, sendmsg, ssize_t, sendmsg, (fd, msg, flags));
}

QP_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    HOOK(QP_HOOK_NET, recvmsg, ssize_t, recvmsg, (fd, msg, flags));
}

QP_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
    HOOK(QP_HOOK_NET, connect, int, connect, (fd, addr, alen));
}

QP_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict alen)
{
    HOOK(QP_HOOK_NET, accept, int, accept, (fd, addr, alen));
}

QP_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict alen, int flags)
{
    HOOK(QP_HOOK_NET, accept, int, accept4, (fd, addr, alen, flags));
}

/* ---------------------------------------------------------------------- */
/* fs                                                                      */
/* ---------------------------------------------------------------------- */

/* open's mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last)                                                      \
    mode_t mode = 0;                                                                \
    if ((flags) & O_CREAT || ((flags) & O_TMPFILE) == O_TMPFILE) {                  \
        va_list ap;                                                                 \
        va_start(ap, last);                                                         \
        mode = (mode_t)va_arg(ap, int);                                             \
        va_end(ap);                                                                 \
    }

QP_EXPORT int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    HOOK(QP_HOOK_FS, open, int, open, (path, flags, mode));
}

QP_EXPORT int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    HOOK(QP_HOOK_FS, open, int, open64, (path, flags, mode));
}

QP_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    HOOK(QP_HOOK_FS, open, int, openat, (dirfd, path, flags, mode));
}

QP_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    HOOK(QP_HOOK_FS, open, int, openat64, (dirfd, path, flags, mode));
}

QP_EXPORT int __open_2(const char *path, int flags)
{
    HOOK(QP_HOOK_FS, open, int, __open_2, (path, flags));
}

QP_EXPORT int __open64_2(const char *path, int flags)
{
    HOOK(QP_HOOK_FS, open, int, __open64_2, (path, flags));
}

QP_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    HOOK(QP_HOOK_FS, open, int, __openat_2, (dirfd, path, flags));
}

QP_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    HOOK(QP_HOOK_FS, open, int, __openat64_2, (dirfd, path, flags));
}

QP_EXPORT int close(int fd)
{
    HOOK(QP_HOOK_FS, close, int, close, (fd));
}

QP_EXPORT int fsync(int fd)
{
    HOOK(QP_HOOK_FS, fsync, int, fsync, (fd));
}

QP_EXPORT int fdatasync(int fd)
{
    HOOK(QP_HOOK_FS, fdatasync, int, fdatasync, (fd));
}

/* ---------------------------------------------------------------------- */
/* Load, fork, exit                                                        */
/* ---------------------------------------------------------------------- */

/* libqpulse's fork handlers lock its mutex and, in the child, drop the
 * parent's segment (munmap, close): none of that may be recorded.  Ours are
 * registered after libqpulse's, so the prepare handler runs before its
 * prepare and the parent/child handlers after its own. */
static void fork_prepare(void)
{
    qp_guard_enter();
}

static void fork_after(void)
{
    qp_guard_leave();
}

static void warn(const char *msg)
{
    /* No stdio: the constructor runs with malloc hooked. */
    size_t n = strlen(msg);
    if (REAL(write)(2, msg, n) < 0) {
        /* nothing more to do */
    }
}

void qp_preload_set_mask(unsigned mask)
{
    qp_store_release(&g_mask, mask & QP_HOOK_ALL);
}

/* Priority 110: before other constructors of this library, so that hooks
 * called by them already record. */
__attribute__((constructor(110))) static void preload_init(void)
{
    int e = errno;
    qp_guard_enter();
    resolve_all();
    qpulse_register_set(&qpulse_set_libc);
    unsigned mask;
    const char *bad = NULL;
    if (qp_hooks_parse(getenv("QPULSE_HOOKS"), &mask, &bad) < 0) {
        warn("qpulse-preload: QPULSE_HOOKS names an unknown group (known: mem lock io net "
             "fs all none default); using the default\n");
        mask = QP_HOOK_DEFAULT;
    }
    pthread_atfork(fork_prepare, fork_after, fork_after);
    /* No segment of this image yet (nothing recorded or dropped): any
     * segment of this pid and start time is an earlier image's, unless
     * `qpulse run` started this process's first profiled image. */
    if (!qp_preload_first_image() && qpulse_recorded() == 0 && qpulse_dropped() == 0)
        qp_preload_reap();
    qp_guard_leave();
    /* Orders the set's registration before the first hook that sees the
     * mask; pairs with the relaxed load in hook_on() only through the
     * registration itself, which completes on this thread (other threads
     * that read a stale 0 just skip recording a call). */
    qp_store_release(&g_mask, mask);
    errno = e;
}

/* _exit() and _Exit() end the process without its exit path, so neither
 * destructor runs: dash ends every shell that way, and a forked child
 * usually does.  Hand the segment over first, as the exit path would (with
 * no daemon running, nobody else would ever remove it).  Never waits: a
 * signal handler or a vfork() child may be the caller. */
static void exit_now(void)
{
    int e = errno;
    /* The mask stays: a vfork() child would turn its parent's hooks off. */
    qp_guard_enter();
    qpulse__shutdown_now();
    qp_guard_leave();
    errno = e;
}

QP_EXPORT void _exit(int status)
{
    exit_now();
    REAL(_exit)(status);
    __builtin_unreachable();
}

QP_EXPORT void _Exit(int status)
{
    exit_now();
    REAL(_Exit)(status);
    __builtin_unreachable();
}

/* Runs before libqpulse's destructor (it depends on libqpulse): stop
 * recording and publish the segment with the guard held, so that the
 * shutdown's own open/read/close are not recorded. */
__attribute__((destructor)) static void preload_fini(void)
{
    int e = errno;
    qp_store_relaxed(&g_mask, 0);
    qp_guard_enter();
    qpulse_shutdown();
    qp_guard_leave();
    errno = e;
}
