/*
 * cmd_run.c — `qpulse run [--hooks GROUPS] [--ns NAME] -- CMD [ARGS...]`:
 * runs an unmodified program with libqpulse-preload.so (see qpulse-run(1)).
 *
 * It only prepares the environment and execs: the program replaces us, so
 * its exit status (or its death by a signal) is what our caller sees, and
 * there is no extra process in the way of signals or job control.
 *
 * Where the preload library is found, first match wins:
 *   1. $QPULSE_PRELOAD (a path);
 *   2. the build tree, when this qpulse runs from one: <top>/preload/.libs/
 *      libqpulse-preload.so, <top> found from /proc/self/exe (tools/qpulse
 *      or tools/.libs/qpulse);
 *   3. the install directory compiled in (QP_PRELOAD_INSTALLED).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"
#include "opts.h"
#include "preload.h"
#include "tools.h"

#ifndef QP_PRELOAD_INSTALLED
#define QP_PRELOAD_INSTALLED "/usr/local/lib/libqpulse-preload.so"
#endif

enum { OPT_HOOKS = QP_OPT_LONG, OPT_NS };

static const struct qp_opt run_opts[] = {
    { "hooks", OPT_HOOKS, "GROUPS", "lock,io,net,fs",
      "comma list of mem,lock,io,net,fs (or all, none, default)" },
    QP_OPT_NS(OPT_NS),
    QP_OPT_HELP,
};

const struct qp_prog qp_run_prog = {
    .name = "qpulse run",
    .operands = "[--] CMD [ARGS...]",
    .about = "Runs CMD with libqpulse-preload.so, which times its libc calls as the\n"
             "operation set `libc`; view them with qptop (qpulsed must be running).",
    .opts = QP_PROG_OPTS(run_opts),
    .stop_at_arg = 1,   /* CMD's own options are CMD's */
};

/* "<dir of the real executable>" into buf; -errno. */
static int self_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n < 0)
        return -errno;
    if ((size_t)n >= len - 1)
        return -ENAMETOOLONG;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -ENOENT;
    *slash = 0;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The build tree's top directory when this binary runs from one; -ENOENT. */
static int build_top(char *buf, size_t len)
{
    char dir[PATH_MAX];
    int r = self_dir(dir, sizeof dir);
    if (r < 0)
        return r;
    if (ends_with(dir, "/tools/.libs"))
        dir[strlen(dir) - strlen("/tools/.libs")] = 0;
    else if (ends_with(dir, "/tools"))
        dir[strlen(dir) - strlen("/tools")] = 0;
    else
        return -ENOENT;
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/preload/.libs/libqpulse-preload.so", dir);
    if (access(probe, R_OK) != 0)
        return -ENOENT;
    if ((size_t)snprintf(buf, len, "%s", dir) >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* The words to prepend to LD_PRELOAD, into buf. */
static int find_preload(char *buf, size_t len)
{
    const char *e = getenv("QPULSE_PRELOAD");
    char top[PATH_MAX];
    int n;
    if (e && *e) {
        if (access(e, R_OK) != 0) {
            fprintf(stderr, "qpulse run: QPULSE_PRELOAD=%s: %s\n", e, strerror(errno));
            return -ENOENT;
        }
        n = snprintf(buf, len, "%s", e);
    } else if (build_top(top, sizeof top) == 0) {
        n = snprintf(buf, len, "%s/preload/.libs/libqpulse-preload.so", top);
    } else if (access(QP_PRELOAD_INSTALLED, R_OK) == 0) {
        n = snprintf(buf, len, "%s", QP_PRELOAD_INSTALLED);
    } else {
        fprintf(stderr, "qpulse run: cannot find libqpulse-preload.so (looked in %s; "
                        "set QPULSE_PRELOAD to its path)\n", QP_PRELOAD_INSTALLED);
        return -ENOENT;
    }
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Whether the command's image will be its process's first under the
 * preload, so that no earlier image of this pid can have left a segment
 * for it to hand over (the preload then skips looking): the LD_PRELOAD we
 * inherited names no qpulse library, or an outer `qpulse run` said so for
 * this very pid and no preloaded image ran since (the first one removes
 * the variable).  In doubt, no: the preload then looks, as it always may. */
static int first_image(const char *ours)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || (!strstr(old, "qpulse") && !strstr(old, ours)))
        return 1;
    const char *v = getenv(QP_ENV_FIRST_IMAGE);
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    return v && !strcmp(v, pid);
}

static int set_first_image(int first)
{
    if (!first)
        return unsetenv(QP_ENV_FIRST_IMAGE) == 0 ? 0 : -errno;
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    return setenv(QP_ENV_FIRST_IMAGE, pid, 1) == 0 ? 0 : -errno;
}

/* LD_PRELOAD = ours, then whatever was there (ours first: a program run
 * under another preload is still timed at the libc boundary). */
static int set_preload(const char *ours)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old)
        return setenv("LD_PRELOAD", ours, 1) == 0 ? 0 : -errno;
    size_t n = strlen(ours) + strlen(old) + 2;
    char *v = malloc(n);
    if (!v)
        return -ENOMEM;
    snprintf(v, n, "%s %s", ours, old);
    int r = setenv("LD_PRELOAD", v, 1) == 0 ? 0 : -errno;
    free(v);
    return r;
}

int qp_cmd_run(int argc, char **argv)
{
    const char *hooks = NULL, *ns = NULL;
    int c;
    while ((c = qp_opts_next(&qp_run_prog, argc, argv)) != -1) {
        switch (c) {
        case OPT_HOOKS: hooks = optarg; break;
        case OPT_NS: ns = optarg; break;
        case 'h': qp_opts_help(&qp_run_prog, stdout); return 0;
        default: qp_opts_try(&qp_run_prog); return 2;
        }
    }
    unsigned mask;
    const char *bad = NULL;
    if (hooks && qp_hooks_parse(hooks, &mask, &bad) < 0) {
        fprintf(stderr, "qpulse run: --hooks: unknown group '%.*s' (known: mem lock io net fs "
                        "all none default)\n", (int)strcspn(bad, ","), bad);
        return 2;
    }
    if (qp_opts_ns(&qp_run_prog, &ns) < 0)
        return 2;
    int i = optind;
    if (i >= argc) {
        fprintf(stderr, "qpulse run: no command given\n");
        qp_opts_try(&qp_run_prog);
        return 2;
    }

    char lib[2 * PATH_MAX + 16];
    if (find_preload(lib, sizeof lib) < 0)
        return 2;
    int first = first_image(lib);
    if (set_first_image(first) < 0 || set_preload(lib) < 0 || setenv("QPULSE_NS", ns, 1) < 0 ||
        (hooks && setenv("QPULSE_HOOKS", hooks, 1) < 0)) {
        fprintf(stderr, "qpulse run: cannot set the environment: %s\n", strerror(errno));
        return 2;
    }
    /* Said already when the early start (run_fast.c) got this far. */
    int warned = 0;
#ifdef QP_RUN_FAST
    warned = qp_run_fast_warned;
#endif
    if (!warned && !qp_daemon_running(ns))
        fprintf(stderr, "qpulse run: warning: no qpulsed runs in namespace '%s'; the samples "
                        "are lost when %s exits (start one with: qpulsed --ns %s)\n",
                ns, argv[i], ns);

    execvp(argv[i], argv + i);
    int e = errno;
    fprintf(stderr, "qpulse run: %s: %s\n", argv[i], strerror(e));
    return e == ENOENT ? 127 : 126;
}
