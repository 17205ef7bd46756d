/*
 * plug_net.c — two plugins that each define an operation set named "net"
 * (tests/safety.sh), built from this file twice:
 *
 *   plug_net1.so (PLUG_NET=1)  net.Send1 and net.Recv1; loaded and unloaded
 *                              with dlopen/dlclose, and next to plug_net2.so
 *   plug_net2.so (PLUG_NET=2)  net.Other2, other operations under the same
 *                              set name: its samples must never be filed
 *                              under plug_net1.so's operations
 */
#include <qpulse.h>

#if PLUG_NET == 1
#define NET_OPS(X)                                  \
    X(Send1, "net", "sending, plugin one", 1)       \
    X(Recv1, "net", "receiving, plugin one", 1)
#else
#define NET_OPS(X) X(Other2, "net2", "something else, plugin two", 2)
#endif

QPULSE_DECLARE_SET(net, NET_OPS)
QPULSE_DEFINE_SET(net, NET_OPS)

#define PLUG_API __attribute__((visibility("default")))

PLUG_API void plug_record(int n);
PLUG_API void *plug_set(void);

/* plug_net1: n samples of net.Send1, 1001 ns each, and one nested scope
 * pair; plug_net2: n samples of net.Other2, 2002 ns each. */
PLUG_API void plug_record(int n)
{
#if PLUG_NET == 1
    for (int i = 0; i < n; i++)
        QPULSE_RECORD(net, Send1, 1001);
    QPULSE_SCOPE(net, Recv1);
#else
    for (int i = 0; i < n; i++)
        QPULSE_RECORD(net, Other2, 2002);
#endif
}

PLUG_API void *plug_set(void)
{
    return &qpulse_set_net;
}
