/*
 * prom_fmt.c — qpulsed's metrics in the three Prometheus formats (see
 * prom.h): text 0.0.4, OpenMetrics 1.0.0 with exemplars, and protobuf with
 * native histograms; and the choice among them by the Accept header.
 *
 * Series (every format): qpulse_duration_seconds{process,pid,set,op,group}
 * since each process started, qpulse_dropped_samples_total{process,pid},
 * qpulse_op_dropped_samples_total{process,pid,set,op,group},
 * qpulse_processes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/prom_metrics.pb-c.h"
#include "prom.h"
#include "prom_native.h"
#include "qpulsed.h"
#include "slowest.h"

/* Classic histogram bucket bounds: 100 ns .. 10 s, 1-2.5-5 per decade. */
static const struct {
    const char *le;
    uint64_t ns;
} prom_buckets[] = {
    { "1e-07", 100 },         { "2.5e-07", 250 },       { "5e-07", 500 },
    { "1e-06", 1000 },        { "2.5e-06", 2500 },      { "5e-06", 5000 },
    { "1e-05", 10000 },       { "2.5e-05", 25000 },     { "5e-05", 50000 },
    { "0.0001", 100000 },     { "0.00025", 250000 },    { "0.0005", 500000 },
    { "0.001", 1000000 },     { "0.0025", 2500000 },    { "0.005", 5000000 },
    { "0.01", 10000000 },     { "0.025", 25000000 },    { "0.05", 50000000 },
    { "0.1", 100000000 },     { "0.25", 250000000 },    { "0.5", 500000000 },
    { "1", 1000000000 },      { "2.5", 2500000000ull }, { "5", 5000000000ull },
    { "10", 10000000000ull },
};
#define NBUCKETS (sizeof prom_buckets / sizeof prom_buckets[0])

#define HELP_DURATION "Duration of instrumented operations, since each process started."
#define HELP_DROPPED "Samples recorded by a process but not aggregated (full ring, no slot, invalid)."
#define HELP_OP_DROPPED "Samples of an operation dropped by its process (full ring, no slot)."
#define HELP_PROCESSES "Instrumented processes alive in this namespace."

/* ---- the exemplar ----------------------------------------------------- */

int prom_exemplar_of(const struct proc *p, const struct agg_op *o, struct prom_exemplar *ex)
{
    /* The slowest sample of the live window: the one a person looking at
     * a p99 spike in Grafana wants to find in the trace. */
    uint64_t dur;
    int32_t tid;
    double start;
    if (!slowest_recent(o, mono_ns() / 1000000000, &dur, &tid, &start))
        return 0;
    ex->pid = p->pid;
    ex->tid = tid;
    ex->dur_ns = dur;
    ex->start = start;
    return 1;
}

/* The classic bucket an exemplar belongs to: the first whose bound is not
 * below its value; NBUCKETS for +Inf. */
static size_t exemplar_bucket(uint64_t ns)
{
    size_t i = 0;
    while (i < NBUCKETS && prom_buckets[i].ns < ns)
        i++;
    return i;
}

/* ns as decimal seconds, exactly ("0.000512", "3600"). */
static void ns_seconds(char *buf, size_t len, uint64_t ns)
{
    int n = snprintf(buf, len, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
                     (unsigned long long)(ns % 1000000000u));
    if (n <= 0 || (size_t)n >= len)
        return;
    char *e = buf + n - 1;
    while (*e == '0')
        *e-- = 0;
    if (*e == '.')
        *e = 0;
}

/* ---- shared ------------------------------------------------------------ */

/* A pid listed twice (an exec'd image, a reused pid) would give duplicate
 * series; the newest entry (first in the list) wins. */
static int shadowed(const struct proc *p)
{
    for (const struct proc *q = qpd.procs; q != p; q = q->next)
        if (q->pid == p->pid && !strcmp(q->name, p->name))
            return 1;
    return 0;
}

static int series_of(const struct proc *p, uint32_t i)
{
    return p->ops[i] && p->ops[i]->cum.h.count;
}

/* Whether op i of p has a dropped-samples series: beside each duration
 * series, and for an op whose every sample was dropped. */
static int op_drop_series(const struct proc *p, uint32_t i)
{
    return p->ops[i] && (series_of(p, i) || proc_op_dropped(p, i));
}

