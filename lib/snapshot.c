/*
 * snapshot.c — the one reader of qpulsed's snapshot JSON (docs/PROTOCOL.md)
 * into the structs of snapshot.h.
 *
 * The input may come from a daemon, from a file saved by
 * `qptop -b --format json --cumulative`, or from a hand-written test file, so
 * every field is type-checked and every error names the field by its path
 * ("processes[1].ops[0].p99_ns: expected a non-negative number").  Unknown
 * fields are ignored so that a newer daemon can add fields without breaking
 * older readers; the major version ("qpulse": 1) is checked so that an
 * incompatible one is refused rather than misread.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "budget.h"
#include "client.h"
#include "common.h"
#include "snapshot.h"

#define SNAP_VERSION 1

/* Where we are in the document, for error messages, plus the error buffer. */
typedef struct snap_ctx {
    char *err;
    size_t errlen;
    char path[128];                     /* "processes[1].ops[0]" or "" */
    int depth;                          /* of slowest-sample nesting */
    int head_only;                      /* "processes" may be absent */
    /* The numbers of the object get_fields() read last that its parser
     * range-checks itself (F_RAW: a pid, a tid, a priority), 0 when absent;
     * to be used before anything nested is parsed. */
    double raw[2];
} snap_ctx_t;

static void snap_err(snap_ctx_t *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void snap_err(snap_ctx_t *c, const char *field, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return;
    size_t at = 0;
    qp_appendf(c->err, c->errlen, &at, "%s%s%s: ", c->path, *c->path ? "." : "", field);
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(c->err, c->errlen, &at, fmt, ap);
    va_end(ap);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* Field getters.  Each returns 0, or -errno after writing the error.  A
 * missing field is an error only when required; otherwise *out keeps the
 * default the caller stored in it. */

/* The JSON types of a field, as a mask of 1 << json_type. */
#define T_STRING (1u << JSON_STRING)
#define T_NUMBER (1u << JSON_INTEGER | 1u << JSON_REAL)
#define T_BOOL (1u << JSON_TRUE | 1u << JSON_FALSE)
#define T_ARRAY (1u << JSON_ARRAY)

/* Field k of o into *v when it is one of the types; *v = NULL when it is
 * absent or null (an error when required) or of another type (an error).
 * what names the types for the messages ("a string"). */
static int get_field(snap_ctx_t *c, json_t *o, const char *k, int required, unsigned types,
                     const char *what, json_t **v)
{
    *v = json_object_get(o, k);
    if (!*v || json_is_null(*v)) {
        *v = NULL;
        if (!required)
            return 0;
        snap_err(c, k, "missing (expected %s)", what);
        return -EINVAL;
    }
    if (!(types & 1u << json_typeof(*v))) {
        snap_err(c, k, "expected %s, got %s", what, json_type_name(*v));
        *v = NULL;
        return -EINVAL;
    }
    return 0;
}

/* The kinds of value a field holds, and what a reader stores it in. */
typedef enum {
    F_STR,      /* a string, copied: char * */
    F_U64,      /* a count or a time in ns, a non-negative number: uint64_t */
    F_NUM,      /* a finite number: double */
    F_BOOL,     /* true or false: int */
    F_RAW,      /* a number as F_NUM, that its parser range-checks (snap_ctx_t.raw) */
} field_kind_t;

/* Field k of o, a value of the kind, into *out (of the type the kind names).
 * null reads as missing (several fields use null for "none"). */
static int get_value(snap_ctx_t *c, json_t *o, const char *k, field_kind_t kind, int required,
                     void *out)
{
    static const struct {
        unsigned types;
        const char *what;
    } kinds[] = {
        [F_STR] = { T_STRING, "a string" },
        [F_U64] = { T_NUMBER, "a non-negative number" },
        [F_NUM] = { T_NUMBER, "a number" },
        [F_BOOL] = { T_BOOL, "true or false" },
        [F_RAW] = { T_NUMBER, "a number" },
    };
    const char *what = kinds[kind].what;
    json_t *v;
    int r = get_field(c, o, k, required, kinds[kind].types, what, &v);
    if (r < 0 || !v)
        return r;
    double d = json_number_value(v);        /* 0 for a string or a boolean */
    switch (kind) {
    case F_STR:
        *(char **)out = strdup(json_string_value(v));
        if (!*(char **)out) {
            snap_err(c, k, "out of memory");
            return -ENOMEM;
        }
        break;
    case F_U64:
        /* A real is accepted and rounded (a tool that rewrote the file may
         * have turned 12100 into 12100.0). */
        if (!(d >= 0) || d >= 18446744073709551616.0) {
            snap_err(c, k, "expected %s, got %s", what, json_type_name(v));
            return -EINVAL;
        }
        /* Above 2^53 every double is integral, and llround() would overflow
         * its long long above 2^63 (found by fuzz/fuzz_snapshot.c). */
        *(uint64_t *)out = json_is_integer(v) ? (uint64_t)json_integer_value(v)
                           : d < 9007199254740992.0 ? (uint64_t)llround(d) : (uint64_t)d;
        break;
    case F_NUM:
    case F_RAW:
        if (!isfinite(d)) {
            snap_err(c, k, "expected a finite number");
            return -EINVAL;
        }
        *(double *)out = d;
        break;
    case F_BOOL:
        *(int *)out = json_is_true(v);
        break;
    }
    return 0;
}

/* An optional array; *out = NULL when absent or null. */
static int get_array(snap_ctx_t *c, json_t *o, const char *k, int required, json_t **out)
{
    return get_field(c, o, k, required, T_ARRAY, "an array", out);
}

/* Pushes "[i]" of array field k onto the path; returns the old length. */
static size_t path_push(snap_ctx_t *c, const char *k, size_t i)
{
    size_t old = strlen(c->path);
    snprintf(c->path + old, sizeof c->path - old, "%s%s[%zu]", old ? "." : "", k, i);
    return old;
}

static int elem_object(snap_ctx_t *c, json_t *v)
{
    if (json_is_object(v))
        return 0;
    snprintf(c->err, c->errlen, "%s: expected an object, got %s", c->path, json_type_name(v));
    return -EINVAL;
}

/* An object's fields, as a table the readers below walk: the JSON name, the
 * kind of value, whether it is required, and where the value goes.  They are
 * read in table order, so that an object with several bad fields is refused
 * for the first of them, always the same one. */
typedef struct field {
    const char *name;
    field_kind_t kind;
    int required;
    /* offsetof the member of the struct; for F_RAW the index in c->raw[] */
    size_t off;
} field_t;

/* A field whose JSON name is the name of its member of type. */
#define FIELD(type, member, kind, required) { #member, kind, required, offsetof(type, member) }
#define RAW(name, i, required) { name, F_RAW, required, i }
#define NFIELDS(table) (sizeof (table) / sizeof *(table))

/* Reads the n fields of table f from object o into dst and c->raw[]: 0, or
 * the first field's error.  A member of dst whose field is absent and not
 * required keeps what it held (the default). */
static int get_fields(snap_ctx_t *c, json_t *o, const field_t *f, size_t n, void *dst)
{
    int r = 0;
    memset(c->raw, 0, sizeof c->raw);
    for (; n && !r; f++, n--) {
        void *at = f->kind == F_RAW ? (void *)&c->raw[f->off] : (char *)dst + f->off;
        r = get_value(c, o, f->name, f->kind, f->required, at);
    }
    return r;
}

/* d within [lo, hi]: a number range-checked before it is converted to an
 * integer type (converting an out-of-range double is undefined: found by
 * fuzz/fuzz_snapshot.c). */
static double clamp(double d, double lo, double hi)
{
    return d < lo ? lo : d > hi ? hi : d;
}

/* One element of an array field that must be an object: get_fields() of it. */
static int get_object(snap_ctx_t *c, json_t *o, const field_t *f, size_t n, void *dst)
{
    int r = elem_object(c, o);
    return r ? r : get_fields(c, o, f, n, dst);
}

/* Parses one element of an array field into the struct at dst. */
typedef int (*elem_fn)(snap_ctx_t *, json_t *, void *);

static const field_t child_fields[] = {
    FIELD(qp_snap_child_t, set, F_STR, 1),
    FIELD(qp_snap_child_t, op, F_STR, 1),
    FIELD(qp_snap_child_t, count, F_U64, 0),
    FIELD(qp_snap_child_t, total_ns, F_U64, 0),
};

static int parse_child(snap_ctx_t *c, json_t *o, void *dst)
{
    return get_object(c, o, child_fields, NFIELDS(child_fields), dst);
}

static const field_t thread_fields[] = {
    RAW("tid", 0, 1),
    FIELD(qp_snap_thread_t, name, F_STR, 0),
    FIELD(qp_snap_thread_t, count, F_U64, 1),
    FIELD(qp_snap_thread_t, total_ns, F_U64, 0),
    FIELD(qp_snap_thread_t, max_ns, F_U64, 0),
};

static int parse_thread(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_thread_t *t = dst;
    int r = get_object(c, o, thread_fields, NFIELDS(thread_fields), t);
    t->tid = c->raw[0] > 0 && c->raw[0] < 4294967296.0 ? (long)c->raw[0] : 0;
    return r;
}

static const field_t budget_fields[] = {
    FIELD(qp_snap_budget_t, rule, F_STR, 1),
    FIELD(qp_snap_budget_t, stat, F_STR, 1),
    FIELD(qp_snap_budget_t, limit_ns, F_NUM, 1),
    FIELD(qp_snap_budget_t, actual_ns, F_NUM, 0),
    FIELD(qp_snap_budget_t, broken, F_BOOL, 0),
};

static int parse_budget(snap_ctx_t *c, json_t *o, void *dst)
{
    return get_object(c, o, budget_fields, NFIELDS(budget_fields), dst);
}

/* One histogram bucket: [lo_ns, hi_ns, count]. */
static int parse_bucket(snap_ctx_t *c, json_t *a, void *dst)
{
    qp_snap_bucket_t *b = dst;
    uint64_t v[3];
    if (!json_is_array(a) || json_array_size(a) != 3)
        goto bad;
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            goto bad;
        v[i] = (uint64_t)json_integer_value(e);
    }
    b->lo_ns = v[0], b->hi_ns = v[1], b->count = v[2];
    return 0;
bad:
    snprintf(c->err, c->errlen, "%s: expected [lo_ns, hi_ns, count] (three non-negative integers)",
             c->path);
    return -EINVAL;
}

/* Parses array field k of o into *arr (n elements of size sz) with fn. */
static int parse_list(snap_ctx_t *c, json_t *o, const char *k, int required, void **arr,
                      size_t *n, size_t sz, elem_fn fn)
{
    json_t *a;
    int r = get_array(c, o, k, required, &a);
    if (r < 0 || !a)
        return r;
    size_t cnt = json_array_size(a);
    if (!cnt)
        return 0;
    *arr = calloc(cnt, sz);
    if (!*arr) {
        snap_err(c, k, "out of memory");
        return -ENOMEM;
    }
    *n = cnt;       /* zeroed entries: the free functions cope with partial ones */
    for (size_t i = 0; i < cnt; i++) {
        size_t old = path_push(c, k, i);
        r = fn(c, json_array_get(a, i), (char *)*arr + i * sz);
        if (r < 0)
            return r;
        c->path[old] = '\0';
    }
    return 0;
}

static const field_t span_fields[] = {
    FIELD(qp_snap_span_t, set, F_STR, 1),
    FIELD(qp_snap_span_t, op, F_STR, 1),
    FIELD(qp_snap_span_t, offset_ns, F_U64, 1),
    FIELD(qp_snap_span_t, dur_ns, F_U64, 1),
    FIELD(qp_snap_span_t, self_ns, F_U64, 0),
};

static int parse_span(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_span_t *sp = dst;
    int r;
    if (c->depth >= QP_SNAP_SPAN_DEPTH) {
        snap_err(c, "children", "nested deeper than %d", QP_SNAP_SPAN_DEPTH);
        return -EINVAL;
    }
    if ((r = get_object(c, o, span_fields, NFIELDS(span_fields), sp)))
        return r;
    c->depth++;
    r = parse_list(c, o, "children", 0, (void **)&sp->children, &sp->nchildren,
                   sizeof *sp->children, parse_span);
    c->depth--;
    return r;
}

static const field_t slow_fields[] = {
    FIELD(qp_snap_slow_t, time, F_NUM, 1),
    RAW("tid", 0, 0),
    FIELD(qp_snap_slow_t, dur_ns, F_U64, 1),
    FIELD(qp_snap_slow_t, self_ns, F_U64, 0),
    FIELD(qp_snap_slow_t, truncated, F_BOOL, 0),
};

static int parse_slow(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_slow_t *sl = dst;
    int r = get_object(c, o, slow_fields, NFIELDS(slow_fields), sl);
    sl->tid = (long)clamp(c->raw[0], 0, INT_MAX);
    if (r)
        return r;
    c->depth = 0;
    return parse_list(c, o, "children", 0, (void **)&sl->children, &sl->nchildren,
                      sizeof *sl->children, parse_span);
}

static const field_t op_fields[] = {
    FIELD(qp_snap_op_t, set, F_STR, 1),
    FIELD(qp_snap_op_t, op, F_STR, 1),
    FIELD(qp_snap_op_t, group, F_STR, 0),
    FIELD(qp_snap_op_t, description, F_STR, 0),
    RAW("priority", 0, 0),
    FIELD(qp_snap_op_t, count, F_U64, 1),
    FIELD(qp_snap_op_t, rate_per_s, F_NUM, 0),
    FIELD(qp_snap_op_t, mean_ns, F_NUM, 0),
    FIELD(qp_snap_op_t, stddev_ns, F_NUM, 0),
    FIELD(qp_snap_op_t, min_ns, F_U64, 0),
    FIELD(qp_snap_op_t, max_ns, F_U64, 0),
    FIELD(qp_snap_op_t, p50_ns, F_U64, 0),
    FIELD(qp_snap_op_t, p90_ns, F_U64, 0),
    FIELD(qp_snap_op_t, p99_ns, F_U64, 0),
    FIELD(qp_snap_op_t, p999_ns, F_U64, 0),
    FIELD(qp_snap_op_t, total_ns, F_U64, 0),
    FIELD(qp_snap_op_t, self_ns, F_U64, 0),
    FIELD(qp_snap_op_t, p99_prev_ns, F_U64, 0),
    FIELD(qp_snap_op_t, dropped, F_U64, 0),
};

/* The fields after the arrays. */
static const field_t op_tail_fields[] = {
    FIELD(qp_snap_op_t, threads_other, F_U64, 0),
    FIELD(qp_snap_op_t, threads_from, F_NUM, 0),
};

static int parse_op(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_op_t *op = dst;
    int r = get_object(c, o, op_fields, NFIELDS(op_fields), op);
    op->priority = (int)clamp(c->raw[0], INT_MIN, INT_MAX);
    if (r ||
        (r = parse_list(c, o, "children", 0, (void **)&op->children, &op->nchildren,
                        sizeof *op->children, parse_child)) ||
        (r = parse_list(c, o, "hist", 0, (void **)&op->hist, &op->nhist, sizeof *op->hist,
                        parse_bucket)) ||
        (r = parse_list(c, o, "budgets", 0, (void **)&op->budgets, &op->nbudgets,
                        sizeof *op->budgets, parse_budget)) ||
        (r = parse_list(c, o, "slowest", 0, (void **)&op->slowest, &op->nslowest,
                        sizeof *op->slowest, parse_slow)) ||
        (r = parse_list(c, o, "threads", 0, (void **)&op->threads, &op->nthreads,
                        sizeof *op->threads, parse_thread)) ||
        (r = get_fields(c, o, op_tail_fields, NFIELDS(op_tail_fields), op)))
        return r;
    return 0;
}

/* One argument of "cmdline". */
static int parse_arg(snap_ctx_t *c, json_t *v, void *dst)
{
    if (!json_is_string(v)) {
        snprintf(c->err, c->errlen, "%s: expected a string, got %s", c->path,
                 json_type_name(v));
        return -EINVAL;
    }
    *(char **)dst = strdup(json_string_value(v));
    if (!*(char **)dst) {
        snprintf(c->err, c->errlen, "%s: out of memory", c->path);
        return -ENOMEM;
    }
    return 0;
}

/* c->raw[]: pid, threads */
static const field_t proc_fields[] = {
    RAW("pid", 0, 1),
    FIELD(qp_snap_proc_t, name, F_STR, 1),
    FIELD(qp_snap_proc_t, alive, F_BOOL, 0),
    FIELD(qp_snap_proc_t, dropped, F_U64, 0),
    FIELD(qp_snap_proc_t, lost, F_U64, 0),
    FIELD(qp_snap_proc_t, cpu_pct, F_NUM, 0),
    FIELD(qp_snap_proc_t, rss_bytes, F_U64, 0),
    RAW("threads", 1, 0),
    FIELD(qp_snap_proc_t, started_at, F_NUM, 0),
    FIELD(qp_snap_proc_t, exited_at, F_NUM, 0),
};

static int parse_proc(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_proc_t *p = dst;
    int r;
    p->cpu_pct = -1;
    if ((r = get_object(c, o, proc_fields, NFIELDS(proc_fields), p)))
        return r;
    double pid = c->raw[0], threads = c->raw[1];
    if (pid < 0 || pid > INT_MAX || pid != floor(pid)) {
        snap_err(c, "pid", "expected a non-negative integer");
        return -EINVAL;
    }
    p->pid = (long)pid;
    p->threads = (uint32_t)clamp(threads, 0, UINT32_MAX);
    if ((r = parse_list(c, o, "cmdline", 0, (void **)&p->cmdline, &p->ncmdline,
                        sizeof *p->cmdline, parse_arg)))
        return r;
    return parse_list(c, o, "ops", 1, (void **)&p->ops, &p->nops, sizeof *p->ops, parse_op);
}

static const field_t skip_fields[] = {
    RAW("pid", 0, 0),
    FIELD(qp_snap_skip_t, name, F_STR, 0),
    FIELD(qp_snap_skip_t, segment, F_STR, 0),
    FIELD(qp_snap_skip_t, reason, F_STR, 0),
};

static int parse_skip(snap_ctx_t *c, json_t *o, void *dst)
{
    qp_snap_skip_t *k = dst;
    int r = get_object(c, o, skip_fields, NFIELDS(skip_fields), k);
    k->pid = c->raw[0] > 0 && c->raw[0] <= INT_MAX ? (long)c->raw[0] : 0;
    return r;
}

/* After "qpulse" and the check of "window_s". */
static const field_t top_fields[] = {
    FIELD(qp_snapshot_t, time, F_NUM, 1),
    FIELD(qp_snapshot_t, window_s, F_NUM, 0),
    FIELD(qp_snapshot_t, ns, F_STR, 0),
    RAW("daemon_pid", 0, 0),
    FIELD(qp_snapshot_t, samples_per_s, F_NUM, 0),
    FIELD(qp_snapshot_t, dropped_total, F_U64, 0),
};

static int parse_top(snap_ctx_t *c, json_t *o, qp_snapshot_t *s)
{
    double version = 0;
    int r;
    if (!json_is_object(o)) {
        snprintf(c->err, c->errlen, "snapshot: expected a JSON object, got %s",
                 json_type_name(o));
        return -EINVAL;
    }
    if ((r = get_value(c, o, "qpulse", F_NUM, 1, &version)))
        return r;
    if (version != SNAP_VERSION) {
        snap_err(c, "qpulse", "unsupported snapshot version %g (this reader knows %d)",
                 version, SNAP_VERSION);
        return -EINVAL;
    }
    s->version = (int)version;
    json_t *w = json_object_get(o, "window_s");
    if (w && !json_is_null(w) && !json_is_number(w)) {
        snap_err(c, "window_s", "expected a number or null, got %s", json_type_name(w));
        return -EINVAL;
    }
    s->cumulative = !w || json_is_null(w);
    if ((r = get_fields(c, o, top_fields, NFIELDS(top_fields), s)))
        return r;
    double dpid = c->raw[0];
    s->daemon_pid = dpid > 0 && dpid <= INT_MAX ? (long)dpid : 0;
    if ((r = parse_list(c, o, "skipped", 0, (void **)&s->skipped, &s->nskipped,
                        sizeof *s->skipped, parse_skip)))
        return r;
    return parse_list(c, o, "processes", !c->head_only, (void **)&s->procs, &s->nprocs, sizeof *s->procs,
                      parse_proc);
}

static qp_snapshot_t *snapshot_from_json(json_t *root, int head_only, char *err,
                                         size_t errlen)
{
    snap_ctx_t c = { .err = err, .errlen = errlen, .head_only = head_only };
    qp_snapshot_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_top(&c, root, s) < 0) {
        qp_snapshot_free(s);
        return NULL;
    }
    return s;
}

