/*
 * jw_esc.c — text escaping for the writer (see jw.h): strings inside JSON
 * (RFC 8259) and Prometheus label values, both with bytes that are not
 * valid UTF-8 replaced by U+FFFD.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jw.h"

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


void jw_escape_json(jw_t *w, const char *s)
{
    escape(w, s, 0);
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
