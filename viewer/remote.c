/*
 * remote.c — qptop's table computed by the daemon: the VIEW request (the
 * rows on the screen, sorted, filtered, grouped and paged by qpulsed with
 * qptop's own model) and the filtered SNAPSHOT of one row's detail view.
 * See docs/PROTOCOL.md.
 *
 * A refresh then costs what the screen shows: a few dozen rows, whatever
 * the number of processes; the whole snapshot (source.c) is fetched only
 * for `qptop -b`, --input, QPTOP_SNAPSHOT=1 or a daemon without VIEW.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "common.h"
#include "view.h"

#define REQUEST_TIMEOUT_MS 5000

int view_source_whole(const view_options_t *opts)
{
    const char *e = getenv("QPTOP_SNAPSHOT");
    return opts->input != NULL || (e && *e && strcmp(e, "0") != 0);
}

/* Appends to the request in req (len bytes), cut short when full. */
__attribute__((format(printf, 3, 4))) static void add_fmt(char *req, size_t len,
                                                          const char *fmt, ...)
{
    size_t o = strlen(req);
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(req, len, &o, fmt, ap);
    va_end(ap);
}

/* Appends " name=value" with value %XX-encoded where it would end or split
 * the request line. */
static void add_word(char *req, size_t len, const char *name, const char *v)
{
    size_t o = strlen(req);
    int n = snprintf(req + o, len - o, " %s=", name);
    if (n < 0 || (size_t)n >= len - o)
        return;
    o += (size_t)n;
    for (const unsigned char *s = (const unsigned char *)v; *s && o + 4 < len; s++) {
        if (*s <= 0x20 || *s == '%' || *s == 0x7f)
            o += (size_t)snprintf(req + o, len - o, "%%%02X", *s);
        else
            req[o++] = (char)*s;
    }
    req[o] = 0;
}