static qp_snapshot_t *parse_text(const char *json, size_t len, int head_only, char *err,
                                 size_t errlen)
{
    char dummy[1];
    if (!err || !errlen)
        err = dummy, errlen = sizeof dummy;
    json_error_t je;
    /* JSON_DISABLE_EOF_CHECK: the first value is the snapshot, whatever
     * follows it (the next line of a `qptop -b -n 3` capture) is not ours. */
    json_t *root = json_loadb(json, len, JSON_DISABLE_EOF_CHECK, &je);
    if (!root) {
        snprintf(err, errlen, "not valid JSON (line %d, column %d): %s", je.line, je.column,
                 je.text);
        return NULL;
    }
    qp_snapshot_t *s = snapshot_from_json(root, head_only, err, errlen);
    json_decref(root);
    return s;
}

qp_snapshot_t *qp_snapshot_parse(const char *json, size_t len, char *err, size_t errlen)
{
    return parse_text(json, len, 0, err, errlen);
}

qp_snapshot_t *qp_snapshot_parse_head(const char *json, size_t len, char *err, size_t errlen)
{
    return parse_text(json, len, 1, err, errlen);
}

int qp_snapshot_read(const char *path, char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    int r = buf ? 0 : -ENOMEM;
    while (buf) {
        if (len + 1 >= cap) {       /* room for the NUL */
            if (cap >= QP_REPLY_MAX) {
                r = -EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                r = -ENOMEM;        /* not a silently truncated file */
                break;
            }
            buf = nb, cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                r = -EIO;
            break;
        }
    }
    fclose(f);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[len] = '\0';
    *out = buf, *outlen = len;
    return 0;
}

