/*
 * jw_buf.c — the growable text buffer under the JSON writer and the
 * Prometheus pages (see jw.h): appends, formatted appends, hand-over.
 */
#include "config.h"

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


