/*
 * ecommerce_ops.h — the operations the e-commerce example measures (a
 * web service: POST /orders on a multi-threaded API server).
 *
 * Priorities: 1 is user-facing critical path, 2 business
 * logic, 3 data access, 4-5 external services that may be slow.
 */
#ifndef ECOMMERCE_OPS_H
#define ECOMMERCE_OPS_H

#include <qpulse.h>

#define ECOMMERCE_OPS(X)                                                                   \
    X(HandleOrder,       "api",      "Handling POST /orders, end to end",               1)  \
    X(QueueWait,         "api",      "Time a request waited for a free worker",          1)  \
    X(TokenValidation,   "auth",     "Validating JWT authentication tokens",             1)  \
    X(CacheGet,          "cache",    "Reading from Redis cache (1 call in 8 recorded)",  3)  \
    X(CacheSet,          "cache",    "Writing to Redis cache",                           3)  \
    X(DatabaseRead,      "database", "Reading data from PostgreSQL",                     3)  \
    X(DatabasePoolWait,  "database", "Waiting for a pooled database connection",         3)  \
    X(DatabaseWrite,     "database", "Writing the order (pool wait not counted)",        3)  \
    X(InventoryCheck,    "business", "Checking stock for every cart item",               2)  \
    X(Pricing,           "business", "Prices, discounts and taxes for the cart",         2)  \
    X(PaymentProcessing, "external", "Processing payments via external gateway",         4)  \
    X(EmailNotification, "external", "Order confirmation: queued, then sent by mailer",  5)

QPULSE_DECLARE_SET(ecommerce, ECOMMERCE_OPS)

#endif /* ECOMMERCE_OPS_H */
