/*
 * groups.c — the hook groups of libqpulse-preload and their parser, shared
 * by the preload library (QPULSE_HOOKS) and `qpulse run --hooks`.
 *
 * No allocation and no stdio: the preload library parses in its
 * constructor, where malloc is already hooked.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "preload.h"

static const struct {
    const char *name;
    unsigned mask;
} groups[] = {
    { "mem", QP_HOOK_MEM },
    { "lock", QP_HOOK_LOCK },
    { "io", QP_HOOK_IO },
    { "net", QP_HOOK_NET },
    { "fs", QP_HOOK_FS },
    { "all", QP_HOOK_ALL },
    { "none", 0 },
    { "default", QP_HOOK_DEFAULT },
};

static int group_lookup(const char *s, size_t n, unsigned *mask)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (strlen(groups[i].name) == n && !strncmp(groups[i].name, s, n)) {
            *mask = groups[i].mask;
            return 0;
        }
    }
    return -EINVAL;
}

int qp_hooks_parse(const char *s, unsigned *mask, const char **bad)
{
    if (!s || !*s) {
        *mask = QP_HOOK_DEFAULT;
        return 0;
    }
    unsigned m = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        /* Empty items ("io,,fs", a trailing comma) are tolerated. */
        if (n > 0) {
            unsigned g;
            if (group_lookup(s, n, &g) < 0) {
                if (bad)
                    *bad = s;
                return -EINVAL;
            }
            m |= g;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    *mask = m;
    return 0;
}

const char *qp_hooks_format(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = 0;
    for (size_t i = 0; i < 5; i++) {
        if (!(mask & groups[i].mask))
            continue;
        size_t n = strlen(groups[i].name);
        if (used + n + 2 > len)
            break;
        if (used)
            buf[used++] = ',';
        memcpy(buf + used, groups[i].name, n + 1);
        used += n;
    }
    if (!used && len >= 5)
        memcpy(buf, "none", 5);
    return buf;
}
