/*
 * fuzz_request.c — libFuzzer target for qpulsed's request parser: the
 * real daemon/server.c (included here, so that its static read and parse
 * functions can be driven), linked with the rest of the real daemon
 * (main.c's main renamed by fuzz/build.sh) and its empty process table.
 *
 * Each input is what one client sends on the socket.  It is written into
 * one end of a socketpair, the write side shut down (end of request), and
 * the server's own client_read() reads it from the other end exactly as it
 * does for an accepted connection, until it has a reply or closed the
 * client.  Invariant checked: a reply, when there is one, is a single JSON
 * object on one line (parsed with jansson); anything else aborts.
 */
#include "../daemon/server.c"

#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    qpd.cfg.ns = "fuzz";
    qpd.cfg.window = 10;
    qpd.cfg.retain = 300;
    qpd.start_mono = mono_ns();
    history_init(1);   /* HISTORY answers from an empty recorder */
    bg_off = 1;        /* ... in place, its reply checked below */
    return 0;
}

static void check_reply(const char *s, size_t len)
{
    if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len) != s + len - 1)
        abort();   /* one line, newline-terminated */
    json_error_t je;
    json_t *j = json_loadb(s, len, 0, &je);
    if (!j || !json_is_object(j))
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 65536 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;   /* the buffer is full: the rest is never read anyway */
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);

    struct client *c = &clients[0];
    *c = (struct client){ CL_READ, sv[1], mono_ns() + READ_TIMEOUT_NS, 0, { 0 }, NULL, 0, 0 };
    nclients = 1;
    /* The server reads at most REQ_MAX + 1 bytes; a few rounds suffice. */
    for (int i = 0; i < 8 && c->state == CL_READ; i++)
        client_read(c);
    if (c->state == CL_WRITE) {
        check_reply(c->out, c->olen);
        client_close(c);
    } else if (c->state != CL_FREE) {
        abort();   /* neither answered nor closed after the end of input */
    }
    close(sv[0]);
    return 0;
}