/* Sends req; the reply in *json.  A {"error": ...} reply is an error. */
static int ask(const view_options_t *opts, const char *req, char **json, size_t *len, char *err,
               size_t errlen)
{
    int r = qp_client_ask(opts->ns, req, json, len, REQUEST_TIMEOUT_MS, err, errlen);
    if (r == -EPROTO && strstr(err, "unknown request"))
        r = -ENOTSUP;   /* a daemon older than VIEW */
    return r;
}

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static long jlong(json_t *o, const char *k, long dflt)
{
    json_t *v = json_object_get(o, k);
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    return d >= -1e15 && d <= 1e15 ? (long)d : dflt;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int row_parse(json_t *o, view_row_t *r)
{
    static const char *const kinds[] = { "proc", "group", "op", "child" };
    if (!json_is_object(o))
        return -EPROTO;
    memset(r, 0, sizeof *r);
    const char *k = jstr(o, "kind");
    int kind = -1;
    for (int i = 0; i < 4 && k; i++)
        if (strcmp(k, kinds[i]) == 0)
            kind = i;
    if (kind < 0)
        return -EPROTO;
    r->kind = (view_row_kind_t)kind;
    long depth = jlong(o, "depth", 0);
    r->depth = depth < 0 ? 0 : depth > 32 ? 32 : (int)depth;
    r->flags = (unsigned)jlong(o, "flags", 0);
    r->pid = jlong(o, "pid", 0);
    r->nprocs = (int)jlong(o, "nprocs", 1);
    r->name = jstr(o, "name");
    r->set = jstr(o, "set");
    r->op = jstr(o, "op");
    r->group = jstr(o, "group");
    r->description = jstr(o, "description");
    r->priority = (int)jlong(o, "priority", 0);
    const char *s = jstr(o, "label");
    snprintf(r->label, sizeof r->label, "%s", s ? s : "");
    s = jstr(o, "key");
    snprintf(r->key, sizeof r->key, "%s", s ? s : "");
    /* The numbers, each under the key of its field's name (NaN: absent). */
#define NUM(field) { #field, offsetof(view_row_t, field) }
    static const struct {
        const char *key;
        size_t off;
    } nums[] = {
        NUM(share), NUM(count), NUM(rate), NUM(rate_now), NUM(mean), NUM(p50), NUM(p90),
        NUM(p99), NUM(p999), NUM(min), NUM(max), NUM(self), NUM(total), NUM(stddev),
        NUM(cpu), NUM(rss), NUM(time_share),
    };
#undef NUM
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        *(double *)((char *)r + nums[i].off) = jnum(o, nums[i].key);
    if (isnan(r->share))
        r->share = 0;
    if (isnan(r->rate_now))
        r->rate_now = 0;
    double d = jnum(o, "dropped");
    r->dropped = d >= 0 && d < 1.8e19 ? (uint64_t)d : 0;
    return 0;
}

void view_page_free(view_page_t *pg)
{
    qp_snapshot_free(pg->head);
    free(pg->rows.v);
    if (pg->json)
        json_decref(pg->json);
    memset(pg, 0, sizeof *pg);
}

/* The reply's "view" object into pg. */
static int page_parse(json_t *v, view_page_t *pg, long want)
{
    json_t *rows = json_object_get(v, "rows");
    if (!json_is_object(v) || !json_is_array(rows) || (long)json_array_size(rows) > want)
        return -EPROTO;
    pg->total = jlong(v, "total_rows", -1);
    pg->top = jlong(v, "top", -1);
    pg->cursor = jlong(v, "cursor", -1);
    long np = jlong(v, "processes", -1);
    size_t n = json_array_size(rows);
    if (pg->total < 0 || pg->top < 0 || pg->cursor < 0 || np < 0 ||
        pg->top + (long)n > pg->total)
        return -EPROTO;
    pg->nprocs = (size_t)np;
    pg->rows.alive = (int)jlong(v, "alive", 0);
    pg->rows.exited = (int)jlong(v, "exited", 0);
    pg->rows.hidden = (int)jlong(v, "hidden", 0);
    pg->rows.nops = (size_t)jlong(v, "ops", 0);
    pg->rows.time_total = jnum(v, "time_total");
    json_t *need = json_object_get(v, "need");
    for (int c = COL_PID; c <= COL_OP; c++) {
        long w = jlong(need, view_columns[c].name, 0);
        pg->need[c] = w < 0 ? 0 : w > 1000 ? 1000 : (int)w;
    }
    pg->rows.v = calloc(n ? n : 1, sizeof *pg->rows.v);
    if (!pg->rows.v)
        return -ENOMEM;
    pg->rows.cap = n;
    for (size_t i = 0; i < n; i++) {
        int r = row_parse(json_array_get(rows, i), &pg->rows.v[i]);
        if (r < 0)
            return r;
        pg->rows.n++;
    }
    return 0;
}

int view_source_page(const view_options_t *opts, const view_settings_t *s, long top,
                     long cursor, long rows, const char *key, view_page_t *pg, char **raw,
                     char *err, size_t errlen)
{
    char req[1024];
    memset(pg, 0, sizeof *pg);
    *raw = NULL;
    if (rows < 1)
        rows = 1;
    snprintf(req, sizeof req, "VIEW %s sort=%s%s group=%s%s%s%s top=%ld cursor=%ld rows=%ld",
             s->cumulative ? "cumulative" : "window", view_columns[s->sort].name,
             s->sort_invert ? " invert" : "", view_group_name(s->group), s->merge ? " merge" : "",
             s->tree ? " tree" : "", s->show_exited ? " exited" : "", top, cursor, rows);
    if (key && *key)
        add_fmt(req, sizeof req, " key=%016llx", (unsigned long long)view_key_hash(key));
    if (s->filter[0])
        add_word(req, sizeof req, "filter", s->filter);
    char *json = NULL;
    size_t len = 0;
    int r = ask(opts, req, &json, &len, err, errlen);
    if (r < 0)
        return r;
    char perr[256];
    pg->head = qp_snapshot_parse_head(json, len, perr, sizeof perr);
    json_error_t je;
    json_t *root = pg->head ? json_loadb(json, len, JSON_DISABLE_EOF_CHECK, &je) : NULL;
    pg->json = root;
    if (!pg->head)
        r = -EPROTO;
    else if (!root)
        r = -EPROTO, snprintf(perr, sizeof perr, "%s", je.text);
    else if ((r = page_parse(json_object_get(root, "view"), pg, rows)) < 0)
        snprintf(perr, sizeof perr, "view: not the rows asked for");
    if (r < 0) {
        snprintf(err, errlen, "qpulsed: unreadable VIEW reply: %s", perr);
        view_page_free(pg);
        free(json);
        return r;
    }
    *raw = json;
    return 0;
}

int view_source_detail(const view_options_t *opts, const view_settings_t *s, long pid,
                       const char *name, int nprocs, const char *set, const char *op,
                       qp_snapshot_t **snap, char *err, size_t errlen)
{
    char req[1024], perr[256];
    char *json = NULL;
    size_t len = 0;
    *snap = NULL;
    snprintf(req, sizeof req, "SNAPSHOT %s hist", s->cumulative ? "cumulative" : "window");
    if (s->merge && nprocs > 1)
        add_word(req, sizeof req, "name", name ? name : "");
    else
        add_fmt(req, sizeof req, " pid=%ld", pid);
    add_word(req, sizeof req, "set", set);
    add_word(req, sizeof req, "op", op);
    if (!(s->merge && nprocs > 1))   /* one process's op: its samples per thread too */
        add_fmt(req, sizeof req, " threads");
    int r = ask(opts, req, &json, &len, err, errlen);
    if (r < 0)
        return r;
    *snap = qp_snapshot_parse(json, len, perr, sizeof perr);
    free(json);
    if (!*snap) {
        snprintf(err, errlen, "qpulsed: unreadable snapshot: %s", perr);
        return -EPROTO;
    }
    return 0;
}
