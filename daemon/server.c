/*
 * server.c — qpulsed's local socket (docs/PROTOCOL.md): one request line of
 * at most 1024 bytes, one reply, then the daemon closes the connection.
 *
 * Every client is non-blocking and served from the main poll loop, with a
 * deadline for the request (2 s) and for the reply (5 s); at most
 * MAX_CLIENTS are served at once (the rest wait in the listen backlog), so
 * no viewer can stall the drain or make the daemon grow without bound.
 * Peers are checked with SO_PEERCRED: our uid or root only, except in
 * system mode (a root daemon), where the socket is open to every user and
 * each request is answered for the peer's own user (access.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "bg.h"
#include "common.h"
#include "history.h"
#include "log.h"
#include "qpulsed.h"

#define MAX_CLIENTS 64
#define REQ_MAX 1024
#define REQ_WORDS 24
#define READ_TIMEOUT_NS (2ll * 1000000000)
#define WRITE_TIMEOUT_NS (5ll * 1000000000)

enum { CL_FREE = 0, CL_READ, CL_WRITE };

struct client {
    int state;
    int fd;
    int64_t deadline;
    size_t rlen;
    char req[REQ_MAX + 1];
    char *out;
    size_t olen, opos;
    uid_t uid;                    /* the peer's user (SO_PEERCRED) */
};

static int lfd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client clients[MAX_CLIENTS];
static int pfd_client[MAX_CLIENTS + 1];   /* pollfd index -> client, -1 = listener */
static unsigned nclients;

int server_init(void)
{
    if (qp_socket_path(sock_path, sizeof sock_path, qpd.cfg.ns) < 0) {
        log_err("socket path for namespace %s is too long", qpd.cfg.ns);
        return -ENAMETOOLONG;
    }
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return -errno;
    /* The socket appears under its name only once it listens: bound and
     * made listening under a temporary name, then renamed.  A client that
     * sees the name (tests and scripts wait for it) can connect at once. */
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    char tmp[sizeof sa.sun_path];
    int n = snprintf(tmp, sizeof tmp, "%s.%ld", sock_path, (long)getpid());
    const char *at = n > 0 && (size_t)n < sizeof tmp ? tmp : sock_path;
    memcpy(sa.sun_path, at, strlen(at) + 1);
    /* We hold the namespace's lock: a socket left here is stale. */
    unlink(at);
    mode_t old = umask(077);
    int r = bind(lfd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    /* System mode: every user may connect; each sees its own processes. */
    if (r < 0 || chmod(at, qpd.system ? 0666 : 0600) < 0 || listen(lfd, 128) < 0 ||
        (at != sock_path && rename(at, sock_path) < 0)) {
        int e = errno;
        log_err("cannot listen on %s: %s", sock_path, strerror(e));
        if (r == 0)
            unlink(at);
        close(lfd);
        lfd = -1;
        return -e;
    }
    return 0;
}

static void client_close(struct client *c)
{
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof *c);
    nclients--;
}

void server_fini(void)
{
    for (unsigned i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].state != CL_FREE)
            client_close(&clients[i]);
    if (lfd >= 0) {
        close(lfd);
        unlink(sock_path);
    }
    lfd = -1;
}

int server_pollfds(struct pollfd *pfd, int max)
{
    int n = 0;
    if (lfd >= 0 && nclients < MAX_CLIENTS && n < max) {
        pfd[n] = (struct pollfd){ lfd, POLLIN, 0 };
        pfd_client[n++] = -1;
    }
    for (int i = 0; i < MAX_CLIENTS && n < max; i++) {
        if (clients[i].state == CL_FREE)
            continue;
        pfd[n] = (struct pollfd){ clients[i].fd,
                                  (short)(clients[i].state == CL_READ ? POLLIN : POLLOUT), 0 };
        pfd_client[n++] = i;
    }
    return n;
}

/* Sets c's reply (a malloc'd line) and switches it to writing. */
static void client_reply(struct client *c, char *text, size_t len)
{
    c->out = text;
    c->olen = len;
    c->opos = 0;
    c->state = CL_WRITE;
    c->deadline = mono_ns() + WRITE_TIMEOUT_NS;
}

