/*
 * ex_common.h — small helpers shared by the example programs: a clock,
 * simulated latency that stays realistic at microsecond scale, a per-thread
 * random source with a log-normal shape, a SIGINT/SIGTERM stop flag, and
 * the command line every example takes: options, then the run time.
 *
 * Nothing here knows about qpulse: the examples build with and without
 * -DQPULSE_DISABLE from the same helpers.
 */
#ifndef EX_COMMON_H
#define EX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ex_now_ns(void);

/* Waits ns nanoseconds the way a fast network or device call would: short
 * waits spin on the clock (a nanosleep would add ~50 us of timer slack and
 * scheduler wake-up), long ones sleep and spin only the last stretch. */
void ex_delay_ns(uint64_t ns);

/* Sleeps until the monotonic deadline (ns), or until a stop is requested. */
void ex_sleep_until(uint64_t deadline_ns);

/* Per-thread pseudo-random numbers (xorshift64*, seeded per thread). */
uint64_t ex_rand(void);
/* Uniform in [0, 1). */
double ex_uniform(void);
/* Log-normal: median_ns * exp(sigma * N(0,1)); the shape of real service
 * latencies (a bulk near the median, a long right tail). */
uint64_t ex_lognormal_ns(double median_ns, double sigma);

/* Call first in main(), before any thread starts: SIGINT and SIGTERM set
 * the stop flag instead of killing the program, and the timer slack is made
 * small enough for microsecond sleeps.  Exits (status 1, a line naming prog
 * on stderr) when it cannot. */
void ex_init(const char *prog);
int ex_stop_requested(void);
void ex_request_stop(void);

/* Parses the run time (seconds) in s; returns 0 or -EINVAL. */
int ex_parse_seconds(const char *s, double *out);
/* Parses a positive number in s (a rate, a count); returns 0 or -EINVAL. */
int ex_parse_positive(const char *s, double *out);

/* An option of an example: --NAME N (or -KEY N), a positive number of at
 * most max (a whole one when whole is set) into *number; or, when number is
 * NULL, a flag --NAME (-KEY) that sets *flag to 1. */
struct ex_opt {
    const char *name;
    char key;
    double *number;
    double max;
    int whole;
    int *flag;
};

/* An example's command line: the options of opts[0..nopts) (what they
 * point at holds the defaults), then the run time in seconds, optional,
 * into *seconds.  -h/--help writes usage to stdout and exits 0; anything
 * wrong writes usage to stderr (after getopt_long's own line for an
 * unknown option) and exits 2. */
void ex_parse_args(int argc, char **argv, const struct ex_opt *opts, size_t nopts,
                   double *seconds, void (*usage)(FILE *f));

#endif /* EX_COMMON_H */
