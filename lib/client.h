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

#endif /* QPULSE_CLIENT_H */
