/* tools.h — the subcommands of `qpulse`; each returns the exit status. */
#ifndef QPULSE_TOOLS_H
#define QPULSE_TOOLS_H

int qp_cmd_run(int argc, char **argv);     /* tools/cmd_run.c */
int qp_cmd_check(int argc, char **argv);   /* tools/cmd_check.c */
int qp_cmd_reset(int argc, char **argv);   /* tools/cmd_reset.c */
int qp_cmd_trace(int argc, char **argv);   /* tools/cmd_trace.c */

#endif