/* ---- text 0.0.4 and OpenMetrics ---------------------------------------- */

static void labels(jw_t *w, const struct proc *p, const struct agg_op *o)
{
    jw_puts(w, "{process=\"");
    jw_prom_label(w, p->name);
    jw_printf(w, "\",pid=\"%ld\",set=\"", (long)p->pid);
    jw_prom_label(w, o->set);
    jw_puts(w, "\",op=\"");
    jw_prom_label(w, o->name);
    jw_puts(w, "\",group=\"");
    jw_prom_label(w, o->group);
    jw_puts(w, "\"");
}

static void text_exemplar(jw_t *w, const struct prom_exemplar *ex)
{
    char v[32];
    ns_seconds(v, sizeof v, ex->dur_ns);
    jw_printf(w, " # {pid=\"%ld\",tid=\"%ld\"} %s %.6f", (long)ex->pid, (long)ex->tid, v,
              ex->start);
}

static void text_op(jw_t *w, const struct proc *p, const struct agg_op *o, int om)
{
    const hist_t *h = &o->cum.h;
    struct prom_exemplar ex = { 0 };
    size_t exb = (size_t)-1;
    if (om && prom_exemplar_of(p, o, &ex))
        exb = exemplar_bucket(ex.dur_ns);
    for (size_t i = 0; i <= NBUCKETS; i++) {
        jw_puts(w, "qpulse_duration_seconds_bucket");
        labels(w, p, o);
        if (i < NBUCKETS)
            jw_printf(w, ",le=\"%s\"} %llu", prom_buckets[i].le,
                      (unsigned long long)hist_count_le(h, prom_buckets[i].ns));
        else
            jw_printf(w, ",le=\"+Inf\"} %llu", (unsigned long long)h->count);
        if (i == exb)
            text_exemplar(w, &ex);
        jw_puts(w, "\n");
    }
    jw_puts(w, "qpulse_duration_seconds_sum");
    labels(w, p, o);
    jw_printf(w, "} %.9f\n", (double)h->total / 1e9);
    jw_puts(w, "qpulse_duration_seconds_count");
    labels(w, p, o);
    jw_printf(w, "} %llu\n", (unsigned long long)h->count);
}

/* The # HELP and # TYPE lines of the counter family `name`; OpenMetrics
 * names the family without its _total (and wants TYPE first). */
static void counter_head(jw_t *w, const char *name, const char *help, int om)
{
    if (om)
        jw_printf(w, "# TYPE %s counter\n# HELP %s %s\n", name, name, help);
    else
        jw_printf(w, "# HELP %s_total %s\n# TYPE %s_total counter\n", name, help, name);
}

static void render_text(jw_t *w, int om)
{
    unsigned alive = 0;
    if (om)
        jw_puts(w, "# TYPE qpulse_duration_seconds histogram\n"
                   "# UNIT qpulse_duration_seconds seconds\n"
                   "# HELP qpulse_duration_seconds " HELP_DURATION "\n");
    else
        jw_puts(w, "# HELP qpulse_duration_seconds " HELP_DURATION "\n"
                   "# TYPE qpulse_duration_seconds histogram\n");
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        alive += p->alive != 0;
        if (shadowed(p))
            continue;
        for (uint32_t i = 0; i < p->nops; i++)
            if (series_of(p, i))
                text_op(w, p, p->ops[i], om);
    }
    counter_head(w, "qpulse_dropped_samples", HELP_DROPPED, om);
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        if (shadowed(p))
            continue;
        jw_puts(w, "qpulse_dropped_samples_total{process=\"");
        jw_prom_label(w, p->name);
        jw_printf(w, "\",pid=\"%ld\"} %llu\n", (long)p->pid,
                  (unsigned long long)(p->dropped_last - p->dropped_base));
    }
    /* The same per operation, beside each duration series. */
    counter_head(w, "qpulse_op_dropped_samples", HELP_OP_DROPPED, om);
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        if (shadowed(p))
            continue;
        for (uint32_t i = 0; i < p->nops; i++) {
            if (!op_drop_series(p, i))
                continue;
            jw_puts(w, "qpulse_op_dropped_samples_total");
            labels(w, p, p->ops[i]);
            jw_printf(w, "} %llu\n", (unsigned long long)proc_op_dropped(p, i));
        }
    }
    if (om)
        jw_printf(w, "# TYPE qpulse_processes gauge\n# HELP qpulse_processes " HELP_PROCESSES
                     "\nqpulse_processes %u\n# EOF\n", alive);
    else
        jw_printf(w, "# HELP qpulse_processes " HELP_PROCESSES
                     "\n# TYPE qpulse_processes gauge\nqpulse_processes %u\n", alive);
}

