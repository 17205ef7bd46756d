/*
 * jw.c — growable buffer and JSON writer (see jw.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"

void jw_init(jw_t *w)
{
    memset(w, 0, sizeof *w);
}

void jw_free(jw_t *w)
{
    free(w->buf);
    jw_init(w);
}

char *jw_take(jw_t *w, size_t *len)
{
    if (w->oom || !w->buf) {
        jw_free(w);
        return NULL;
    }
    char *b = w->buf;
    if (len)
        *len = w->len;
    jw_init(w);
    return b;
}

static int reserve(jw_t *w, size_t n)
{
    if (w->oom)
        return -1;
    if (w->len + n + 1 <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = 1;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

void jw_raw(jw_t *w, const char *s, size_t n)
{
    if (reserve(w, n) < 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

void jw_puts(jw_t *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

void jw_printf(jw_t *w, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        jw_raw(w, tmp, (size_t)n);
        return;
    }
    if (reserve(w, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
}

static void sep(jw_t *w)
{
    if (w->need_comma)
        jw_raw(w, ",", 1);
    w->need_comma = 1;
}

void jw_obj_begin(jw_t *w)
{
    sep(w);
    jw_raw(w, "{", 1);
    w->need_comma = 0;
}

void jw_obj_end(jw_t *w)
{
    jw_raw(w, "}", 1);
    w->need_comma = 1;
}

void jw_arr_begin(jw_t *w)
{
    sep(w);
    jw_raw(w, "[", 1);
    w->need_comma = 0;
}

void jw_arr_end(jw_t *w)
{
    jw_raw(w, "]", 1);
    w->need_comma = 1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void escape(jw_t *w, const char *str, int prom)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s > run)
            jw_raw(w, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        if (*s == '"' || *s == '\\') {
            char e[2] = { '\\', (char)*s };
            jw_raw(w, e, 2);
            s++;
        } else if (*s == '\n') {
            jw_raw(w, "\\n", 2);
            s++;
        } else if (*s < 0x20) {
            if (prom)
                jw_raw(w, " ", 1);   /* only \\ \" \n are escapes there */
            else
                jw_printf(w, "\\u%04x", *s);
            s++;
        } else {
            size_t n = utf8_len(s);
            if (n == 0) {
                jw_raw(w, "\xef\xbf\xbd", 3);
                s++;
            } else {
                jw_raw(w, (const char *)s, n);
                s += n;
            }
        }
    }
}

void jw_key(jw_t *w, const char *k)
{
    sep(w);
    jw_raw(w, "\"", 1);
    escape(w, k, 0);
    jw_raw(w, "\":", 2);
    w->need_comma = 0;
}

void jw_str(jw_t *w, const char *s)
{
    sep(w);
    jw_raw(w, "\"", 1);
    escape(w, s, 0);
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

void jw_double(jw_t *w, double v)
{
    sep(w);
    if (!isfinite(v)) {
        jw_raw(w, "null", 4);
        return;
    }
    jw_printf(w, "%.15g", v);
}

void jw_time(jw_t *w, double v)
{
    sep(w);
    if (!isfinite(v)) {
        jw_raw(w, "null", 4);
        return;
    }
    jw_printf(w, "%.6f", v);
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

void jw_prom_label(jw_t *w, const char *s)
{
    escape(w, s, 1);
}

char *jw_utf8_dup(const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t len = strlen((const char *)s);
    char *out = malloc(3 * len + 1), *o = out;   /* each byte: at most U+FFFD */
    if (!out)
        return NULL;
    while (*s) {
        size_t n = *s < 0x80 ? 1 : utf8_len(s);
        if (n == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            s++;
        } else if (n == 1 && *s < 0x20 && *s != '\n') {
            *o++ = ' ';   /* as jw_prom_label() writes it */
            s++;
        } else {
            memcpy(o, s, n);
            o += n;
            s += n;
        }
    }
    *o = 0;
    return out;
}
