/*
 * client.h — talking to qpulsed over its local socket (docs/PROTOCOL.md).
 * Used by qptop and qpulse; bounded in time and size.
 */
#ifndef QPULSE_CLIENT_H
#define QPULSE_CLIENT_H

#include <stddef.h>

/* Sends one request line (without '\n') to the daemon of namespace ns (our
 * own user's, else the system daemon's socket: qp_system_socket_path) and
 * reads the whole reply into a malloc'd, NUL-terminated *out.  Returns 0, or
 * -ECONNREFUSED/-ENOENT when no daemon runs, -ETIMEDOUT, -EMSGSIZE (reply
 * over 256 MiB), or another -errno. */
int qp_client_request(const char *ns, const char *request, char **out, size_t *outlen,
                      int timeout_ms);

/* "qpulsed is not running in namespace X — start it with: qpulsed --ns X"
 * or the error text, for messages. */
const char *qp_client_strerror(int err, const char *ns, char *buf, size_t len);

/* The largest reply read from the daemon, and the largest snapshot file. */
#define QP_REPLY_MAX (256u << 20)

/* 1 when reply is the daemon's error reply, {"error": "..."} (its answer to
 * what it cannot serve), with the message into msg; else 0. */
int qp_client_reply_error(const char *reply, size_t len, char *msg, size_t msglen);

/* qp_client_request, with either failure as one message in err: no answer
 * (qp_client_strerror, the request's error) or an error reply
 * ("qpulsed refused: ...", -EPROTO; *out is then NULL). */
int qp_client_ask(const char *ns, const char *request, char **out, size_t *outlen,
                  int timeout_ms, char *err, size_t errlen);

#endif /* QPULSE_CLIENT_H */
