/*
 * testutil.h — small helpers the test programs share: a reproducible
 * random stream (uniform and normal) and a comparison for sorting
 * uint64_t values.  Header-only; include it as "testutil.h" from tests/.
 */
#ifndef QPULSE_TESTUTIL_H
#define QPULSE_TESTUTIL_H

#include <math.h>
#include <stdint.h>

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
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* qsort comparison of uint64_t values, ascending. */
static inline int tu_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#endif /* QPULSE_TESTUTIL_H */
