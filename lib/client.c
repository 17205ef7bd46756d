/*
 * client.c — one request to qpulsed over its local socket (docs/PROTOCOL.md),
 * bounded in time and size.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "clock.h"
#include "common.h"


static long long now_ms(void)
{
    return (long long)(qp_mono_ns() / 1000000);
}

static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { fd, ev, 0 };
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* A connected socket to the daemon at path, or -errno. */
static int connect_to(const char *path, long long deadline)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int r = -errno;
        if (errno == EINPROGRESS || errno == EAGAIN)
            r = wait_fd(fd, POLLOUT, deadline);
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    return fd;
}

int qp_client_request(const char *ns, const char *request, char **out, size_t *outlen,
                      int timeout_ms)
{
    *out = NULL;
    if (outlen)
        *outlen = 0;
    long long deadline = now_ms() + timeout_ms;
    /* Our own user's daemon first, then the system daemon (a root qpulsed
     * serves every user the processes of that user). */
    char own[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char sys[sizeof own];
    int r = qp_socket_path(own, sizeof own, ns);
    int fd = r < 0 ? r : connect_to(own, deadline);
    if ((fd == -ENOENT || fd == -ECONNREFUSED || r < 0) &&
        qp_system_socket_path(sys, sizeof sys, ns) == 0 && (r < 0 || strcmp(own, sys))) {
        int fd2 = connect_to(sys, deadline);
        if (fd2 >= 0 || r < 0)
            fd = fd2;
    }
    if (fd < 0)
        return fd;
    r = 0;
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof line) {
        r = -EMSGSIZE;
        goto out;
    }
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = send(fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            r = -errno;
            goto out;
        }
        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
            goto out;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= QP_REPLY_MAX) {
                free(buf);
                r = -EMSGSIZE;
                goto out;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                r = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        if (got == 0)
            break;
        if (errno != EAGAIN && errno != EINTR) {
            r = -errno;
            free(buf);
            goto out;
        }
        if ((r = wait_fd(fd, POLLIN, deadline)) < 0) {
            free(buf);
            goto out;
        }
    }
    buf[len] = 0;
    *out = buf;
    if (outlen)
        *outlen = len;
out:
    close(fd);
    return r;
}

const char *qp_client_strerror(int err, const char *ns, char *buf, size_t len)
{
    if (err == -ECONNREFUSED || err == -ENOENT)
        snprintf(buf, len, "qpulsed is not running in namespace %s \u2014 start it with: qpulsed --ns %s",
                 ns, ns);
    else if (err == -ETIMEDOUT)
        snprintf(buf, len, "qpulsed in namespace %s did not answer in time", ns);
    else
        snprintf(buf, len, "cannot talk to qpulsed in namespace %s: %s", ns, strerror(-err));
    return buf;
}

int qp_client_reply_error(const char *reply, size_t len, char *msg, size_t msglen)
{
    /* the daemon writes the key first: a snapshot is not parsed twice */
    if (len < 8 || strncmp(reply, "{\"error\"", 8) != 0)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(reply, len, JSON_DISABLE_EOF_CHECK, &je);
    json_t *e = json_object_get(j, "error");
    int is = json_is_string(e);
    if (is)
        snprintf(msg, msglen, "%s", json_string_value(e));
    json_decref(j);
    return is;
}

int qp_client_ask(const char *ns, const char *request, char **out, size_t *outlen,
                  int timeout_ms, char *err, size_t errlen)
{
    size_t len = 0;
    int r = qp_client_request(ns, request, out, &len, timeout_ms);
    if (outlen)
        *outlen = len;
    if (r < 0) {
        qp_client_strerror(r, ns, err, errlen);
        return r;
    }
    char msg[400];
    if (qp_client_reply_error(*out, len, msg, sizeof msg)) {
        snprintf(err, errlen, "qpulsed refused: %s", msg);
        free(*out);
        *out = NULL;
        return -EPROTO;
    }
    return 0;
}
