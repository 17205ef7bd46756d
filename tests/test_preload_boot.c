/*
 * test_preload_boot.c — the bootstrap allocator of libqpulse-preload
 * (preload/bootstrap.c), which serves dlsym()'s allocations before the real
 * malloc is resolved.  Linked with bootstrap.c alone: no hooks here.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

Test(boot, blocks_are_aligned_zeroed_and_sized)
{
    size_t sizes[] = { 0, 1, 7, 16, 33, 100, 1000 };
    size_t aligns[] = { 0, 1, 8, 16, 32, 64, 256, 4096 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < sizeof aligns / sizeof aligns[0]; j++) {
            unsigned char *p = qp_boot_alloc(sizes[i], aligns[j]);
            cr_assert_not_null(p, "alloc(%zu, %zu)", sizes[i], aligns[j]);
            size_t a = aligns[j] < 16 ? 16 : aligns[j];
            cr_assert_eq((uintptr_t)p % a, 0, "alloc(%zu, %zu) = %p is aligned", sizes[i],
                         aligns[j], (void *)p);
            cr_assert_eq(qp_boot_size(p), sizes[i], "the size is kept for realloc");
            cr_assert(qp_boot_owns(p), "free() must recognise %p", (void *)p);
            for (size_t k = 0; k < sizes[i]; k++)
                cr_assert_eq(p[k], 0, "byte %zu of a fresh block is zero (calloc relies on it)", k);
        }
    }
}

Test(boot, blocks_do_not_overlap)
{
    unsigned char *a = qp_boot_alloc(100, 16);
    unsigned char *b = qp_boot_alloc(100, 64);
    unsigned char *c = qp_boot_alloc(1, 16);
    cr_assert(a && b && c, "three small blocks fit");
    memset(a, 0xaa, 100);
    memset(b, 0xbb, 100);
    memset(c, 0xcc, 1);
    cr_assert(a + 100 <= b || b + 100 <= a, "a and b are disjoint");
    cr_assert(b + 100 <= c || c + 1 <= b, "b and c are disjoint");
    cr_assert_eq(qp_boot_size(a), 100, "writing b did not clobber a's header");
    cr_assert_eq(qp_boot_size(b), 100, "writing c did not clobber b's header");
    cr_assert_eq(a[99], 0xaa, "a's last byte survives");
}

Test(boot, foreign_pointers_are_not_owned)
{
    int local;
    void *heap = malloc(32);
    cr_assert_not(qp_boot_owns(NULL), "NULL is not an arena block");
    cr_assert_not(qp_boot_owns(&local), "a stack address is not an arena block");
    cr_assert_not(qp_boot_owns(heap), "a heap block is not an arena block");
    free(heap);
}

Test(boot, exhaustion_returns_null_and_stays_inside)
{
    size_t n = 0;
    unsigned char *last = NULL, *p;
    while ((p = qp_boot_alloc(1000, 16)) != NULL) {
        cr_assert(qp_boot_owns(p) && qp_boot_owns(p + 999), "block %zu lies in the arena", n);
        last = p;
        n++;
        cr_assert_lt(n, QP_BOOT_ARENA, "the arena ends");
    }
    cr_assert_eq(errno, ENOMEM, "exhaustion says ENOMEM");
    cr_assert_gt(n, QP_BOOT_ARENA / 1100, "the arena holds ~%u blocks of 1000, got %zu",
                 QP_BOOT_ARENA / 1016, n);
    cr_assert_leq(qp_boot_used(), QP_BOOT_ARENA, "never hands out past the end");
    cr_assert_not_null(last, "at least one block");
    cr_assert_null(qp_boot_alloc(QP_BOOT_ARENA + 1, 16), "a block larger than the arena fails");
    cr_assert_null(qp_boot_alloc(1, 24), "a non-power-of-two alignment fails");
}

static void *grab(void *arg)
{
    unsigned char **out = arg;
    for (int i = 0; i < 64; i++) {
        out[i] = qp_boot_alloc(48, 16);
        if (out[i])
            memset(out[i], 0x5a, 48);
    }
    return NULL;
}

Test(boot, threads_get_distinct_blocks)
{
    enum { T = 4, N = 64 };
    static unsigned char *got[T][N];
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, grab, got[i]), 0, "thread %d starts", i);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    /* Every block handed out once: sort the addresses and check gaps. */
    unsigned char *all[T * N];
    size_t n = 0;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < N; j++) {
            cr_assert_not_null(got[i][j], "thread %d block %d", i, j);
            all[n++] = got[i][j];
        }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && all[k - 1] > all[k]; k--) {
            unsigned char *t = all[k];
            all[k] = all[k - 1];
            all[k - 1] = t;
        }
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(all[i] - all[i - 1], 48 + 16, "blocks %zu and %zu overlap", i - 1, i);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(qp_boot_size(all[i]), 48, "header of block %zu intact", i);
}
