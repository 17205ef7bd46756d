/*
 * testutil.h — small helpers the test programs share: a check that
 * reports and goes on, a reproducible random stream (uniform and normal)
 * and a comparison for sorting uint64_t values.  Header-only, C and C++;
 * include it as "testutil.h" from tests/.
 */
#ifndef QPULSE_TESTUTIL_H
#define QPULSE_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* When cond is false: "PROG: message" (printf-style) on stderr, and failed
 * set to 1; the program goes on to its next check. */
#define TU_CHECK(failed, prog, cond, ...)                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, prog ": " __VA_ARGS__);                            \
            fputc('\n', stderr);                                               \
            (failed) = 1;                                                      \
        }                                                                      \
    } while (0)

/* Uniform in [0, 1), xorshift64* on the state *s (any non-zero seed):
 * the same seed, the same stream. */
static inline double tu_u01(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Standard normal (Box-Muller) from the same stream. */
static inline double tu_gauss(uint64_t *s)
{
    double u = tu_u01(s), v = tu_u01(s);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v)   /* 2 pi v */;
}

/* qsort comparison of uint64_t values, ascending. */
static inline int tu_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#endif /* QPULSE_TESTUTIL_H */