qp_snapshot_t *qp_snapshot_load(const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    char dummy[1];
    if (!err || !errlen)
        err = dummy, errlen = sizeof dummy;
    int r = qp_snapshot_read(path, &buf, &len);
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        return NULL;
    }
    char sub[480];
    qp_snapshot_t *s = qp_snapshot_parse(buf, len, sub, sizeof sub);
    free(buf);
    if (!s)
        snprintf(err, errlen, "%s: %s", path, sub);
    return s;
}

static void free_spans(qp_snap_span_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].set), free(v[i].op);
        free_spans(v[i].children, v[i].nchildren);
    }
    free(v);
}

static void free_op(qp_snap_op_t *op)
{
    for (size_t i = 0; i < op->nslowest; i++)
        free_spans(op->slowest[i].children, op->slowest[i].nchildren);
    free(op->slowest);
    for (size_t i = 0; i < op->nthreads; i++)
        free(op->threads[i].name);
    free(op->threads);
    free(op->set), free(op->op), free(op->group), free(op->description);
    for (size_t i = 0; i < op->nchildren; i++)
        free(op->children[i].set), free(op->children[i].op);
    free(op->children);
    free(op->hist);
    for (size_t i = 0; i < op->nbudgets; i++)
        free(op->budgets[i].rule), free(op->budgets[i].stat);
    free(op->budgets);
}

void qp_snapshot_free(qp_snapshot_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nprocs; i++) {
        qp_snap_proc_t *p = &s->procs[i];
        for (size_t j = 0; j < p->nops; j++)
            free_op(&p->ops[j]);
        free(p->ops);
        free(p->name);
        for (size_t j = 0; j < p->ncmdline; j++)
            free(p->cmdline[j]);
        free(p->cmdline);
    }
    free(s->procs);
    for (size_t i = 0; i < s->nskipped; i++) {
        free(s->skipped[i].name);
        free(s->skipped[i].segment);
        free(s->skipped[i].reason);
    }
    free(s->skipped);
    free(s->ns);
    free(s);
}

double qp_snap_op_stat(const qp_snap_op_t *op, int stat)
{
    switch (stat) {
    case QP_STAT_MEAN: return op->mean_ns;
    case QP_STAT_P50: return (double)op->p50_ns;
    case QP_STAT_P90: return (double)op->p90_ns;
    case QP_STAT_P99: return (double)op->p99_ns;
    case QP_STAT_P999: return (double)op->p999_ns;
    case QP_STAT_MAX: return (double)op->max_ns;
    }
    return -1;
}
