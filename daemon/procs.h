/*
 * procs.h — what the files of the process table share among themselves
 * (procs.c, discover.c, drain.c, procstat.c, tick.c); the rest of the
 * daemon uses the procs_* calls of qpulsed.h.  Main thread only.
 */
#ifndef QPULSED_PROCS_H
#define QPULSED_PROCS_H

#include <stdint.h>

#include "qpulsed.h"

/* procs.c: the table */
struct proc *proc_new(qp_reader_t *r);
/* The open process of segment shm_name ("/qpulse..."), or NULL. */
struct proc *proc_find_open(const char *shm_name);
/* Closes p's segment: it is skipped (bad) or, with unlink, removed. */
void proc_close(struct proc *p, int unlink_it);
void proc_free(struct proc *p);
/* Reads p's drops (and, when they moved or with all, per operation). */
void proc_update_dropped_(struct proc *p, int all);
void proc_update_dropped(struct proc *p);
/* Whether p is an exited process that may be forgotten or compacted. */
int proc_exited(const struct proc *p);
/* Compacts exited *pp into one block (*pp changes). */
void proc_compact(struct proc **pp);
/* Marks the exited processes past --retain-max for forgetting. */
void retain_cap(void);

/* drain.c */
/* The statistics of op idx of p, created on first use. */
struct agg_op *proc_op(struct proc *p, uint32_t idx);
/* Drains p (bounded); the ring fill seen before, or -1 (closed, skipped). */
double proc_drain(struct proc *p);
/* The producer exited or died: drain what is left and remove the segment. */
void proc_finish(struct proc *p, const char *why);

/* discover.c */
struct name_ent;
/* Skips segment `name` (without '/') for `why`; ret is the error that
 * refused it (-EPERM: ownership, looked at again later). */
struct name_ent *skip_add(const char *name, const char *why, int ret);
/* Closes the inotify fd and forgets the pending and skipped names. */
void discover_fini(void);

/* procstat.c */
/* Reads p's command line from /proc (kept as it was when unreadable). */
void proc_cmdline(struct proc *p);
/* Reads p's CPU use and resident memory from /proc at time now (ns). */
void proc_usage(struct proc *p, int64_t now);

#endif /* QPULSED_PROCS_H */