/* ---- protobuf ----------------------------------------------------------- */

typedef Io__Prometheus__Client__MetricFamily pb_family;
typedef Io__Prometheus__Client__Metric pb_metric;
typedef Io__Prometheus__Client__LabelPair pb_label;
typedef Io__Prometheus__Client__Histogram pb_hist;
typedef Io__Prometheus__Client__Bucket pb_bucket;
typedef Io__Prometheus__Client__BucketSpan pb_span;
typedef Io__Prometheus__Client__Exemplar pb_exemplar;
typedef Io__Prometheus__Client__Timestamp pb_time;
typedef Io__Prometheus__Client__Counter pb_counter;
typedef Io__Prometheus__Client__Gauge pb_gauge;

#define NLABELS 5

/* Everything one series needs, freed together. */
struct pb_series {
    pb_metric m;
    pb_label lab[NLABELS];
    pb_label *labp[NLABELS];
    char *str[NLABELS];          /* label values, sanitised copies */
    pb_hist h;
    pb_bucket b[NBUCKETS + 1];    /* + an explicit +Inf for an exemplar there */
    pb_bucket *bp[NBUCKETS + 1];
    prom_native_t nat;
    pb_span *spans;
    pb_span **spanp;
    int64_t *deltas;
    pb_exemplar ex;
    pb_exemplar *exp[1];
    pb_label exl[2];
    pb_label *exlp[2];
    char exv[2][24];
    pb_time ts;
    pb_counter counter;
};

static void series_free(struct pb_series *s)
{
    for (int i = 0; i < NLABELS; i++)
        free(s->str[i]);
    prom_native_free(&s->nat);
    free(s->spans);
    free(s->spanp);
    free(s->deltas);
}

/* Labels name=value pairs (values already copied into s->str). */
static void series_labels(struct pb_series *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        io__prometheus__client__label_pair__init(&s->lab[i]);
        s->lab[i].name = (char *)names[i];
        s->lab[i].value = s->str[i];
        s->labp[i] = &s->lab[i];
    }
    s->m.n_label = (size_t)n;
    s->m.label = s->labp;
}

static int series_strings(struct pb_series *s, const char *const *vals, int n)
{
    for (int i = 0; i < n; i++)
        if (!(s->str[i] = jw_utf8_dup(vals[i])))
            return -ENOMEM;
    return 0;
}

static void pb_set_exemplar(struct pb_series *s, const struct prom_exemplar *ex)
{
    io__prometheus__client__exemplar__init(&s->ex);
    snprintf(s->exv[0], sizeof s->exv[0], "%ld", (long)ex->pid);
    snprintf(s->exv[1], sizeof s->exv[1], "%ld", (long)ex->tid);
    static const char *const names[2] = { "pid", "tid" };
    for (int i = 0; i < 2; i++) {
        io__prometheus__client__label_pair__init(&s->exl[i]);
        s->exl[i].name = (char *)names[i];
        s->exl[i].value = s->exv[i];
        s->exlp[i] = &s->exl[i];
    }
    s->ex.n_label = 2;
    s->ex.label = s->exlp;
    s->ex.has_value = 1;
    s->ex.value = (double)ex->dur_ns / 1e9;
    io__prometheus__client__timestamp__init(&s->ts);
    double sec = floor(ex->start);
    s->ts.has_seconds = s->ts.has_nanos = 1;
    s->ts.seconds = (int64_t)sec;
    s->ts.nanos = (int32_t)((ex->start - sec) * 1e9);
    if (s->ts.nanos > 999999999)
        s->ts.nanos = 999999999;
    s->ex.timestamp = &s->ts;
    s->exp[0] = &s->ex;
}