static void client_error(struct client *c, const char *msg)
{
    jw_t w;
    jw_init(&w);
    jw_obj_begin(&w);
    jw_kv_str(&w, "error", msg);
    jw_obj_end(&w);
    jw_raw(&w, "\n", 1);
    size_t len;
    char *s = jw_take(&w, &len);
    if (s)
        client_reply(c, s, len);
    else
        client_close(c);
}

/* Splits the request into at most max words (max + 1: too many). */
static int split(char *s, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = t;
    }
    return n;
}

/* In a writer child (bg.c): sends the reply in blocking writes, each of
 * which must progress within the reply's timeout.  0 when all was sent. */
static int reply_in_child(struct client *c, jw_t *out)
{
    jw_raw(out, "\n", 1);
    size_t len;
    char *s = jw_take(out, &len);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        s = strdup(oom);
        len = s ? sizeof oom - 1 : 0;
    }
    int fl = fcntl(c->fd, F_GETFL);
    struct timeval tv = { WRITE_TIMEOUT_NS / 1000000000, 0 };
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
        free(s);
        return -1;
    }
    int r = qp_write_all(c->fd, s, len);   /* SIGPIPE is ignored: EPIPE */
    free(s);
    close(c->fd);
    return r < 0 ? -1 : 0;
}

static void handle_request(struct client *c)
{
    char *w[REQ_WORDS + 1];
    char line[REQ_MAX + 1];
    char err[REQ_MAX + 96];
    memcpy(line, c->req, c->rlen);
    line[c->rlen] = 0;
    int n = split(line, w, REQ_WORDS);
    jw_t out;
    jw_init(&out);
    if (n > REQ_WORDS) {
        client_error(c, "request of more than 24 words");
        return;
    }
    if (n == 1 && !strcmp(w[0], "PING")) {
        jw_obj_begin(&out);
        jw_kv_i64(&out, "qpulse", 1);
        jw_kv_i64(&out, "pid", getpid());
        jw_kv_str(&out, "ns", qpd.cfg.ns);
        jw_obj_end(&out);
    } else if (n >= 2 && n <= REQ_WORDS && !strcmp(w[0], "SNAPSHOT")) {
        int cum = !strcmp(w[1], "cumulative");
        int hist = n >= 3 && !strcmp(w[2], "hist");
        struct render_sel sel = { 0 };
        if (!cum && strcmp(w[1], "window")) {
            client_error(c, "usage: SNAPSHOT window|cumulative [hist] [pid=PID] [name=NAME] "
                            "[set=SET] [op=OP] [threads]");
            return;
        }
        /* pid= name= set= op=: only the processes and op behind one of
         * qptop's rows (its detail view) */
        if (n > 2 + hist && view_sel_parse(w + 2 + hist, n - 2 - hist, &sel, err, sizeof err) < 0) {
            client_error(c, err);
            return;
        }
        access_begin(c->uid);
        render_snapshot_sel(&out, cum, hist, sel.arg ? &sel : NULL);
        access_end();
        view_sel_free(&sel);
    } else if (n >= 2 && n <= REQ_WORDS && !strcmp(w[0], "VIEW")) {
        struct view_req *q;
        if (view_parse(w + 1, n - 1, &q, err, sizeof err) < 0) {
            client_error(c, err);
            return;
        }
        access_begin(c->uid);
        view_render(&out, q);
        access_end();
        view_req_free(q);
    } else if (n >= 1 && !strcmp(w[0], "HISTORY")) {
        /* {"qpulse":1,"events":N,"trace":{...}}: the count first, so that
         * a client can store the trace without parsing it. */
        struct history_sel sel;
        if (history_parse_request(w + 1, n - 1, &sel, err, sizeof err) < 0) {
            client_error(c, err);
            return;
        }
        /* Written by a child (bg.c): rendering a full recorder takes
         * seconds, and the drain must not stop for them.  The daemon hands
         * the connection over and forgets it. */
        pid_t kid = bg_fork("a trace for a client", c->fd, NULL);
        if (kid > 0) {
            client_close(c);
            return;
        }
        /* The trace is written in place (it may be a couple of hundred
         * megabytes: never twice in memory); the count, known only after,
         * goes into space kept for it (JSON allows the blanks). */
        jw_puts(&out, "{\"qpulse\":1,\"events\":");
        size_t at = out.len;
        jw_puts(&out, "                    ,\"trace\":");
        out.need_comma = 0;
        access_begin(c->uid);
        size_t events = history_trace(&out, &sel);
        access_end();
        jw_raw(&out, "}", 1);
        if (!out.oom) {
            char num[24];
            int k = snprintf(num, sizeof num, "%20zu", events);
            memcpy(out.buf + at, num, (size_t)k);
        }
        if (kid == 0)
            bg_exit(reply_in_child(c, &out), 0);
    } else if (n == 1 && !strcmp(w[0], "RESET")) {
        access_begin(c->uid);
        procs_reset();
        access_end();
        if (qpd.system && c->uid != 0)
            log_notice("statistics of uid %lu's processes reset by a client",
                       (unsigned long)c->uid);
        else
            log_notice("statistics reset by a client");
        jw_puts(&out, "{\"ok\":true}");
    } else {
        char msg[REQ_MAX + 96];
        snprintf(msg, sizeof msg, "unknown request '%s': expected PING, SNAPSHOT, VIEW, HISTORY or RESET",
                 n > 0 ? w[0] : "");
        client_error(c, msg);
        return;
    }
    jw_raw(&out, "\n", 1);
    size_t len;
    char *s = jw_take(&out, &len);
    if (!s) {
        client_error(c, "out of memory");
        return;
    }
    client_reply(c, s, len);
}

