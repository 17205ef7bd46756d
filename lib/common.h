/*
 * common.h — names and small helpers shared by every qpulse program:
 * namespaces, shared-memory object names, the daemon's runtime directory,
 * /proc readers.  Compiled into libqpulse and into the internal library.
 */
#ifndef QPULSE_COMMON_H
#define QPULSE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QP_DEFAULT_NS "default"

/* Set by `qpulse run` to the pid of the process it execs the command in
 * when no earlier image of that process can have had a segment (no qpulse
 * preload in the LD_PRELOAD it inherited): libqpulse-preload then skips
 * looking for one (a /proc read and failed opens in every profiled
 * program), and removes the variable at load, so that neither the program
 * nor a later image of the process sees it. */
#define QP_ENV_FIRST_IMAGE "QPULSE__FIRST_IMAGE"

/* The namespace from QPULSE_NS, or "default".  NULL if QPULSE_NS is invalid. */
const char *qp_ns_from_env(void);
/* 1 when ns is 1..48 characters of [A-Za-z0-9_-], else 0. */
int qp_ns_valid(const char *ns);

/* "/qpulse.<ns>.<pid>.<starttime>.<seq>" into buf; -ENAMETOOLONG if it won't
 * fit.  seq tells apart the segments of successive program images of one
 * process (exec keeps pid and start time). */
int qp_seg_name(char *buf, size_t len, const char *ns, pid_t pid, uint64_t starttime,
                unsigned seq);
/* Parses a name as above (with or without the leading '/'); 0 or -EINVAL.
 * "/qpulse.<ns>.daemon" is not a segment name (-EINVAL). */
int qp_seg_name_parse(const char *name, char *ns, size_t nslen, pid_t *pid,
                      uint64_t *starttime, unsigned *seq);
/* The shm prefix of a namespace's segments, "qpulse.<ns>." (no '/'). */
int qp_seg_prefix(char *buf, size_t len, const char *ns);
/* "qpulse.<ns>.<pid>.": the shm prefix of one process's segments (no '/'). */
int qp_seg_pid_prefix(char *buf, size_t len, const char *ns, pid_t pid);
/* Hands over the segment an earlier image of this process (pid) left under
 * name, as its exit path would have: when the object is ours (owned by our
 * effective uid) and a live segment of pid, release-stores its state
 * EXITED, so that a daemon drains it once more and removes it.  1 when it
 * was handed over, -1 when there is no such object, else 0. */
int qp_seg_mark_exited(const char *name, pid_t pid);
/* "/qpulse.<ns>.daemon": the daemon's presence record. */
int qp_daemon_shm_name(char *buf, size_t len, const char *ns);

/* 1 when /qpulse.<ns>.daemon names a qpulsed that is alive, else 0.  A
 * producer leaves its segment at exit for such a daemon to drain. */
int qp_daemon_running(const char *ns);
/* Writes all n bytes of b to fd, again after EINTR and short writes: 0, or
 * -errno (-EIO when write(2) wrote nothing). */
int qp_write_all(int fd, const void *b, size_t n);

/* The system daemon's runtime directory: $QPULSE_SYSTEM_RUNTIME_DIR, else
 * /run/qpulse.  A root qpulsed (system mode) listens there, on a socket
 * every user may connect to. */
#define QP_SYSTEM_RUNTIME_DIR "/run/qpulse"
const char *qp_system_dir(void);

/* Directory for daemon sockets and pid files: $QPULSE_RUNTIME_DIR, else
 * (root) the system directory, else $XDG_RUNTIME_DIR/qpulse, else
 * /tmp/qpulse-<uid>.  Created when create is set (0700; the system one
 * 0755); -EPERM if it exists and is not ours or is open to others (for
 * root: writable by others). */
int qp_runtime_dir(char *buf, size_t len, int create);
/* "<runtime dir>/<ns>.sock" */
int qp_socket_path(char *buf, size_t len, const char *ns);
/* "<system dir>/<ns>.sock": where clients look when their own user runs no
 * daemon for the namespace. */
