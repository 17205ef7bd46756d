/*
 * bg.h — long writes done in a forked child (bg.c): a trace of the flight
 * recorder for a client, a dump on a budget breach, a periodic state save.
 * The child sees the daemon's memory as it was at the fork (copy-on-write),
 * writes and ends; the main loop goes on draining meanwhile.
 */
#ifndef QPULSED_BG_H
#define QPULSED_BG_H

#include <stdint.h>
#include <sys/types.h>

/* Called in the daemon once a child has ended: ok is 1 when it did its
 * work (bg_exit(0, ...)), work_ns what it said the work took. */
typedef void bg_done_fn(int ok, int64_t work_ns);

/* Forks a child for `what` (named in the log).  Returns the child's pid in
 * the daemon, 0 in the child, and -1 when no child was started (BG_MAX are
 * running, or fork failed): the caller then does the work in place.  The
 * child keeps only the log, standard input/output/error and keep_fd (-1:
 * none), so it holds no lock, socket or segment of the daemon's; it dies
 * with the daemon.  done may be NULL. */
pid_t bg_fork(const char *what, int keep_fd, bg_done_fn *done);
/* Set: bg_fork() starts no child (the fuzz harness renders in place). */
extern int bg_off;
/* Ends the child: status 0 when its work was done, work_ns for done. */
void bg_exit(int status, int64_t work_ns) __attribute__((noreturn));
/* Collects the children that ended (the main loop, once a second). */
void bg_reap(void);
/* Stops child pid now (its done is called with ok 0). */
void bg_kill(pid_t pid);
/* How many are running. */
unsigned bg_running(void);
/* At shutdown: lets the running children finish for up to limit_ns, then
 * kills what is left. */
void bg_finish(int64_t limit_ns);

#endif
