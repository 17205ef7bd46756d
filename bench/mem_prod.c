/*
 * mem_prod.c — a producer for bench/mem_real.sh: one set of 50 operations,
 * each recording RATE samples per second (log-normal, median 20 us,
 * sigma 1) until killed; RATE 0 registers the set and records nothing.
 *
 *   mem_prod [RATE]
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "qpulse.h"

static uint64_t rng = BENCH_RNG_SEED;

#define MEMB_OPS(X) \
    X(A0, "g", "", 1) X(A1, "g", "", 1) X(A2, "g", "", 1) X(A3, "g", "", 1) X(A4, "g", "", 1) \
    X(A5, "g", "", 1) X(A6, "g", "", 1) X(A7, "g", "", 1) X(A8, "g", "", 1) X(A9, "g", "", 1) \
    X(B0, "g", "", 1) X(B1, "g", "", 1) X(B2, "g", "", 1) X(B3, "g", "", 1) X(B4, "g", "", 1) \
    X(B5, "g", "", 1) X(B6, "g", "", 1) X(B7, "g", "", 1) X(B8, "g", "", 1) X(B9, "g", "", 1) \
    X(C0, "g", "", 1) X(C1, "g", "", 1) X(C2, "g", "", 1) X(C3, "g", "", 1) X(C4, "g", "", 1) \
    X(C5, "g", "", 1) X(C6, "g", "", 1) X(C7, "g", "", 1) X(C8, "g", "", 1) X(C9, "g", "", 1) \
    X(D0, "g", "", 1) X(D1, "g", "", 1) X(D2, "g", "", 1) X(D3, "g", "", 1) X(D4, "g", "", 1) \
    X(D5, "g", "", 1) X(D6, "g", "", 1) X(D7, "g", "", 1) X(D8, "g", "", 1) X(D9, "g", "", 1) \
    X(E0, "g", "", 1) X(E1, "g", "", 1) X(E2, "g", "", 1) X(E3, "g", "", 1) X(E4, "g", "", 1) \
    X(E5, "g", "", 1) X(E6, "g", "", 1) X(E7, "g", "", 1) X(E8, "g", "", 1) X(E9, "g", "", 1)
#define NOPS 50u

QPULSE_DECLARE_SET(memb, MEMB_OPS)
QPULSE_DEFINE_SET(memb, MEMB_OPS)

int main(int argc, char **argv)
{
    unsigned rate = argc > 1 ? (unsigned)atoi(argv[1]) : 100;
    rng ^= (uint64_t)time(NULL) << 20;
    QPULSE_RECORD(memb, A0, 20000);   /* the segment exists from now on */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (unsigned tick = 0;; tick++) {
        /* every 10 ms, a hundredth of each op's second (spread evenly) */
        for (uint32_t op = 0; op < NOPS; op++) {
            unsigned n = rate / 100 + (tick % 100 < rate % 100);
            for (unsigned k = 0; k < n; k++) {
                double g = sqrt(-2 * log(bench_u01(&rng) + 1e-300)) * cos(2 * M_PI * bench_u01(&rng));
                qpulse__record_ns(&qpulse_set_memb, op, (uint64_t)(20000 * exp(g)) + 1);
            }
        }
        next.tv_nsec += 10000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
}
