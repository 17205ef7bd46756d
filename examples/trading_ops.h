/*
 * trading_ops.h — the operations the arbitrage example measures (a
 * crypto arbitrage loop).  Any file that profiles includes this header;
 * trading_ops.c defines the set once.
 *
 * Groups follow the pipeline: market data in, strategy decides, orders go
 * out over the network, the portfolio is updated.  Priority 1 is the
 * tick-to-trade critical path.
 */
#ifndef TRADING_OPS_H
#define TRADING_OPS_H

#include <qpulse.h>

#define TRADING_OPS(X)                                                                    \
    X(PriceFeedParsing,   "market",    "Parsing real-time price feeds from exchanges", 1)  \
    X(ArbitrageDetection, "strategy",  "Detecting profitable arbitrage opportunities", 1)  \
    X(RiskCheck,          "portfolio", "Pre-trade checks against position limits",     2)  \
    X(OrderCreation,      "orders",    "Creating buy/sell orders for arbitrage",       2)  \
    X(OrderSubmission,    "orders",    "Submitting orders to exchanges",               1)  \
    X(NetworkLatency,     "network",   "Round trip to the exchange gateway",           1)  \
    X(PositionUpdate,     "portfolio", "Updating portfolio positions",                 3)

QPULSE_DECLARE_SET(trading, TRADING_OPS)

#endif /* TRADING_OPS_H */
