/*
 * cmd_trace.c — `qpulse trace [--ns NAME] [--pid PID] [--last SECONDS]
 * [-o FILE]`: the daemon's flight recorder (its most recent raw samples) as
 * a Trace Event Format file that Perfetto UI and chrome://tracing open.
 *
 * The daemon writes the trace (the HISTORY request of docs/PROTOCOL.md);
 * this command checks the reply and stores it.  Exit 0 when a trace with at
 * least one sample was written, 1 when the daemon holds no history for the
 * selection, 2 on a usage error or when the daemon cannot be asked.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "opts.h"
#include "tools.h"

#define TRACE_TIMEOUT_MS 60000

enum { OPT_NS = QP_OPT_LONG, OPT_PID, OPT_LAST };

static const struct qp_opt trace_opts[] = {
    QP_OPT_NS(OPT_NS),
    { "pid", OPT_PID, "PID", "every process", "only this process" },
    { "last", OPT_LAST, "SECONDS", NULL, "only samples that started in the last SECONDS" },
    { "output", 'o', "FILE", "standard output", "write there" },
    { "quiet", 'q', NULL, NULL, "no summary on standard error" },
    QP_OPT_HELP,
};

const struct qp_prog qp_trace_prog = {
    .name = "qpulse trace",
    .about = "Writes the samples qpulsed holds in its flight recorder (qpulsed\n"
             "--history-mb) as a Trace Event Format JSON file: open it in Perfetto UI\n"
             "(ui.perfetto.dev) or chrome://tracing.  Each sample is one complete event,\n"
             "nested by time on its thread.",
    .footer = "Exit status: 0 written, 1 no history for the selection, 2 usage error or\n"
              "no daemon.",
    .opts = QP_PROG_OPTS(trace_opts),
};

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

int qp_cmd_trace(int argc, char **argv)
{
    const char *ns = NULL, *out = NULL;
    long pid = 0;
    double last = 0;
    int quiet = 0, c;
    char *end;
    while ((c = qp_opts_next(&qp_trace_prog, argc, argv)) != -1) {
        switch (c) {
        case OPT_NS: ns = optarg; break;
        case OPT_PID:
            errno = 0;
            pid = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || pid <= 0 || pid > 0x7fffffff) {
                fprintf(stderr, "qpulse trace: --pid: expected a process id, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_LAST:
            errno = 0;
            last = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(last > 0) || last > 366.0 * 86400) {
                fprintf(stderr, "qpulse trace: --last: expected a positive number of "
                                "seconds, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': qp_opts_help(&qp_trace_prog, stdout); return 0;
        default: qp_opts_try(&qp_trace_prog); return 2;
        }
    }
    if (qp_opts_no_args(&qp_trace_prog, argc, argv) < 0 || qp_opts_ns(&qp_trace_prog, &ns) < 0)
        return 2;
    char req[96], err[512];
    unsigned long long last_ms = last > 0 ? (unsigned long long)ceil(last * 1000) : 0;
    snprintf(req, sizeof req, "HISTORY %ld %llu", pid, last_ms);
    char *reply = NULL;
    size_t len = 0;
    int r = qp_client_ask(ns, req, &reply, &len, TRACE_TIMEOUT_MS, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "qpulse trace: %s%s\n", err,
                r == -EMSGSIZE ? " (narrow it with --last or --pid)" : "");
        return 2;
    }
    /* {"qpulse":1,"events":N,"trace":{...}}\n: the count, then the trace to
     * store as it is (not parsed: it may be hundreds of megabytes). */
    static const char key[] = ",\"trace\":";
    char *tk = strstr(reply, key);
    long long n = -1;
    if (tk && len > 2 && reply[len - 1] == '\n' && reply[len - 2] == '}' &&
        sscanf(reply, "{\"qpulse\":1,\"events\": %lld", &n) != 1)
        n = -1;
    if (!tk || n < 0) {
        fprintf(stderr, "qpulse trace: unexpected reply from qpulsed: %.200s\n", reply);
        free(reply);
        return 2;
    }
    if (n == 0) {
        fprintf(stderr, "qpulse trace: qpulsed holds no samples%s%s in namespace %s%s\n",
                pid ? " of pid " : "", pid ? (snprintf(err, sizeof err, "%ld", pid), err) : "",
                ns, last > 0 ? " for the time asked" : "");
        free(reply);
        return 1;
    }
    char *body = tk + sizeof key - 1;
    size_t blen = (size_t)(reply + len - 2 - body);   /* without the final "}\n" */
    body[blen] = '\n';
    blen++;
    int fd = 1;
    if (out) {
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "qpulse trace: cannot write %s: %s\n", out, strerror(errno));
            free(reply);
            return 2;
        }
    }
    r = write_all(fd, body, blen);
    if (out && close(fd) < 0 && r == 0)
        r = -errno;
    free(reply);
    if (r < 0) {
        fprintf(stderr, "qpulse trace: writing %s: %s\n", out ? out : "standard output",
                strerror(-r));
        return 2;
    }
    if (!quiet && out)
        fprintf(stderr, "qpulse trace: %lld samples written to %s\n", (long long)n, out);
    return 0;
}
