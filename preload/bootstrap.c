/*
 * bootstrap.c — the allocator of last resort while the real malloc is not
 * resolved yet.
 *
 * dlsym(RTLD_NEXT, "malloc") may itself call calloc (glibc allocates its
 * dlerror state on first use), and that calloc is ours: it cannot call the
 * real one, which is what we are looking up.  Such calls get a block of a
 * static arena.  Each block carries a 16-byte header with its size, so
 * realloc can move it to the real heap; free() recognises arena pointers
 * and ignores them (blocks are never reused — only a handful are ever
 * handed out).  A lock-free bump pointer makes it safe from any thread and
 * from a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "preload.h"

#define BOOT_HDR 16u

static unsigned char boot_arena[QP_BOOT_ARENA] __attribute__((aligned(64)));
static size_t boot_top;   /* bytes handed out; only grows */

void *qp_boot_alloc(size_t size, size_t align)
{
    if (align < BOOT_HDR)
        align = BOOT_HDR;
    if (align & (align - 1) || size > QP_BOOT_ARENA) {
        errno = align & (align - 1) ? EINVAL : ENOMEM;
        return NULL;
    }
    uintptr_t base = (uintptr_t)boot_arena;
    size_t top = qp_load_relaxed(&boot_top);
    for (;;) {
        /* The user block starts at the first aligned address that leaves
         * room for the header before it. */
        uintptr_t user = (base + top + BOOT_HDR + align - 1) & ~(uintptr_t)(align - 1);
        size_t end = (size_t)(user - base) + ((size + 15u) & ~(size_t)15u);
        if (end > QP_BOOT_ARENA) {
            errno = ENOMEM;
            return NULL;
        }
        /* Relaxed is enough: the arena is static and zeroed, and a block
         * belongs to the thread whose CAS won it. */
        if (qp_cas_relaxed(&boot_top, &top, end)) {
            memcpy((void *)(user - BOOT_HDR), &size, sizeof size);
            return (void *)user;
        }
    }
}

int qp_boot_owns(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    return u >= (uintptr_t)boot_arena && u < (uintptr_t)boot_arena + QP_BOOT_ARENA;
}

size_t qp_boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - BOOT_HDR, sizeof n);
    return n;
}

size_t qp_boot_used(void)
{
    return qp_load_relaxed(&boot_top);
}