/* s: a series labelled with op o of p (or with p alone, o NULL). */
static int series_init(struct pb_series *s, const struct proc *p, const struct agg_op *o)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)p->pid);
    const char *vals[NLABELS] = { p->name, pid, o ? o->set : NULL, o ? o->name : NULL,
                                  o ? o->group : NULL };
    static const char *const names[NLABELS] = { "process", "pid", "set", "op", "group" };
    int n = o ? NLABELS : 2;
    io__prometheus__client__metric__init(&s->m);
    if (series_strings(s, vals, n) < 0)
        return -ENOMEM;
    series_labels(s, names, n);
    return 0;
}

/* s: a counter series of value v labelled as series_init() does. */
static int series_counter(struct pb_series *s, const struct proc *p, const struct agg_op *o,
                          uint64_t v)
{
    if (series_init(s, p, o) < 0)
        return -ENOMEM;
    io__prometheus__client__counter__init(&s->counter);
    s->counter.has_value = 1;
    s->counter.value = (double)v;
    s->m.counter = &s->counter;
    return 0;
}

static int pb_histogram(struct pb_series *s, const struct proc *p, const struct agg_op *o)
{
    const hist_t *h = &o->cum.h;
    if (series_init(s, p, o) < 0)
        return -ENOMEM;

    pb_hist *ph = &s->h;
    io__prometheus__client__histogram__init(ph);
    ph->has_sample_count = ph->has_sample_sum = 1;
    ph->sample_count = h->count;
    ph->sample_sum = (double)h->total / 1e9;
    /* classic buckets, as the text format has them (+Inf is implied) */
    for (size_t i = 0; i < NBUCKETS; i++) {
        io__prometheus__client__bucket__init(&s->b[i]);
        s->b[i].has_cumulative_count = s->b[i].has_upper_bound = 1;
        s->b[i].cumulative_count = hist_count_le(h, prom_buckets[i].ns);
        s->b[i].upper_bound = (double)prom_buckets[i].ns / 1e9;
        s->bp[i] = &s->b[i];
    }
    ph->n_bucket = NBUCKETS;
    ph->bucket = s->bp;

    /* native buckets */
    if (prom_native_from_hist(h, PROM_NATIVE_SCHEMA, &s->nat) < 0)
        return -ENOMEM;
    prom_native_t *n = &s->nat;
    ph->has_schema = ph->has_zero_threshold = ph->has_zero_count = 1;
    ph->schema = n->schema;
    ph->zero_threshold = PROM_NATIVE_ZERO_THRESHOLD;
    ph->zero_count = n->zero_count;
    if (n->nspans) {
        s->spans = calloc(n->nspans, sizeof *s->spans);
        s->spanp = calloc(n->nspans, sizeof *s->spanp);
        s->deltas = calloc(n->nbuckets, sizeof *s->deltas);
        if (!s->spans || !s->spanp || !s->deltas)
            return -ENOMEM;
        for (uint32_t i = 0; i < n->nspans; i++) {
            io__prometheus__client__bucket_span__init(&s->spans[i]);
            s->spans[i].has_offset = s->spans[i].has_length = 1;
            s->spans[i].offset = n->spans[i].offset;
            s->spans[i].length = n->spans[i].length;
            s->spanp[i] = &s->spans[i];
        }
        uint64_t prev = 0;
        for (uint32_t i = 0; i < n->nbuckets; i++) {
            s->deltas[i] = (int64_t)(n->counts[i] - prev);
            prev = n->counts[i];
        }
        ph->n_positive_span = n->nspans;
        ph->positive_span = s->spanp;
        ph->n_positive_delta = n->nbuckets;
        ph->positive_delta = s->deltas;
    }
    /* The exemplar: on its classic bucket and, with its timestamp, in the
     * native histogram's list.  Above the last bound it goes on an explicit
     * +Inf bucket (the protobuf format implies +Inf otherwise), as the Go
     * client does: servers that read exemplars only from buckets see it. */
    struct prom_exemplar ex = { 0 };
    if (prom_exemplar_of(p, o, &ex)) {
        pb_set_exemplar(s, &ex);
        size_t b = exemplar_bucket(ex.dur_ns);
        if (b == NBUCKETS) {
            io__prometheus__client__bucket__init(&s->b[b]);
            s->b[b].has_cumulative_count = s->b[b].has_upper_bound = 1;
            s->b[b].cumulative_count = h->count;
            s->b[b].upper_bound = INFINITY;
            s->bp[b] = &s->b[b];
            ph->n_bucket = NBUCKETS + 1;
        }
        s->b[b].exemplar = &s->ex;
        ph->n_exemplars = 1;
        ph->exemplars = s->exp;
    }
    s->m.histogram = ph;
    return 0;
}

