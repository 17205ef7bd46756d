/*
 * access.c — system mode: a qpulsed run as root collects the processes of
 * every user and serves any user's client, each of which sees (and may
 * reset) only the processes of its own user; root sees everything.  A
 * daemon run by an ordinary user serves that user and root, and shows them
 * all it collects (its own user's processes only).
 *
 * The client's user is its socket peer's uid (SO_PEERCRED), checked per
 * connection by server.c; render.c and procs_reset() ask access_visible()
 * per process.
 */
#include "config.h"

#include <unistd.h>

#include "common.h"
#include "qpulsed.h"

uid_t access_proc_uid(const qp_proc_info_t *in)
{
    uid_t ru, eu;
    if (in->uid == 0 && qp_proc_uids(in->pid, &ru, &eu) == 0)
        return ru;
    return in->uid;
}

int access_peer_allowed(uid_t peer)
{
    return qpd.system || peer == getuid() || peer == 0;
}

void access_begin(uid_t peer)
{
    qpd.view_uid = !qpd.system || peer == 0 ? (uid_t)-1 : peer;
}

void access_end(void)
{
    qpd.view_uid = (uid_t)-1;
}

int access_visible(const struct proc *p)
{
    return qpd.view_uid == (uid_t)-1 || p->uid == qpd.view_uid;
}
