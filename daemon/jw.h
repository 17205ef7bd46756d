/*
 * jw.h — a small growable text buffer (jw_buf.c) with a JSON writer on top
 * (jw.c), for the snapshot replies and the Prometheus page, and the text
 * escaping both use (jw_esc.c).  Escapes strings per RFC 8259
 * (and bytes that are not valid UTF-8 become U+FFFD), prints doubles with
 * enough digits and never prints NaN or infinity (null instead).
 *
 * Allocation failure is sticky: the buffer remembers it (jw.oom) and every
 * later write is a no-op, so callers check once at the end.
 */
#ifndef QPULSED_JW_H
#define QPULSED_JW_H

#include <stddef.h>
#include <stdint.h>

typedef struct jw {
    char *buf;
    size_t len, cap;
    int oom;
    int need_comma;   /* inside an object/array after an element */
} jw_t;

/* jw_buf.c: the buffer. */
void jw_init(jw_t *w);
void jw_free(jw_t *w);
/* Hands the buffer to the caller (NUL-terminated); the writer is reset. */
char *jw_take(jw_t *w, size_t *len);

void jw_raw(jw_t *w, const char *s, size_t n);
void jw_puts(jw_t *w, const char *s);
void jw_printf(jw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* jw_esc.c: s escaped for inside a JSON string (no quotes around it). */
void jw_escape_json(jw_t *w, const char *s);

/* jw.c: JSON structure: the writer inserts the commas. */
void jw_obj_begin(jw_t *w);
void jw_obj_end(jw_t *w);
void jw_arr_begin(jw_t *w);
void jw_arr_end(jw_t *w);
void jw_key(jw_t *w, const char *k);
void jw_str(jw_t *w, const char *s);
/* At most INT64_MAX (what JSON readers take as an integer). */
void jw_u64(jw_t *w, uint64_t v);
void jw_i64(jw_t *w, int64_t v);
/* v / 1000 with exactly three decimals (nanoseconds as microseconds). */
void jw_milli(jw_t *w, uint64_t v);
void jw_double(jw_t *w, double v);
/* Seconds with six decimals (microseconds), for times. */
void jw_time(jw_t *w, double v);
void jw_bool(jw_t *w, int v);
void jw_null(jw_t *w);

/* A member of an object, "k": value, in one call: jw_kv_str(w, k, s) is
 * jw_key(w, k) then jw_str(w, s), and so on for each value writer. */
#define JW_KV(kind, type)                                                      \
    static inline void jw_kv_##kind(jw_t *w, const char *k, type v)           \
    {                                                                          \
        jw_key(w, k);                                                          \
        jw_##kind(w, v);                                                       \
    }
JW_KV(str, const char *)
JW_KV(u64, uint64_t)
JW_KV(i64, int64_t)
JW_KV(milli, uint64_t)
JW_KV(double, double)
JW_KV(time, double)
JW_KV(bool, int)
#undef JW_KV

/* jw_esc.c: writes s escaped for a Prometheus label value (\\, \", \n). */
void jw_prom_label(jw_t *w, const char *s);
/* A malloc'd copy of s as the label value jw_prom_label() writes, before
 * escaping: bytes that are not valid UTF-8 become U+FFFD, control
 * characters other than newline a space.  NULL when out of memory. */
char *jw_utf8_dup(const char *s);

#endif /* QPULSED_JW_H */
