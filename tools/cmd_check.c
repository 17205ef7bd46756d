/* cmd_check.c — `qpulse check` (placeholder until its issue lands). */
#include "config.h"
#include <stdio.h>
#include "tools.h"

int qp_cmd_check(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "qpulse check: not built yet\n");
    return 2;
}
