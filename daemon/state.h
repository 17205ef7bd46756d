/*
 * state.h — the --state file: the daemon's statistics on disk, so that a
 * restarted or upgraded qpulsed continues every process's cumulative
 * figures.  state.c holds the format (writing and the parser, which trusts
 * nothing: fuzz/fuzz_state.c); restart.c when to save and how a loaded
 * process is matched to its segment again.
 *
 * Format (host byte order: the file never leaves the host), version 1:
 *
 *   header   "QPSTATE\n", u32 version, u32 histogram layout
 *            (HIST_GROUPS << 8 | HIST_SUB_BITS), u32 segment layout major,
 *            u32 zero, u64 payload bytes, u64 FNV-1a of the payload,
 *            char ns[64]
 *   payload  u32 nprocs, then per process:
 *            str shm_name, str name, i32 pid, u32 uid, u64 start_time,
 *            u32 alive, f64 started_at, exited_at, seen_at (Unix seconds),
 *            u64 consumed, lost, dropped_prev, dropped_base, dropped_last,
 *            u32 nops, then per operation:
 *              u32 index, str set, name, group, description, i32 priority,
 *              u64 count, total, min, max, clamped, nomem, self, shift,
 *              f64 s1, s2, u32 nbuckets, then (u64 low bound, u64 count)
 *              ascending, u32 nchildren, then (u32 op, u64 count, u64 total)
 *   str      u32 length (at most 4096), then the bytes (no NUL)
 *
 * A file of another version or histogram layout, another namespace, or one
 * that fails any check is refused as a whole with a reason: the daemon then
 * starts from nothing, and what earlier daemons consumed counts as lost.
 */
#ifndef QPULSED_STATE_H
#define QPULSED_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "qpulsed.h"

#define STATE_VERSION 1u
#define STATE_HEADER_SIZE 104u      /* the payload's length at 24, its checksum at 32 */
#define STATE_MAX_BYTES (1u << 30)

/* Serialises the processes of list (linked by next) of namespace ns into a
 * malloc'd buffer.  0 or -ENOMEM. */
int state_serialize(const struct proc *list, const char *ns, double now_real,
                    int64_t now_mono, uint8_t **out, size_t *outlen);

/* Parses buf.  On success *out is a new list of processes (r == NULL,
 * saved = 1, times as Unix seconds in started_at/exited_at/saved_seen);
 * on failure returns -EBADMSG (malformed), -EPROTO (another version or
 * layout) or -ENOMEM, and writes the reason into err. */
int state_parse(const uint8_t *buf, size_t len, const char *ns, struct proc **out,
                char *err, size_t errlen);

/* The checksum of a payload (FNV-1a, 64 bits). */
uint64_t state_checksum(const uint8_t *p, size_t n);

/* Frees a list from state_parse(). */
void state_free_list(struct proc *list);

/* restart.c: the daemon's side. */
#define STATE_SAVE_INTERVAL_NS (5ll * 1000000000)
#define STATE_SAVE_SHARE 100   /* a save takes at most 1/100 of the time */
/* Loads qpd.state_path (when set) into the process table as processes
 * waiting for their segments. */
void restart_load(void);
/* A segment was just attached as p: continue its saved statistics, and
 * count as lost what earlier daemons consumed that no state covers. */
void restart_adopt(struct proc *p);
/* After the first scan: saved processes whose segment is gone exited. */
void restart_settle(void);
/* Saves now; 0 or -errno (logged). */
int restart_save(void);
/* From the loop: saves every STATE_SAVE_INTERVAL_NS, or STATE_SAVE_SHARE
 * times as long as the last save took when that is longer. */
void restart_tick(int64_t now);

#endif /* QPULSED_STATE_H */
