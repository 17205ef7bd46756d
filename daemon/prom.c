/*
 * prom.c — qpulsed --listen HOST:PORT: Prometheus text format 0.0.4 at
 * GET /metrics (CONTRACT.md §8), served by libmicrohttpd's own thread.
 *
 * The handler renders the page from the live tables under qpd.lock (the
 * main loop holds it while draining), so a scrape costs the drain a few
 * milliseconds at most.  Connections are bounded in number, time and
 * memory; anything but GET /metrics gets 404 or 405.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "qpulsed.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static struct MHD_Daemon *mhd;

/* Histogram bucket bounds: 100 ns .. 10 s, 1-2.5-5 per decade. */
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

/* A pid listed twice (an exec'd image, a reused pid) would give duplicate
 * series; the newest entry (first in the list) wins. */
static int shadowed(const struct proc *p)
{
    for (const struct proc *q = qpd.procs; q != p; q = q->next)
        if (q->pid == p->pid && !strcmp(q->name, p->name))
            return 1;
    return 0;
}

static void render_op(jw_t *w, const struct proc *p, const struct agg_op *o)
{
    const hist_t *h = &o->cum.h;
    for (size_t i = 0; i < sizeof prom_buckets / sizeof prom_buckets[0]; i++) {
        jw_puts(w, "qpulse_duration_seconds_bucket");
        labels(w, p, o);
        jw_printf(w, ",le=\"%s\"} %llu\n", prom_buckets[i].le,
                  (unsigned long long)hist_count_le(h, prom_buckets[i].ns));
    }
    jw_puts(w, "qpulse_duration_seconds_bucket");
    labels(w, p, o);
    jw_printf(w, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    jw_puts(w, "qpulse_duration_seconds_sum");
    labels(w, p, o);
    jw_printf(w, "} %.9f\n", (double)h->total / 1e9);
    jw_puts(w, "qpulse_duration_seconds_count");
    labels(w, p, o);
    jw_printf(w, "} %llu\n", (unsigned long long)h->count);
}

static void render_metrics(jw_t *w)
{
    unsigned alive = 0;
    jw_puts(w, "# HELP qpulse_duration_seconds Duration of instrumented operations, since "
               "each process started.\n# TYPE qpulse_duration_seconds histogram\n");
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        alive += p->alive != 0;
        if (shadowed(p))
            continue;
        for (uint32_t i = 0; i < p->nops; i++)
            if (p->ops[i] && p->ops[i]->cum.h.count)
                render_op(w, p, p->ops[i]);
    }
    jw_puts(w, "# HELP qpulse_dropped_samples_total Samples recorded by a process but not "
               "aggregated (full ring, no slot, invalid).\n"
               "# TYPE qpulse_dropped_samples_total counter\n");
    for (const struct proc *p = qpd.procs; p; p = p->next) {
        if (shadowed(p))
            continue;
        jw_puts(w, "qpulse_dropped_samples_total{process=\"");
        jw_prom_label(w, p->name);
        jw_printf(w, "\",pid=\"%ld\"} %llu\n", (long)p->pid,
                  (unsigned long long)(p->dropped_last - p->dropped_base));
    }
    jw_printf(w, "# HELP qpulse_processes Instrumented processes alive in this namespace.\n"
                 "# TYPE qpulse_processes gauge\nqpulse_processes %u\n", alive);
}

static mhd_result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
    mhd_result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result handle(void *cls, struct MHD_Connection *c, const char *url,
                         const char *method, const char *version, const char *upload_data,
                         size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    *upload_size = 0;   /* bodies are ignored */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served\n");
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
    jw_t w;
    jw_init(&w);
    pthread_mutex_lock(&qpd.lock);
    render_metrics(&w);
    pthread_mutex_unlock(&qpd.lock);
    size_t len;
    char *text = jw_take(&w, &len);
    if (!text)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
    mhd_result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* HOST:PORT, [V6]:PORT, :PORT or PORT (then loopback) into an address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sl,
                        char *err, size_t errlen)
{
    char host[256];
    const char *port;
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        snprintf(host, sizeof host, "127.0.0.1");
        port = spec;
    } else {
        size_t n = (size_t)(colon - spec);
        if (n >= sizeof host) {
            snprintf(err, errlen, "host name too long");
            return -EINVAL;
        }
        memcpy(host, spec, n);
        host[n] = 0;
        port = colon + 1;
        if (n == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        else if (host[0] == '[' && host[n - 1] == ']') {
            memmove(host, host + 1, n - 2);
            host[n - 2] = 0;
        }
    }
    char *end;
    long pn = strtol(port, &end, 10);
    if (!*port || *end || pn < 1 || pn > 65535) {
        snprintf(err, errlen, "'%s' is not a port number (1-65535)", port);
        return -EINVAL;
    }
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(host, port, &hints, &ai);
    if (r != 0) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(r));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sl = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

int prom_check_listen(const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    return parse_listen(listen, &ss, &sl, err, errlen);
}

int prom_start(const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int r = parse_listen(listen, &ss, &sl, err, errlen);
    if (r < 0)
        return r;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    mhd = MHD_start_daemon(flags, port, NULL, NULL, handle, NULL,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                           MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                           MHD_OPTION_END);
    if (!mhd) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not ours?)", listen);
        return -EADDRINUSE;
    }
    return 0;
}

void prom_stop(void)
{
    if (mhd)
        MHD_stop_daemon(mhd);
    mhd = NULL;
}
