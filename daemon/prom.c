/*
 * prom.c — qpulsed --listen HOST:PORT: Prometheus text format 0.0.4 at
 * GET /metrics (qpulsed(8), --listen), served by libmicrohttpd's own thread.
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
#include "prom.h"
#include "qpulsed.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static struct MHD_Daemon *mhd;

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
    enum prom_format f =
        prom_negotiate(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    jw_t w;
    jw_init(&w);
    pthread_mutex_lock(&qpd.lock);
    int r = prom_render(&w, f);
    pthread_mutex_unlock(&qpd.lock);
    size_t len;
    char *text = jw_take(&w, &len);
    if (r < 0 || !text) {
        free(text);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, prom_content_type(f));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT);
    mhd_result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
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
