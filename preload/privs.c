/*
 * privs.c — the process's segment follows it through privilege changes.
 *
 * A server started as root creates its segment as root (its first sample)
 * and then drops to an unprivileged user: nginx's and memcached's workers
 * call setgid() and setuid() after they have recorded.  A segment left
 * owned by root would then be one its own process can no longer remove at
 * exit, and that only a root qpulsed may read.  So the setuid() family is
 * wrapped here: while the process is still root, before the real call, the
 * segment is given to the user it becomes (fchown; only root can, hence
 * before); when the call fails the segment is given back.  A process that
 * becomes root again (seteuid(0) after a temporary drop) takes its segment
 * back as root.  A process that was never root cannot give its segment
 * away: its segment stays its user's, which a qpulsed run by that user or
 * by root keeps reading as long as the process runs as that user (real or
 * effective uid) — and, when not, lists as skipped, with the reason.
 *
 * Nothing is recorded here: these calls are not timed.  setgroups() and
 * initgroups() need nothing: the segment is mode 0600, its group does not
 * grant access.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#include "preload.h"

#define QP_EXPORT __attribute__((visibility("default")))

/* libqpulse (lib/record.c). */
extern int qpulse__seg_chown(uid_t uid, gid_t gid, uid_t *old_uid, gid_t *old_gid);

#define KEEP_UID ((uid_t)-1)
#define KEEP_GID ((gid_t)-1)

struct undo {
    int done;          /* the segment was given away before the call */
    uid_t uid;
    gid_t gid;
};

static void *real_fn(void **slot, const char *name)
{
    void *f = qp_load_acquire(slot);
    if (!f) {
        qp_guard_enter();
        f = dlsym(RTLD_NEXT, name);
        qp_guard_leave();
        qp_store_release(slot, f);
    }
    return f;
}

/* Before the call: while we are root, give the segment to the effective
 * uid and gid the call is about to set (KEEP_*: unchanged). */
static void before(uid_t euid, gid_t egid, struct undo *u)
{
    u->done = 0;
    if (geteuid() != 0 || (euid == KEEP_UID && egid == KEEP_GID))
        return;
    qp_guard_enter();
    u->done = qpulse__seg_chown(euid, egid, &u->uid, &u->gid) > 0;
    qp_guard_leave();
}

/* After the call: undo when it failed; when we are root (again), the
 * segment is root's. */
static void after(int ret, struct undo *u)
{
    int e = errno;
    qp_guard_enter();
    if (ret < 0 && u->done)
        (void)qpulse__seg_chown(u->uid, u->gid, NULL, NULL);
    else if (ret == 0 && geteuid() == 0)
        (void)qpulse__seg_chown(0, KEEP_GID, NULL, NULL);
    else if (ret == 0 && u->done)   /* the process is now the new owner's: say so */
        (void)qpulse__seg_chown(KEEP_UID, KEEP_GID, NULL, NULL);
    qp_guard_leave();
    errno = e;
}

#define PRIV_HOOK(fn, params, args, euid, egid)                                     \
    QP_EXPORT int fn params                                                          \
    {                                                                                \
        static void *real_;                                                          \
        int (*f_) params = (int (*) params)real_fn(&real_, #fn);                     \
        if (!f_) {                                                                   \
            errno = ENOSYS;                                                          \
            return -1;                                                               \
        }                                                                            \
        struct undo u_;                                                              \
        before((euid), (egid), &u_);                                                 \
        int r_ = f_ args;                                                            \
        after(r_, &u_);                                                              \
        return r_;                                                                   \
    }

PRIV_HOOK(setuid, (uid_t uid), (uid), uid, KEEP_GID)
PRIV_HOOK(seteuid, (uid_t uid), (uid), uid, KEEP_GID)
PRIV_HOOK(setreuid, (uid_t ruid, uid_t euid), (ruid, euid), euid, KEEP_GID)
PRIV_HOOK(setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid), euid, KEEP_GID)
PRIV_HOOK(setgid, (gid_t gid), (gid), KEEP_UID, gid)
PRIV_HOOK(setegid, (gid_t gid), (gid), KEEP_UID, gid)
PRIV_HOOK(setregid, (gid_t rgid, gid_t egid), (rgid, egid), KEEP_UID, egid)
PRIV_HOOK(setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid), KEEP_UID, egid)
