/*
 * trading_ops.c — the one definition of the trading operation set.  The
 * set binds to libqpulse on its first sample; nothing runs at load.
 */
#include "trading_ops.h"

QPULSE_DEFINE_SET(trading, TRADING_OPS)
