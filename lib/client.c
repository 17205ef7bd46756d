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

#include "client.h"
#include "common.h"

#define REPLY_MAX (256u << 20)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

int qp_client_request(const char *ns, const char *request, char **out, size_t *outlen,
                      int timeout_ms)
{
    *out = NULL;
    if (outlen)
        *outlen = 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (qp_socket_path(sa.sun_path, sizeof sa.sun_path, ns) < 0)
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    long long deadline = now_ms() + timeout_ms;
    int r = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            r = -errno;
            goto out;
        }
        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
            goto out;
    }
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
            if (cap >= REPLY_MAX) {
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