/* Appends mf, length-delimited. */
static int pb_emit(jw_t *w, const pb_family *mf)
{
    size_t len = io__prometheus__client__metric_family__get_packed_size(mf);
    uint8_t hdr[10];
    size_t nh = 0;
    for (size_t v = len; ; v >>= 7) {
        hdr[nh++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        if (v < 0x80)
            break;
    }
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -ENOMEM;
    io__prometheus__client__metric_family__pack(mf, buf);
    jw_raw(w, (const char *)hdr, nh);
    jw_raw(w, (const char *)buf, len);
    free(buf);
    return w->oom ? -ENOMEM : 0;
}

/* Appends the counter family of the n series in mp (none: nothing). */
static int pb_counters(jw_t *w, const char *name, const char *help, pb_metric **mp, size_t n)
{
    if (!n)
        return 0;
    pb_family mf;
    io__prometheus__client__metric_family__init(&mf);
    mf.name = (char *)name;
    mf.help = (char *)help;
    mf.has_type = 1;
    mf.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
    mf.n_metric = n;
    mf.metric = mp;
    return pb_emit(w, &mf);
}

static int render_protobuf(jw_t *w)
{
    size_t nser = 0, nproc = 0, nopd = 0;
    unsigned alive = 0;
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        alive += p->alive != 0;
        if (shadowed(p))
            continue;
        nproc++;
        for (uint32_t i = 0; i < p->nops; i++) {
            nser += series_of(p, i) != 0;
            nopd += op_drop_series(p, i) != 0;
        }
    }
    size_t nall = nser + nproc + nopd;
    struct pb_series *ser = calloc(nall + 1, sizeof *ser);
    pb_metric **mp = calloc(nall + 1, sizeof *mp);
    int r = ser && mp ? 0 : -ENOMEM;

    /* qpulse_duration_seconds */
    size_t k = 0;
    for (const struct proc *p = qpd.procs; p && r == 0; p = p->next) {
        if (shadowed(p))
            continue;
        for (uint32_t i = 0; i < p->nops && r == 0; i++)
            if (series_of(p, i)) {
                r = pb_histogram(&ser[k], p, p->ops[i]);
                mp[k] = &ser[k].m;
                k++;
            }
    }
    pb_family mf;
    if (r == 0) {
        io__prometheus__client__metric_family__init(&mf);
        mf.name = "qpulse_duration_seconds";
        mf.help = HELP_DURATION;
        mf.has_type = 1;
        mf.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
        mf.n_metric = nser;
        mf.metric = mp;
        if (nser)
            r = pb_emit(w, &mf);
    }

    /* qpulse_dropped_samples_total */
    size_t first = k;
    for (const struct proc *p = qpd.procs; p && r == 0; p = p->next)
        if (!shadowed(p)) {
            r = series_counter(&ser[k], p, NULL, p->dropped_last - p->dropped_base);
            mp[k] = &ser[k].m;
            k++;
        }
    if (r == 0)
        r = pb_counters(w, "qpulse_dropped_samples_total", HELP_DROPPED, mp + first, k - first);

    /* qpulse_op_dropped_samples_total, beside each duration series */
    first = k;
    for (const struct proc *p = qpd.procs; p && r == 0; p = p->next) {
        if (shadowed(p))
            continue;
        for (uint32_t i = 0; i < p->nops && r == 0; i++)
            if (op_drop_series(p, i)) {
                r = series_counter(&ser[k], p, p->ops[i], proc_op_dropped(p, i));
                mp[k] = &ser[k].m;
                k++;
            }
    }
    if (r == 0)
        r = pb_counters(w, "qpulse_op_dropped_samples_total", HELP_OP_DROPPED, mp + first,
                        k - first);

    /* qpulse_processes */
    if (r == 0) {
        pb_metric m;
        pb_gauge g;
        pb_metric *gm[1] = { &m };
        io__prometheus__client__metric__init(&m);
        io__prometheus__client__gauge__init(&g);
        g.has_value = 1;
        g.value = alive;
        m.gauge = &g;
        io__prometheus__client__metric_family__init(&mf);
        mf.name = "qpulse_processes";
        mf.help = HELP_PROCESSES;
        mf.has_type = 1;
        mf.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
        mf.n_metric = 1;
        mf.metric = gm;
        r = pb_emit(w, &mf);
    }
    if (ser)
        for (size_t i = 0; i < nall; i++)
            series_free(&ser[i]);
    free(ser);
    free(mp);
    return r;
}

