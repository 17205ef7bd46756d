/*
 * plug_net1.c — a plugin that defines operation set "net" (tests/safety.sh):
 * loaded and unloaded with dlopen/dlclose, and loaded next to plug_net2.c,
 * which defines another set of the same name.
 */
#include <qpulse.h>

#define NET_OPS(X)                                  \
    X(Send1, "net", "sending, plugin one", 1)       \
    X(Recv1, "net", "receiving, plugin one", 1)

QPULSE_DECLARE_SET(net, NET_OPS)
QPULSE_DEFINE_SET(net, NET_OPS)

#define PLUG_API __attribute__((visibility("default")))

PLUG_API void plug_record(int n);
PLUG_API void *plug_set(void);

/* n samples of net.Send1, 1001 ns each, and one nested scope pair. */
PLUG_API void plug_record(int n)
{
    for (int i = 0; i < n; i++)
        QPULSE_RECORD(net, Send1, 1001);
    QPULSE_SCOPE(net, Recv1);
}

PLUG_API void *plug_set(void)
{
    return &qpulse_set_net;
}
