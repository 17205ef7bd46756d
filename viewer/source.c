/*
 * source.c — where qptop's snapshots come from: the namespace's qpulsed,
 * over its socket (lib/client.h), or a saved snapshot file (--input).
 * Replies are parsed only by qp_snapshot_parse (lib/snapshot.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "view.h"

#define REQUEST_TIMEOUT_MS 5000

int view_source_fetch(const view_options_t *opts, int cumulative, int hist,
                      qp_snapshot_t **snap, char **raw, char *err, size_t errlen)
{
    char *json = NULL;
    size_t len = 0;
    int r;
    *snap = NULL;
    if (raw)
        *raw = NULL;
    if (opts->input) {
        if ((r = qp_snapshot_read(opts->input, &json, &len)) < 0) {
            snprintf(err, errlen, "%s: %s", opts->input, strerror(-r));
            return r;
        }
    } else {
        char req[64];
        snprintf(req, sizeof req, "SNAPSHOT %s%s", cumulative ? "cumulative" : "window",
                 hist ? " hist" : "");
        if ((r = qp_client_ask(opts->ns, req, &json, &len, REQUEST_TIMEOUT_MS, err, errlen)) < 0)
            return r;
    }
    char perr[256];
    *snap = NULL;
    char *nl = strchr(json, '\n');
    if (opts->input && nl && nl[strspn(nl, " \t\r\n")]) {
        /* a file of several reports (qptop -b -n N --format json): the
         * first, and only it, is this report (and --format json's line) */
        *snap = qp_snapshot_parse(json, (size_t)(nl - json), perr, sizeof perr);
        if (*snap) {
            *nl = 0;
            len = (size_t)(nl - json);
        }
    }
    if (!*snap)   /* one report, possibly over several lines */
        *snap = qp_snapshot_parse(json, len, perr, sizeof perr);
    if (!*snap) {
        snprintf(err, errlen, "%s: unreadable snapshot: %s",
                 opts->input ? opts->input : "qpulsed", perr);
        free(json);
        return -EPROTO;
    }
    if (raw) {
        /* one object per line: drop the reply's trailing newline(s) */
        while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r'))
            json[--len] = 0;
        *raw = json;
    } else {
        free(json);
    }
    return 0;
}
