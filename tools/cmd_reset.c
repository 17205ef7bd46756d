/*
 * cmd_reset.c — `qpulse reset [--ns NAME]`: asks qpulsed to clear its
 * statistics (the RESET request of docs/PROTOCOL.md), so that a following
 * `qpulse check` judges only what ran after it: reset, load test, check.
 *
 * Exit 0 when the daemon confirmed, 2 when it could not be asked or refused
 * (the same "cannot do it" status as `qpulse check`).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "common.h"
#include "opts.h"
#include "tools.h"

#define RESET_TIMEOUT_MS 10000

enum { OPT_NS = QP_OPT_LONG };

static const struct qp_opt reset_opts[] = {
    QP_OPT_NS(OPT_NS),
    { "quiet", 'q', NULL, NULL, "print nothing on success" },
    QP_OPT_HELP,
};

const struct qp_prog qp_reset_prog = {
    .name = "qpulse reset",
    .about = "Clears the statistics of the running qpulsed (every process, every\n"
             "operation), e.g. before a load test that `qpulse check` then judges.",
    .opts = QP_PROG_OPTS(reset_opts),
};

/* 0 when the reply is {"ok": true}; else what it was into err. */
static int reset_reply(const char *reply, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(reply, len, JSON_DISABLE_EOF_CHECK, &je);
    int r = j && json_is_true(json_object_get(j, "ok")) ? 0 : -1;
    if (r < 0)
        snprintf(err, errlen, "unexpected reply from qpulsed: %.200s", reply);
    json_decref(j);
    return r;
}

int qp_cmd_reset(int argc, char **argv)
{
    const char *ns = NULL;
    int quiet = 0, c;
    while ((c = qp_opts_next(&qp_reset_prog, argc, argv)) != -1) {
        switch (c) {
        case OPT_NS: ns = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': qp_opts_help(&qp_reset_prog, stdout); return 0;
        default: qp_opts_try(&qp_reset_prog); return 2;
        }
    }
    if (qp_opts_no_args(&qp_reset_prog, argc, argv) < 0 || qp_opts_ns(&qp_reset_prog, &ns) < 0)
        return 2;
    char *reply = NULL, err[512];
    size_t len = 0;
    int r = qp_client_ask(ns, "RESET", &reply, &len, RESET_TIMEOUT_MS, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "qpulse reset: %s\n", err);
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
