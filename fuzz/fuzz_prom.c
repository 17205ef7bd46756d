/*
 * fuzz_prom.c — libFuzzer target for qpulsed's Prometheus pages
 * (daemon/prom_fmt.c, daemon/prom_native.c): the Accept header a scraper
 * sends, and the producer-chosen strings and durations the pages are made
 * of, into all three formats.
 *
 * Input: the Accept header up to the first newline; then the process
 * name, set, op and group (NUL-separated); then durations, 8 bytes each
 * (little-endian ns).  Invariants checked (anything else aborts): the
 * negotiated format is one we serve; the protobuf page decodes with
 * protobuf-c, and each native histogram's spans cover its deltas, whose
 * running sum is never negative and adds up with the zero bucket to
 * sample_count, with classic buckets ascending; the text pages are lines,
 * the OpenMetrics one ending with "# EOF".
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/prom_metrics.pb-c.h"
#include "prom.h"
#include "qpulsed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes the next field ending at `stop` (or the end) from [*p, end). */
static char *field(const uint8_t **p, const uint8_t *end, int stop)
{
    const uint8_t *s = *p, *e = s;
    while (e < end && *e != stop)
        e++;
    char *f = malloc((size_t)(e - s) + 1);
    if (!f)
        abort();
    memcpy(f, s, (size_t)(e - s));
    f[e - s] = 0;
    *p = e < end ? e + 1 : e;
    return f;
}

static void check_protobuf(const uint8_t *b, size_t len, unsigned want)
{
    size_t off = 0;
    unsigned families = 0;
    while (off < len) {
        uint64_t n = 0;
        unsigned shift = 0;
        do {
            if (off >= len || shift > 63)
                abort();   /* a truncated length */
            n |= (uint64_t)(b[off] & 0x7f) << shift;
            shift += 7;
        } while (b[off++] & 0x80);
        if (n > len - off)
            abort();
        Io__Prometheus__Client__MetricFamily *mf =
            io__prometheus__client__metric_family__unpack(NULL, (size_t)n, b + off);
        if (!mf || !mf->name)
            abort();
        families++;
        for (size_t i = 0; i < mf->n_metric; i++) {
            const Io__Prometheus__Client__Histogram *h = mf->metric[i]->histogram;
            if (!h)
                continue;
            uint64_t spanned = 0, total = h->zero_count, prev = 0;
            int64_t run = 0;
            for (size_t s = 0; s < h->n_positive_span; s++) {
                if (s > 0 && h->positive_span[s]->offset < 0)
                    abort();
                spanned += h->positive_span[s]->length;
            }
            if (spanned != h->n_positive_delta || h->schema != 6 || h->zero_threshold <= 0)
                abort();
            for (size_t d = 0; d < h->n_positive_delta; d++) {
                run += h->positive_delta[d];
                if (run < 0)
                    abort();
                total += (uint64_t)run;
            }
            if (total != h->sample_count)
                abort();
            for (size_t k = 0; k < h->n_bucket; k++) {
                if (h->bucket[k]->cumulative_count < prev ||
                    h->bucket[k]->cumulative_count > h->sample_count)
                    abort();
                prev = h->bucket[k]->cumulative_count;
            }
        }
        io__prometheus__client__metric_family__free_unpacked(mf, NULL);
        off += (size_t)n;
    }
    if (families != want)
        abort();   /* durations and per-op drops (when any), drops, processes */
}

static void check_text(const char *s, size_t len, int om)
{
    if (len == 0 || s[len - 1] != '\n' || memchr(s, 0, len))
        abort();
    if (om && (len < 6 || memcmp(s + len - 6, "# EOF\n", 6) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *accept = field(&p, end, '\n');
    enum prom_format f = prom_negotiate(accept);
    if (f != PROM_TEXT && f != PROM_OPENMETRICS && f != PROM_PROTOBUF)
        abort();
    free(accept);

    char *pname = field(&p, end, 0);
    qp_op_info_t info;
    memset(&info, 0, sizeof info);
    info.set = field(&p, end, 0);
    info.name = field(&p, end, 0);
    info.group = field(&p, end, 0);
    struct agg_op *o = agg_op_new(&info);
    if (!o)
        abort();
    for (; end - p >= 8; p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        hist_record(&o->cum.h, v, 1);
    }
    struct proc pr;
    memset(&pr, 0, sizeof pr);
    snprintf(pr.name, sizeof pr.name, "%s", pname);
    pr.pid = 4242;
    pr.alive = 1;
    struct agg_op *ops[1] = { o };
    pr.ops = ops;
    pr.nops = 1;
    qpd.procs = &pr;

    for (int k = PROM_TEXT; k <= PROM_PROTOBUF; k++) {
        jw_t w;
        jw_init(&w);
        if (prom_render(&w, (enum prom_format)k) < 0)
            abort();
        size_t len;
        char *out = jw_take(&w, &len);
        if (!out)
            abort();
        if (k == PROM_PROTOBUF)
            check_protobuf((const uint8_t *)out, len, o->cum.h.count ? 4 : 2);
        else
            check_text(out, len, k == PROM_OPENMETRICS);
        free(out);
    }
    qpd.procs = NULL;
    agg_op_free(o);
    free(pname);
    free((char *)info.set);
    free((char *)info.name);
    free((char *)info.group);
    return 0;
}
