/* tools.h — the subcommands of `qpulse`; each returns the exit status. */
#ifndef QPULSE_TOOLS_H
#define QPULSE_TOOLS_H

int qp_cmd_run(int argc, char **argv);     /* tools/cmd_run.c */
int qp_cmd_check(int argc, char **argv);   /* tools/cmd_check.c */
int qp_cmd_reset(int argc, char **argv);   /* tools/cmd_reset.c */
int qp_cmd_trace(int argc, char **argv);   /* tools/cmd_trace.c */

/* Their options (lib/opts.h), for the usage of `qpulse` itself. */
struct qp_prog;
extern const struct qp_prog qp_run_prog, qp_check_prog, qp_reset_prog, qp_trace_prog;

/* tools/run_fast.c (the static qpulse on x86-64): `qpulse run` done before
 * the C library starts, from the entry point; it returns only to let
 * main() do the work, after setting qp_run_fast_warned when it already
 * printed the warning that no daemon runs. */
void qp_run_fast(long *sp);
extern int qp_run_fast_warned;

#endif
