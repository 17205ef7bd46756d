/*
 * qpulse.c — the `qpulse` command: dispatches to its subcommands, one
 * entry of cmds[] each (tools/cmd_<name>.c); its usage shows each one's
 * usage line, generated from the subcommand's option table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "opts.h"
#include "tools.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const struct qp_prog *prog;
    const char *about;   /* '\n' starts a continuation line */
} cmds[] = {
    { "run", qp_cmd_run, &qp_run_prog,
      "profile an unmodified program's libc calls (see qpulse-run(1))" },
    { "check", qp_cmd_check, &qp_check_prog,
      "latency budgets and regressions as a CI gate (see qpulse-check(1))" },
    { "reset", qp_cmd_reset, &qp_reset_prog,
      "clear the daemon's statistics (see qpulse-reset(1))" },
    { "trace", qp_cmd_trace, &qp_trace_prog,
      "the daemon's recent raw samples as a Perfetto/Chrome trace\n"
      "(see qpulse-trace(1))" },
};

#define NCMDS (sizeof cmds / sizeof cmds[0])
#define ABOUT_COL 8

static void usage(FILE *f)
{
    fputs("usage: qpulse COMMAND [OPTIONS]\n\ncommands:\n", f);
    for (size_t i = 0; i < NCMDS; i++) {
        fputs("  ", f);
        qp_opts_usage(cmds[i].prog, cmds[i].name, 2, f);
        fprintf(f, "%*s", ABOUT_COL, "");
        qp_opts_put_indented(f, cmds[i].about, ABOUT_COL);
        fputc('\n', f);
    }
    fputs("\n  qpulse --version, qpulse --help\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("qpulse %s\n", PACKAGE_VERSION);
        return 0;
    }
    fprintf(stderr, "qpulse: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
