/*
 * check_slow.c — an instrumented program that is slow on purpose, for the
 * end-to-end test of `qpulse check` (tests/check-e2e.sh).
 *
 *   check_slow [-n COUNT] [-s SLEEP_US] [-r RECORD_NS]
 *
 * slowtest.Sleep times COUNT real sleeps of SLEEP_US each (really slow: a
 * sleep is never shorter than asked, however loaded the machine is, so a
 * budget below it breaks for sure); slowtest.Recorded records COUNT
 * durations of exactly RECORD_NS (QPULSE_RECORD), for exact baselines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <qpulse.h>

#include "testutil.h"

#define SLOWTEST_OPS(X)                                               \
    X(Sleep, "test", "A sleep of -s microseconds", 1)                 \
    X(Recorded, "test", "A recorded duration of -r nanoseconds", 2)

QPULSE_DECLARE_SET(slowtest, SLOWTEST_OPS)
QPULSE_DEFINE_SET(slowtest, SLOWTEST_OPS)

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    long n = 20, us = 2000, rec = 100000;
    int c;
    while ((c = getopt(argc, argv, "n:s:r:")) != -1) {
        switch (c) {
        case 'n': n = atol(optarg); break;
        case 's': us = atol(optarg); break;
        case 'r': rec = atol(optarg); break;
        default:
            return tu_usage("check_slow [-n COUNT] [-s SLEEP_US] [-r RECORD_NS]");
        }
    }
    for (long i = 0; i < n; i++) {
        {
            QPULSE_SCOPE(slowtest, Sleep);
            sleep_us(us);
        }
        QPULSE_RECORD(slowtest, Recorded, rec);
    }
    return 0;
}