static int peer_allowed(int fd, uid_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return 0;
    *uid = cr.uid;
    return access_peer_allowed(cr.uid);
}

static void accept_clients(void)
{
    while (nclients < MAX_CLIENTS) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        uid_t uid = (uid_t)-1;
        if (!peer_allowed(fd, &uid)) {
            log_warn("refused a client of another user");
            close(fd);
            continue;
        }
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].state == CL_FREE) {
                clients[i] = (struct client){ CL_READ, fd, mono_ns() + READ_TIMEOUT_NS, 0,
                                              { 0 }, NULL, 0, 0, uid };
                nclients++;
                break;
            }
    }
}

static void client_read(struct client *c)
{
    ssize_t n = recv(c->fd, c->req + c->rlen, REQ_MAX + 1 - c->rlen, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            client_close(c);
        return;
    }
    if (n == 0) {   /* the peer shut down its side: what it sent is the line */
        if (c->rlen)
            handle_request(c);
        else
            client_close(c);
        return;
    }
    c->rlen += (size_t)n;
    char *nl = memchr(c->req, '\n', c->rlen);
    if (nl) {
        c->rlen = (size_t)(nl - c->req);
        handle_request(c);
    } else if (c->rlen > REQ_MAX) {
        client_error(c, "request longer than 1024 bytes");
    }
}

static void client_write(struct client *c)
{
    ssize_t n = send(c->fd, c->out + c->opos, c->olen - c->opos, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            client_close(c);
        return;
    }
    c->opos += (size_t)n;
    if (c->opos == c->olen)
        client_close(c);
}

void server_handle(struct pollfd *pfd, int n)
{
    for (int i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        if (pfd_client[i] < 0) {
            accept_clients();
            continue;
        }
        struct client *c = &clients[pfd_client[i]];
        if (c->state == CL_FREE || c->fd != pfd[i].fd)
            continue;
        if (c->state == CL_READ)
            client_read(c);
        else if (pfd[i].revents & (POLLERR | POLLHUP))
            client_close(c);
        else
            client_write(c);
    }
}

int64_t server_next_deadline(void)
{
    int64_t d = INT64_MAX;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].state != CL_FREE && clients[i].deadline < d)
            d = clients[i].deadline;
    return d;
}

void server_expire(void)
{
    int64_t now = mono_ns();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (c->state == CL_FREE || c->deadline > now)
            continue;
        if (c->state == CL_READ && c->rlen == 0) {
            client_close(c);   /* said nothing: no reply owed */
        } else if (c->state == CL_READ) {
            client_error(c, "request not finished within 2 s");
            c->deadline = now + WRITE_TIMEOUT_NS;
        } else {
            log_info("dropped a client that did not read its reply within 5 s");
            client_close(c);
        }
    }
}
