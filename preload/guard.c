/*
 * guard.c — the per-thread recursion guard of libqpulse-preload (see
 * preload.h): its one variable lives here so that the hooks and the unit
 * tests share it.
 */
#include "config.h"

#include "preload.h"

__thread unsigned qp_guard_depth __attribute__((tls_model("initial-exec")));
