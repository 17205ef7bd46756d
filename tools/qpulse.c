/*
 * qpulse.c — the `qpulse` command: dispatches to its subcommands.
 *
 *   qpulse run   [--hooks GROUPS] [--ns NAME] -- CMD ARGS...   (tools/cmd_run.c)
 *   qpulse check --budgets FILE | --baseline OLD.json ...      (tools/cmd_check.c)
 *   qpulse reset [--ns NAME]                                   (tools/cmd_reset.c)
 *   qpulse trace [--ns NAME] [--pid PID] [--last S] [-o FILE]  (tools/cmd_trace.c)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tools.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qpulse COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  run [--hooks GROUPS] [--ns NAME] -- CMD [ARGS...]\n"
            "        profile an unmodified program's libc calls (see qpulse-run(1))\n"
            "  check --budgets FILE [--input SNAPSHOT.json]\n"
            "  check --baseline OLD.json [--input NEW.json] [--tolerance PERCENT]\n"
            "        latency budgets and regressions as a CI gate (see qpulse-check(1))\n"
            "  reset [--ns NAME]\n"
            "        clear the daemon's statistics (see qpulse-reset(1))\n"
            "  trace [--ns NAME] [--pid PID] [--last SECONDS] [-o FILE]\n"
            "        the daemon's recent raw samples as a Perfetto/Chrome trace\n"
            "        (see qpulse-trace(1))\n"
            "\n"
            "  qpulse --version, qpulse --help\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return qp_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return qp_cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "reset"))
        return qp_cmd_reset(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace"))
        return qp_cmd_trace(argc - 1, argv + 1);
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
