/*
 * prom_native.h — qpulsed's latency histogram (lib/hist.h) as a Prometheus
 * native histogram: sparse exponential buckets, bucket i of schema s
 * holding the values in (2^((i-1)/2^s), 2^(i/2^s)] seconds.
 *
 * Each bucket of the qpulse histogram (exact below 128 ns, then 128 linear
 * sub-buckets per power of two, so never wider than 1/128 of its low
 * bound) goes whole into the native bucket that holds its midpoint (an
 * exact bucket: its value).  Error analysis, for histogram_quantile():
 * Prometheus finds the native bucket B where the rank falls and
 * interpolates inside it; the exact percentile lies in the qpulse bucket b
 * whose midpoint is in B.  So the answer is off by at most the width of B
 * plus half the width of b:  (2^(2^-s) - 1) + 1/256 of the value.
 *
 *   schema 5: 2.19 % + 0.39 % = 2.6 %   (too coarse for a 2 % promise)
 *   schema 6: 1.09 % + 0.39 % = 1.5 %   <- PROM_NATIVE_SCHEMA
 *   schema 7: 0.54 % + 0.39 % = 0.9 %   (twice the buckets for 0.6 %)
 *
 * Schema 6 is the coarsest that holds 2 % everywhere from 1 us to 1 h, for
 * one process or any sum of them: every process maps the same way, so a
 * sum of native histograms is the native histogram of the merged data.
 * It costs at most 64 buckets per power of two (a typical operation
 * spans 3 to 10), half as many as the qpulse histogram itself.
 */
#ifndef QPULSED_PROM_NATIVE_H
#define QPULSED_PROM_NATIVE_H

#include <stdint.h>

#include "hist.h"

#define PROM_NATIVE_SCHEMA 6
/* The zero bucket holds [-2^-128, 2^-128] s, as Prometheus's Go client
 * does by default: here only durations of 0 ns. */
#define PROM_NATIVE_ZERO_THRESHOLD 0x1p-128

struct prom_span {
    int32_t offset;    /* gap to the previous span; the first span: its index */
    uint32_t length;
};

typedef struct prom_native {
    int schema;
    uint64_t zero_count;
    uint64_t count;            /* zero_count + every bucket */
    struct prom_span *spans;
    uint32_t nspans;
    uint64_t *counts;          /* absolute counts, in span order */
    int32_t first;             /* index of counts[0] */
    uint32_t nbuckets;
} prom_native_t;

/* Maps h to schema (1..8) into *out (free with prom_native_free).  Gaps of
 * up to 2 empty buckets are sent as zeros rather than a new span, as
 * Prometheus's own client does.  0 or -ENOMEM. */
int prom_native_from_hist(const hist_t *h, int schema, prom_native_t *out);
void prom_native_free(prom_native_t *n);

/* The index of the native bucket that holds v > 0 (seconds). */
int32_t prom_native_index(double v, int schema);
/* The upper bound of native bucket idx (seconds). */
double prom_native_upper(int32_t idx, int schema);

#endif /* QPULSED_PROM_NATIVE_H */
