/*
 * plug_net2.c — a second plugin that defines an operation set named "net"
 * with other operations (tests/safety.sh): its samples must never be filed
 * under plug_net1.c's operations.
 */
#include <qpulse.h>

#define NET_OPS(X) X(Other2, "net2", "something else, plugin two", 2)

QPULSE_DECLARE_SET(net, NET_OPS)
QPULSE_DEFINE_SET(net, NET_OPS)

#define PLUG_API __attribute__((visibility("default")))

PLUG_API void plug_record(int n);
PLUG_API void *plug_set(void);

/* n samples of net.Other2, 2002 ns each. */
PLUG_API void plug_record(int n)
{
    for (int i = 0; i < n; i++)
        QPULSE_RECORD(net, Other2, 2002);
}

PLUG_API void *plug_set(void)
{
    return &qpulse_set_net;
}