int qp_system_socket_path(char *buf, size_t len, const char *ns);
/* Real and effective uid of pid (from /proc/<pid>/status); 0 or -errno. */
int qp_proc_uids(pid_t pid, uid_t *ruid, uid_t *euid);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks); 0 if unknown. */
uint64_t qp_proc_starttime(pid_t pid);
/* The same for the calling process, whose pid (getpid()) the caller passes:
 * read once per process (a process's first sample and the hand-over of its
 * earlier images' segments both need it), again after fork. */
uint64_t qp_self_starttime(pid_t pid);
/* Tells qp_self_starttime() the start time of pid (the caller's), known
 * some other way (a forked child: record.c). */
void qp_self_starttime_seed(pid_t pid, uint64_t st);
/* 1 if pid runs and (when starttime != 0) started at starttime, else 0. */
int qp_proc_alive(pid_t pid, uint64_t starttime);
/* CPU time (utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock
 * ticks) and resident memory in bytes (/proc/<pid>/statm); 0 or -1. */
int qp_proc_usage(pid_t pid, uint64_t *cpu_ticks, uint64_t *rss_bytes);
/* The program name (comm) of pid into buf. */
int qp_proc_name(pid_t pid, char *buf, size_t len);
/* The name (comm) of thread tid of pid into buf; 0 or -errno. */
int qp_thread_name(pid_t pid, pid_t tid, char *buf, size_t len);
/* Up to len bytes of /proc/<pid>/cmdline (arguments each ending in a NUL;
 * the last one cut short when it is longer) into buf: the count, or -errno
 * (-EIO when empty, as for a kernel thread or a zombie), buf untouched.
 * At most 512 bytes. */
ssize_t qp_proc_cmdline(pid_t pid, char *buf, size_t len);

/* Three-way comparison for qsort callbacks: -1, 0 or 1 as a is below,
 * equal to or above b (no subtraction, so no overflow).  A comparator
 * chains its keys: `int c; if ((c = QP_CMP(x->a, y->a))) return c; ...`;
 * QP_CMP(b, a) sorts a key in descending order. */
#define QP_CMP(a, b) (((a) > (b)) - ((a) < (b)))

/* 1 for a control character (below 0x20, or DEL), which a name must not
 * carry into a log, a terminal or JSON (a newline faking a log line, an
 * escape sequence); UTF-8 passes. */
static inline int qp_is_ctrl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}
/* Replaces every control character of the string s with '?'; returns s. */
char *qp_scrub(char *s);

/* Appends the formatted text to the string of *at bytes in buf (len bytes),
 * cut to fit, and advances *at to the new length: at most len - 1, buf
 * NUL-terminated.  An error message built from a prefix ("file:line:col: ")
 * and a caller's printf format.  It writes only into buf (no stdio stream,
 * no allocation), so the recorder's warnings use it too. */
void qp_appendf(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void qp_vappendf(char *buf, size_t len, size_t *at, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* The duration units: nanoseconds in one of the n characters at s ("ns",
 * "us", "ms" or "s"); 0 for anything else. */
double qp_duration_unit(const char *s, size_t n);
/* Formats nanoseconds with an auto unit (ns, us, ms, s) into buf, width ~7. */
const char *qp_format_ns(double ns, char *buf, size_t len);

/* A step of a number's scale: a value below `below` is written as v / div
 * with prec decimals, then unit ("12.5us"). */
typedef struct qp_scale {
    double below, div;
    int prec;
    const char *unit;
} qp_scale_t;
/* v on the first of the n steps it is below (the last takes the rest),
 * into buf; returns buf. */
const char *qp_format_scaled(double v, const qp_scale_t *steps, size_t n, char *buf,
                             size_t len);

#endif /* QPULSE_COMMON_H */
