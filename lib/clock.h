/*
 * clock.h — the one reading of the system clocks for every qpulse program
 * (header-only: libqpulse's start-up path links nothing for it).
 *
 * qp_mono_ns is CLOCK_MONOTONIC in nanoseconds, the time base of every
 * sample, deadline and interval; qp_real_ns is CLOCK_REALTIME, for what is
 * shown as a date.  qp_clock_pair reads a (tick, monotonic ns) pair as
 * close together as it can, to relate a tick counter to the clock.
 */
#ifndef QPULSE_CLOCK_H
#define QPULSE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define QP_NS_PER_S 1000000000ull

static inline uint64_t qp_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * QP_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline uint64_t qp_mono_ns(void)
{
    return qp_clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t qp_real_ns(void)
{
    return qp_clock_ns(CLOCK_REALTIME);
}

/* The tick read between two clock reads, keeping the tightest of tries
 * (a few hundred ns apart); *ns is the middle of the two. */
static inline void qp_clock_pair(uint64_t (*tick_fn)(void), int tries, uint64_t *tick,
                                 uint64_t *ns)
{
    uint64_t best = ~0ull;
    *tick = *ns = 0;
    for (int i = 0; i < tries; i++) {
        uint64_t a = qp_mono_ns();
        uint64_t t = tick_fn();
        uint64_t b = qp_mono_ns();
        if (b - a < best) {
            best = b - a;
            *tick = t;
            *ns = a + (b - a) / 2;
        }
    }
}

#endif /* QPULSE_CLOCK_H */
