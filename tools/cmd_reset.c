/* cmd_reset.c — `qpulse reset` (placeholder until its issue lands). */
#include "config.h"
#include <stdio.h>
#include "tools.h"

int qp_cmd_reset(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "qpulse reset: not built yet\n");
    return 2;
}
