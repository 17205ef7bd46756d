/*
 * prom.h — the pages of qpulsed's Prometheus endpoint (prom_fmt.c), apart
 * from the HTTP server (prom.c) so that tests and fuzzers drive them.
 *
 * Three formats of the same metrics, chosen by the scraper's Accept header
 * as Prometheus's own client libraries choose:
 *   text          text format 0.0.4: the classic histogram (le buckets)
 *   OpenMetrics   1.0.0: the same, ending with "# EOF", and each series'
 *                 exemplar (prom_exemplar_of(): the slowest sample of
 *                 the live window, from slowest.c) on its bucket
 *   protobuf      delimited io.prometheus.client.MetricFamily messages:
 *                 the classic buckets and, alongside, the native
 *                 (exponential) buckets of prom_native.h, so that one
 *                 scrape serves servers with and without native histograms
 */
#ifndef QPULSED_PROM_H
#define QPULSED_PROM_H

#include <stdint.h>
#include <sys/types.h>

#include "jw.h"

struct proc;
struct agg_op;

enum prom_format { PROM_TEXT, PROM_OPENMETRICS, PROM_PROTOBUF };

/* The format for an Accept header (NULL: none): the acceptable media range
 * of highest quality that we serve, text format 0.0.4 when there is none. */
enum prom_format prom_negotiate(const char *accept);
const char *prom_content_type(enum prom_format f);

/* Renders every series of qpd's process table in format f into w (binary
 * for PROM_PROTOBUF); the caller holds qpd.lock.  0, or -ENOMEM. */
int prom_render(jw_t *w, enum prom_format f);

/* A series' exemplar: its slowest recent sample. */
struct prom_exemplar {
    pid_t pid, tid;
    uint64_t dur_ns;
    double start;          /* Unix seconds */
};

/* 1 and *ex when op o of process p has a slowest recent sample, else 0. */
int prom_exemplar_of(const struct proc *p, const struct agg_op *o, struct prom_exemplar *ex);

#endif /* QPULSED_PROM_H */
