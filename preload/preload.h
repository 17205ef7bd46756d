/*
 * preload.h — internals of libqpulse-preload.so shared by its files, its
 * unit tests and `qpulse run` (which validates --hooks with the same parser).
 *
 *   groups.c     the hook groups and the QPULSE_HOOKS parser
 *   bootstrap.c  the static allocator that serves dlsym() before the real
 *                malloc is known
 *   guard.c      the per-thread recursion guard
 *   hooks.c      the interposed libc functions and the `libc` operation set
 *   reap.c       the segments that earlier images (before exec) left behind
 *   privs.c      the setuid() family: the segment follows its process's user
 */
#ifndef QPULSE_PRELOAD_H
#define QPULSE_PRELOAD_H

#include <stddef.h>

#include "atomics.h"

/* ---------------------------------------------------------------------- */
/* Groups                                                                  */
/* ---------------------------------------------------------------------- */

#define QP_HOOK_MEM  0x01u   /* malloc calloc realloc free posix_memalign aligned_alloc */
#define QP_HOOK_LOCK 0x02u   /* pthread_mutex_lock, time spent waiting */
#define QP_HOOK_IO   0x04u   /* read write pread pwrite readv writev */
#define QP_HOOK_NET  0x08u   /* send recv sendto recvfrom connect accept */
#define QP_HOOK_FS   0x10u   /* open close fsync fdatasync */
#define QP_HOOK_ALL  0x1fu

/* On unless QPULSE_HOOKS says otherwise.  mem is off by default: a program
 * allocates far more often than it does anything else, so timing every
 * malloc/free costs the most and fills the rings first (see
 * libqpulse-preload(7)). */
#define QP_HOOK_DEFAULT (QP_HOOK_LOCK | QP_HOOK_IO | QP_HOOK_NET | QP_HOOK_FS)

/* Parses a comma list of group names ("mem,io"), or "all", "none",
 * "default" (these may be mixed: "default,mem").  Empty or NULL gives the
 * default.  Returns 0 and the mask, or -EINVAL (bad points at the first
 * unknown name, up to its comma, when bad is not NULL). */
int qp_hooks_parse(const char *s, unsigned *mask, const char **bad);
/* "mem,lock,..." for a mask, into buf. */
const char *qp_hooks_format(unsigned mask, char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Bootstrap allocator                                                     */
/* ---------------------------------------------------------------------- */

/* dlsym() may call malloc/calloc itself; while the real allocator is not
 * resolved those calls are served from a static arena.  Blocks are never
 * reused: the arena only has to outlive symbol resolution.  Thread-safe and
 * async-signal-safe (a lock-free bump pointer). */
#define QP_BOOT_ARENA (64u * 1024u)

/* A zeroed block of size bytes aligned to align (a power of two; at least
 * 16 is used), or NULL when the arena is exhausted. */
void *qp_boot_alloc(size_t size, size_t align);
/* 1 when p points into the arena (free() must then do nothing). */
int qp_boot_owns(const void *p);
/* The size asked for p (p from qp_boot_alloc), for realloc's copy. */
size_t qp_boot_size(const void *p);
/* Bytes of the arena used so far. */
size_t qp_boot_used(void);

/* ---------------------------------------------------------------------- */
/* Recursion guard                                                         */
/* ---------------------------------------------------------------------- */

/* Non-zero while this thread runs qpulse's own code (recording a sample,
 * creating the segment, resolving symbols, fork handlers, exit): every
 * hooked call made then goes straight to libc, unrecorded.  Initial-exec
 * TLS: reading it never allocates (a general-dynamic access may call
 * malloc, which is hooked). */
extern __thread unsigned qp_guard_depth __attribute__((tls_model("initial-exec")));

static inline int qp_guard_held(void)
{
    return qp_guard_depth != 0;
}

static inline void qp_guard_enter(void)
{
    qp_guard_depth++;
    /* A signal handler on this thread must see the guard before we run
     * guarded code: a compiler barrier is enough (same thread). */
    qp_signal_fence();
}

static inline void qp_guard_leave(void)
{
    qp_signal_fence();
    qp_guard_depth--;
}

/* ---------------------------------------------------------------------- */
/* Hooks                                                                   */
/* ---------------------------------------------------------------------- */

/* Turns groups on or off at run time (the unit tests, which link the hooks
 * into the test program itself; the library sets it from QPULSE_HOOKS). */
void qp_preload_set_mask(unsigned mask);

/* Hands over the segments of earlier images of this process (exec does not
 * run their exit path): marked exited, or removed when no daemon runs.
 * preload/reap.c; called at load, before this image records. */
void qp_preload_reap(void);
/* 1 when `qpulse run` execed this image as its process's first under the
 * preload (QPULSE__FIRST_IMAGE names this pid): no earlier image's segment
 * to hand over.  Removes the variable from the environment either way.
 * preload/reap.c; called once, at load. */
int qp_preload_first_image(void);

#endif /* QPULSE_PRELOAD_H */
