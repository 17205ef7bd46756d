/*
 * cmd_reset.c — `qpulse reset [--ns NAME]`: asks qpulsed to clear its
 * statistics (the RESET request of docs/PROTOCOL.md), so that a following
 * `qpulse check` judges only what ran after it: reset, load test, check.
 *
 * Exit 0 when the daemon confirmed, 2 when it could not be asked or refused
 * (the same "cannot do it" status as `qpulse check`).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "common.h"
#include "tools.h"

#define RESET_TIMEOUT_MS 10000

static void reset_usage(FILE *f)
{
    fprintf(f,
            "usage: qpulse reset [--ns NAME] [-q]\n"
            "\n"
            "Clears the statistics of the running qpulsed (every process, every\n"
            "operation), e.g. before a load test that `qpulse check` then judges.\n"
            "\n"
            "  --ns NAME    namespace (default: $QPULSE_NS or \"default\")\n"
            "  -q, --quiet  print nothing on success\n"
            "  -h, --help   this text\n");
}

/* 0 when the reply is {"ok": true}; else the daemon's error into err. */
static int reset_reply(const char *reply, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(reply, len, JSON_DISABLE_EOF_CHECK, &je);
    int r = -1;
    if (j && json_is_true(json_object_get(j, "ok")))
        r = 0;
    else if (j && json_is_string(json_object_get(j, "error")))
        snprintf(err, errlen, "qpulsed refused: %s",
                 json_string_value(json_object_get(j, "error")));
    else
        snprintf(err, errlen, "unexpected reply from qpulsed: %.200s", reply);
    json_decref(j);
    return r;
}

int qp_cmd_reset(int argc, char **argv)
{
    static const struct option opts[] = {
        { "ns", required_argument, NULL, 'n' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *ns = NULL;
    int quiet = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ns = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': reset_usage(stdout); return 0;
        default:
            fprintf(stderr, "qpulse reset: %s '%s'\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            reset_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qpulse reset: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!ns && !(ns = qp_ns_from_env())) {
        fprintf(stderr, "qpulse reset: QPULSE_NS is not a valid namespace\n");
        return 2;
    }
    if (!qp_ns_valid(ns)) {
        fprintf(stderr, "qpulse reset: --ns: expected 1 to 48 of A-Z a-z 0-9 _ -, got '%s'\n",
                ns);
        return 2;
    }
    char *reply = NULL, err[512];
    size_t len = 0;
    int r = qp_client_request(ns, "RESET", &reply, &len, RESET_TIMEOUT_MS);
    if (r < 0) {
        fprintf(stderr, "qpulse reset: %s\n", qp_client_strerror(r, ns, err, sizeof err));
        return 2;
    }
    r = reset_reply(reply, len, err, sizeof err);
    free(reply);
    if (r < 0) {
        fprintf(stderr, "qpulse reset: %s\n", err);
        return 2;
    }
    if (!quiet)
        printf("qpulse reset: statistics of namespace %s cleared\n", ns);
    return 0;
}