int prom_render(jw_t *w, enum prom_format f)
{
    if (f == PROM_PROTOBUF)
        return render_protobuf(w);
    render_text(w, f == PROM_OPENMETRICS);
    return w->oom ? -ENOMEM : 0;
}

/* ---- content negotiation ------------------------------------------------ */

const char *prom_content_type(enum prom_format f)
{
    switch (f) {
    case PROM_PROTOBUF:
        return "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
               "encoding=delimited";
    case PROM_OPENMETRICS:
        return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    default:
        return "text/plain; version=0.0.4";
    }
}

/* Does [s, s+n) equal the word w, ignoring case? */
static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

/* One media range [s, end): its format (or -1 when we do not serve it)
 * and its quality. */
static int media_range(const char *s, const char *end, double *q)
{
    *q = 1.0;
    s = skip_ws(s, end);
    const char *t = s;
    while (s < end && *s != ';' && *s != ' ' && *s != '\t')
        s++;
    size_t tn = (size_t)(s - t);
    char version[16] = "", proto[48] = "", encoding[16] = "";
    while (s < end) {
        s = skip_ws(s, end);
        if (s < end && *s == ';')
            s = skip_ws(s + 1, end);
        const char *k = s;
        while (s < end && *s != '=' && *s != ';')
            s++;
        size_t kn = (size_t)(s - k);
        while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
            kn--;
        if (s >= end || *s != '=') {
            if (s < end)
                continue;   /* a parameter without a value: skip it */
            break;
        }
        s = skip_ws(s + 1, end);
        char val[48];
        size_t vn = 0;
        if (s < end && *s == '"') {   /* quoted-string */
            for (s++; s < end && *s != '"'; s++) {
                if (*s == '\\' && s + 1 < end)
                    s++;
                if (vn < sizeof val - 1)
                    val[vn++] = *s;
            }
            if (s < end)
                s++;
        } else {
            for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++)
                if (vn < sizeof val - 1)
                    val[vn++] = *s;
        }
        val[vn] = 0;
        if (word_is(k, kn, "q")) {
            char *e;
            double v = strtod(val, &e);
            *q = (e == val || *e || !(v >= 0)) ? 0 : v > 1 ? 1 : v;
        } else if (word_is(k, kn, "version") && vn < sizeof version) {
            memcpy(version, val, vn + 1);
        } else if (word_is(k, kn, "proto") && vn < sizeof proto) {
            memcpy(proto, val, vn + 1);
        } else if (word_is(k, kn, "encoding") && vn < sizeof encoding) {
            memcpy(encoding, val, vn + 1);
        }
    }
    if (word_is(t, tn, "application/vnd.google.protobuf"))
        return !strcmp(proto, "io.prometheus.client.MetricFamily") &&
                       !strcmp(encoding, "delimited")
                   ? PROM_PROTOBUF
                   : -1;
    if (word_is(t, tn, "text/plain"))
        return !*version || !strcmp(version, "0.0.4") ? PROM_TEXT : -1;
    if (word_is(t, tn, "application/openmetrics-text"))
        return !*version || !strcmp(version, "1.0.0") || !strcmp(version, "0.0.1")
                   ? PROM_OPENMETRICS
                   : -1;
    return -1;
}

enum prom_format prom_negotiate(const char *accept)
{
    if (!accept)
        return PROM_TEXT;
    enum prom_format best = PROM_TEXT;
    double best_q = 0;
    const char *s = accept, *end = accept + strlen(accept);
    while (s < end) {
        /* the range ends at a comma outside a quoted string */
        const char *e = s;
        int quoted = 0;
        for (; e < end && (quoted || *e != ','); e++) {
            if (*e == '\\' && quoted && e + 1 < end)
                e++;
            else if (*e == '"')
                quoted = !quoted;
        }
        double q;
        int f = media_range(s, e, &q);
        if (f >= 0 && q > best_q) {   /* the first of equal quality wins */
            best = (enum prom_format)f;
            best_q = q;
        }
        s = e < end ? e + 1 : end;
    }
    return best;
}
