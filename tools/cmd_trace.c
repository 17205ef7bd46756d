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
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "common.h"
#include "tools.h"

#define TRACE_TIMEOUT_MS 60000

static void trace_usage(FILE *f)
{
    fprintf(f,
            "usage: qpulse trace [--ns NAME] [--pid PID] [--last SECONDS] [-o FILE]\n"
            "\n"
            "Writes the samples qpulsed holds in its flight recorder (qpulsed\n"
            "--history-mb) as a Trace Event Format JSON file: open it in Perfetto UI\n"
            "(ui.perfetto.dev) or chrome://tracing.  Each sample is one complete event,\n"
            "nested by time on its thread.\n"
            "\n"
            "  --ns NAME         namespace (default: $QPULSE_NS or \"default\")\n"
            "  --pid PID         only this process (default: every process)\n"
            "  --last SECONDS    only samples that started in the last SECONDS\n"
            "  -o, --output FILE write there (default: standard output)\n"
            "  -q, --quiet       no summary on standard error\n"
            "  -h, --help        this text\n"
            "\n"
            "Exit status: 0 written, 1 no history for the selection, 2 usage error or\n"
            "no daemon.\n");
}

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
    static const struct option opts[] = {
        { "ns", required_argument, NULL, 'n' },
        { "pid", required_argument, NULL, 'p' },
        { "last", required_argument, NULL, 'l' },
        { "output", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *ns = NULL, *out = NULL;
    long pid = 0;
    double last = 0;
    int quiet = 0, c;
    char *end;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ns = optarg; break;
        case 'p':
            errno = 0;
            pid = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || pid <= 0 || pid > 0x7fffffff) {
                fprintf(stderr, "qpulse trace: --pid: expected a process id, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'l':
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
        case 'h': trace_usage(stdout); return 0;
        default:
            fprintf(stderr, "qpulse trace: %s '%s'\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            trace_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qpulse trace: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!ns && !(ns = qp_ns_from_env())) {
        fprintf(stderr, "qpulse trace: QPULSE_NS is not a valid namespace\n");
        return 2;
    }
    if (!qp_ns_valid(ns)) {
        fprintf(stderr, "qpulse trace: --ns: expected 1 to 48 of A-Z a-z 0-9 _ -, got '%s'\n",
                ns);
        return 2;
    }
    char req[96], err[512];
    unsigned long long last_ms = last > 0 ? (unsigned long long)ceil(last * 1000) : 0;
    snprintf(req, sizeof req, "HISTORY %ld %llu", pid, last_ms);
    char *reply = NULL;
    size_t len = 0;
    int r = qp_client_request(ns, req, &reply, &len, TRACE_TIMEOUT_MS);
    if (r < 0) {
        fprintf(stderr, "qpulse trace: %s%s\n", qp_client_strerror(r, ns, err, sizeof err),
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
        json_error_t je;
        json_t *h = json_loadb(reply, len, 0, &je);
        json_t *e = h ? json_object_get(h, "error") : NULL;
        if (json_is_string(e))
            fprintf(stderr, "qpulse trace: qpulsed refused: %s\n", json_string_value(e));
        else
            fprintf(stderr, "qpulse trace: unexpected reply from qpulsed: %.200s\n", reply);
        json_decref(h);
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
