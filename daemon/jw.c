/*
 * jw.c — the JSON writer on top of the buffer (see jw.h): objects, arrays,
 * keys and values, with the commas between elements.
 */
#include "config.h"

#include <math.h>

#include "jw.h"

static void sep(jw_t *w)
{
    if (w->need_comma)
        jw_raw(w, ",", 1);
    w->need_comma = 1;
}

/* "{" or "[" as a value; the first element inside takes no comma. */
static void open_(jw_t *w, const char *bracket)
{
    sep(w);
    jw_raw(w, bracket, 1);
    w->need_comma = 0;
}

static void close_(jw_t *w, const char *bracket)
{
    jw_raw(w, bracket, 1);
    w->need_comma = 1;
}

void jw_obj_begin(jw_t *w)
{
    open_(w, "{");
}

void jw_obj_end(jw_t *w)
{
    close_(w, "}");
}

void jw_arr_begin(jw_t *w)
{
    open_(w, "[");
}

void jw_arr_end(jw_t *w)
{
    close_(w, "]");
}

void jw_key(jw_t *w, const char *k)
{
    sep(w);
    jw_raw(w, "\"", 1);
    jw_escape_json(w, k);
    jw_raw(w, "\":", 2);
    w->need_comma = 0;
}

void jw_str(jw_t *w, const char *s)
{
    sep(w);
    jw_raw(w, "\"", 1);
    jw_escape_json(w, s);
    jw_raw(w, "\"", 1);
}

void jw_u64(jw_t *w, uint64_t v)
{
    /* Readers of the snapshot (jansson: "too big integer") refuse integers
     * above INT64_MAX, so one garbage duration would make every snapshot
     * unreadable: such values are written as INT64_MAX. */
    if (v > INT64_MAX)
        v = INT64_MAX;
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sep(w);
    jw_raw(w, p, (size_t)(tmp + sizeof tmp - p));
}

void jw_milli(jw_t *w, uint64_t v)
{
    if (v > INT64_MAX)
        v = INT64_MAX;
    sep(w);
    jw_printf(w, "%llu.%03llu", (unsigned long long)(v / 1000), (unsigned long long)(v % 1000));
}

void jw_i64(jw_t *w, int64_t v)
{
    sep(w);
    jw_printf(w, "%lld", (long long)v);
}

/* v as a number (15 significant digits) or, with as_time, as seconds with
 * six decimals; null when it is NaN or infinite. */
static void number_or_null(jw_t *w, double v, int as_time)
{
    sep(w);
    if (!isfinite(v)) {
        jw_raw(w, "null", 4);
        return;
    }
    jw_printf(w, as_time ? "%.6f" : "%.15g", v);
}

void jw_double(jw_t *w, double v)
{
    number_or_null(w, v, 0);
}

void jw_time(jw_t *w, double v)
{
    number_or_null(w, v, 1);
}

void jw_bool(jw_t *w, int v)
{
    sep(w);
    jw_puts(w, v ? "true" : "false");
}

void jw_null(jw_t *w)
{
    sep(w);
    jw_raw(w, "null", 4);
}
