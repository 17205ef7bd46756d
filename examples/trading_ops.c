/*
 * trading_ops.c — the one definition of the trading operation set.  Its
 * constructor registers the set with libqpulse when the program loads.
 */
#include "trading_ops.h"

QPULSE_DEFINE_SET(trading, TRADING_OPS)
