/* cmd_run.c — `qpulse run` (placeholder until its issue lands). */
#include "config.h"
#include <stdio.h>
#include "tools.h"

int qp_cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "qpulse run: not built yet\n");
    return 2;
}
