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

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    if (!buf)
        return -ENOMEM;
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

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
        if ((r = read_file(opts->input, &json, &len)) < 0) {
            snprintf(err, errlen, "%s: %s", opts->input, strerror(-r));
            return r;
        }
    } else {
        char req[64];
        snprintf(req, sizeof req, "SNAPSHOT %s%s", cumulative ? "cumulative" : "window",
                 hist ? " hist" : "");
        if ((r = qp_client_request(opts->ns, req, &json, &len, REQUEST_TIMEOUT_MS)) < 0) {
            qp_client_strerror(r, opts->ns, err, errlen);
            return r;
        }
    }
    /* the daemon answers {"error": "..."} to what it cannot serve */
    if (strncmp(json, "{\"error\"", 8) == 0) {
        char *nl = strchr(json, '\n');
        if (nl)
            *nl = 0;
        snprintf(err, errlen, "qpulsed: %s", json);
        free(json);
        return -EPROTO;
    }
    char perr[256];
    *snap = qp_snapshot_parse(json, len, perr, sizeof perr);
    char *nl = strchr(json, '\n');
    if (!*snap && opts->input && nl && nl[1]) {
        /* a file of several reports (qptop -b -n N --format json): the first */
        *nl = 0;
        len = (size_t)(nl - json);
        *snap = qp_snapshot_parse(json, len, perr, sizeof perr);
    }
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
