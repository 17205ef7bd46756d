/*
 * common.c — names and small helpers shared by every qpulse program.
 * None of this is on the recording hot path.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "common.h"
#include "layout.h"

int qp_ns_valid(const char *ns)
{
    size_t n = 0;
    if (!ns)
        return 0;
    for (; ns[n]; n++) {
        unsigned char c = (unsigned char)ns[n];
        if (!(isalnum(c) || c == '_' || c == '-'))
            return 0;
        if (n >= QP_NS_MAX)
            return 0;
    }
    return n > 0;
}

const char *qp_ns_from_env(void)
{
    const char *ns = getenv("QPULSE_NS");
    if (!ns || !*ns)
        return QP_DEFAULT_NS;
    return qp_ns_valid(ns) ? ns : NULL;
}

static int fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, len, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* Names built without stdio: they are made on every profiled program's
 * start (the segment, /proc/<pid>/stat), and a program that never prints
 * should not fault in the formatter's pages for them.  Each appends to buf
 * at *at, keeping it NUL-terminated; once something does not fit, *at is
 * len and later calls do nothing. */
static void put_str(char *buf, size_t len, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (*at >= len || n >= len - *at) {
        *at = len;
        return;
    }
    memcpy(buf + *at, s, n + 1);
    *at += n;
}

static void put_num(char *buf, size_t len, size_t *at, long long v)
{
    char d[24];
    int i = (int)sizeof d;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    d[--i] = 0;
    do
        d[--i] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        d[--i] = '-';
    put_str(buf, len, at, d + i);
}

static void put_unum(char *buf, size_t len, size_t *at, unsigned long long u)
{
    char d[24];
    int i = (int)sizeof d;
    d[--i] = 0;
    do
        d[--i] = (char)('0' + u % 10);
    while (u /= 10);
    put_str(buf, len, at, d + i);
}

/* "<QP_SHM_PREFIX><ns>" into buf; the length so far (>= len: cut). */
static size_t ns_object(char *buf, size_t len, const char *ns)
{
    size_t at = 0;
    if (len)
        buf[0] = 0;
    put_str(buf, len, &at, QP_SHM_PREFIX);
    put_str(buf, len, &at, ns);
    return at;
}

int qp_seg_name(char *buf, size_t len, const char *ns, pid_t pid, uint64_t starttime,
                unsigned seq)
{
    size_t at = ns_object(buf, len, ns);
    put_str(buf, len, &at, ".");
    put_num(buf, len, &at, (long long)pid);
    put_str(buf, len, &at, ".");
    put_unum(buf, len, &at, (unsigned long long)starttime);
    put_str(buf, len, &at, ".");
    put_unum(buf, len, &at, seq);
    return at < len ? 0 : -ENAMETOOLONG;
}

int qp_seg_prefix(char *buf, size_t len, const char *ns)
{
    return fmt(buf, len, "qpulse.%s.", ns);
}

int qp_seg_pid_prefix(char *buf, size_t len, const char *ns, pid_t pid)
{
    return fmt(buf, len, "qpulse.%s.%ld.", ns, (long)pid);
}

int qp_seg_mark_exited(const char *name, pid_t pid)
{
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? -1 : 0;
    struct stat sb;
    int done = 0;
    if (fstat(fd, &sb) == 0 && sb.st_uid == geteuid() && (size_t)sb.st_size >= QP_HEADER_SIZE) {
        struct qp_seg_header *h =
            mmap(NULL, QP_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (h != MAP_FAILED) {
            if (qp_load_acquire(&h->magic) == QP_MAGIC && h->pid == pid) {
                /* Pairs with the acquire load in qp_reader_exited(), as the
                 * store in qpulse_shutdown() does. */
                qp_store_release(&h->state, QP_STATE_EXITED);
                done = 1;
            }
            munmap(h, QP_HEADER_SIZE);
        }
    }
    close(fd);
    return done;
}

int qp_daemon_shm_name(char *buf, size_t len, const char *ns)
{
    size_t at = ns_object(buf, len, ns);
    put_str(buf, len, &at, ".daemon");
    return at < len ? 0 : -ENAMETOOLONG;
}

static int parse_uint(const char *s, const char *end, unsigned long long max,
                      unsigned long long *out)
{
    unsigned long long v = 0;
    if (s >= end || end - s > 20)
        return -EINVAL;
    for (; s < end; s++) {
        if (!isdigit((unsigned char)*s))
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int qp_write_all(int fd, const void *b, size_t n)
{
    const char *p = b;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int qp_daemon_running(const char *ns)
{
    char name[128];
    if (qp_daemon_shm_name(name, sizeof name, ns) < 0)
        return 0;
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct qp_daemon_rec rec;
    ssize_t n = pread(fd, &rec, sizeof rec, 0);
    close(fd);
    return n == (ssize_t)sizeof rec && rec.magic == QP_DAEMON_MAGIC &&
           qp_proc_alive(rec.pid, rec.start_time);
}

int qp_seg_name_parse(const char *name, char *ns, size_t nslen, pid_t *pid,
                      uint64_t *starttime, unsigned *seq)
{
    if (name[0] == '/')
        name++;
    if (strncmp(name, "qpulse.", 7) != 0)
        return -EINVAL;
    name += 7;
    /* <ns>.<pid>.<starttime>.<seq>: the namespace has no dots, so split on
     * the first three dots and require nothing after the fourth field. */
    const char *d1 = strchr(name, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    const char *d3 = d2 ? strchr(d2 + 1, '.') : NULL;
    if (!d3 || strchr(d3 + 1, '.'))
        return -EINVAL;
    size_t nl = (size_t)(d1 - name);
    if (nl == 0 || nl >= nslen || nl > QP_NS_MAX)
        return -EINVAL;
    unsigned long long p, st, sq;
    if (parse_uint(d1 + 1, d2, 0x7fffffffULL, &p) < 0 || p == 0 ||
        parse_uint(d2 + 1, d3, ~0ULL, &st) < 0 ||
        parse_uint(d3 + 1, d3 + 1 + strlen(d3 + 1), 0xffffffffULL, &sq) < 0)
        return -EINVAL;
    memcpy(ns, name, nl);
    ns[nl] = 0;
    if (!qp_ns_valid(ns))
        return -EINVAL;
    *pid = (pid_t)p;
    *starttime = st;
    if (seq)
        *seq = (unsigned)sq;
    return 0;
}

const char *qp_system_dir(void)
{
    const char *e = getenv("QPULSE_SYSTEM_RUNTIME_DIR");
    return e && *e ? e : QP_SYSTEM_RUNTIME_DIR;
}

int qp_runtime_dir(char *buf, size_t len, int create)
{
    const char *e = getenv("QPULSE_RUNTIME_DIR");
    const char *x = getenv("XDG_RUNTIME_DIR");
    int r, sys = 0;   /* root: the directory may be open to others */
    if (e && *e)
        r = fmt(buf, len, "%s", e);
    else if (geteuid() == 0)
        sys = 1, r = fmt(buf, len, "%s", qp_system_dir());
    else if (x && *x && access(x, W_OK) == 0)
        r = fmt(buf, len, "%s/qpulse", x);
    else
        r = fmt(buf, len, "/tmp/qpulse-%lu", (unsigned long)getuid());
    if (r < 0)
        return r;
    /* root's default directory is the system one: every user reaches the
     * socket in it (the daemon checks each client's credentials) */
    if (create && mkdir(buf, sys ? 0755 : 0700) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(buf, &st) < 0)
        return create ? -errno : 0;
    mode_t open_to = sys || !getuid() ? 022 : 077;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & open_to))
        return -EPERM;
    return 0;
}

int qp_socket_path(char *buf, size_t len, const char *ns)
{
    char dir[256];
    int r = qp_runtime_dir(dir, sizeof dir, 0);
    if (r < 0)
        return r;
    return fmt(buf, len, "%s/%s.sock", dir, ns);
}

int qp_system_socket_path(char *buf, size_t len, const char *ns)
{
    return fmt(buf, len, "%s/%s.sock", qp_system_dir(), ns);
}

/* Up to len - 1 bytes of /proc/<pid>/<file> into buf, NUL-terminated: the
 * count, or -errno (-EIO when empty). */
static ssize_t read_proc_file(pid_t pid, const char *file, char *buf, size_t len)
{
    char path[64];
    size_t at = 0;
    put_str(path, sizeof path, &at, "/proc/");
    put_num(path, sizeof path, &at, (long long)pid);
    put_str(path, sizeof path, &at, "/");
    put_str(path, sizeof path, &at, file);
    if (at >= sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -e : -EIO;
    buf[n] = 0;
    return n;
}

int qp_proc_uids(pid_t pid, uid_t *ruid, uid_t *euid)
{
    char buf[4096];
    ssize_t n = read_proc_file(pid, "status", buf, sizeof buf);
    if (n < 0)
        return (int)n;
    const char *u = strstr(buf, "\nUid:");
    unsigned long r, e;
    if (!u || sscanf(u + 5, "%lu %lu", &r, &e) != 2)
        return -EIO;
    *ruid = (uid_t)r;
    *euid = (uid_t)e;
    return 0;
}

/* Reads /proc/<pid>/stat; the comm field may hold spaces and parentheses, so
 * the fields after it are found from the last ')'. */
static int read_stat(pid_t pid, char *buf, size_t len)
{
    ssize_t n = read_proc_file(pid, "stat", buf, len);
    return n < 0 ? (int)n : 0;
}

/* Field k (3 or more: after the comm) of a /proc/<pid>/stat line as a
 * number; -1 when the line is malformed. */
static int stat_field(const char *buf, int k, uint64_t *v)
{
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    /* after ')' come fields 3.. , each after one space */
    for (int field = 3; field < k && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || !p[0] || !p[1])
        return -1;
    *v = strtoull(p + 1, NULL, 10);
    return 0;
}

/* Field 22 (starttime) of a /proc/<pid>/stat line; 0 when malformed. */
static uint64_t stat_starttime(const char *buf)
{
    uint64_t v;
    return stat_field(buf, 22, &v) < 0 ? 0 : v;
}

int qp_proc_usage(pid_t pid, uint64_t *cpu_ticks, uint64_t *rss_bytes)
{
    char buf[1024];
    uint64_t ut, stt;
    if (read_stat(pid, buf, sizeof buf) < 0 || stat_field(buf, 14, &ut) < 0 ||
        stat_field(buf, 15, &stt) < 0)
        return -1;
    *cpu_ticks = ut + stt;
    if (read_proc_file(pid, "statm", buf, sizeof buf) < 0)
        return -1;
    unsigned long long res;   /* the second field, in pages */
    if (sscanf(buf, "%*u %llu", &res) != 1)
        return -1;
    *rss_bytes = (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

uint64_t qp_proc_starttime(pid_t pid)
{
    char buf[1024];
    if (read_stat(pid, buf, sizeof buf) < 0)
        return 0;
    return stat_starttime(buf);
}

/* (start time << 22) | pid: one word, so that no thread can read one
 * process's start time with another's pid (a vfork() child runs in its
 * parent's memory).  Pids are below 2^22 (the kernel's PID_MAX_LIMIT). */
#define SELF_PID_BITS 22
static uint64_t g_self_start;

void qp_self_starttime_seed(pid_t pid, uint64_t st)
{
    if (st && st < (UINT64_C(1) << (64 - SELF_PID_BITS)) && pid > 0 &&
        pid < (pid_t)(1u << SELF_PID_BITS))
        qp_store_relaxed(&g_self_start, (st << SELF_PID_BITS) | (uint64_t)pid);
}

uint64_t qp_self_starttime(pid_t pid)
{
    uint64_t c = qp_load_relaxed(&g_self_start);
    if (c && (pid_t)(c & ((1u << SELF_PID_BITS) - 1)) == pid)
        return c >> SELF_PID_BITS;
    uint64_t st = qp_proc_starttime(pid);
    qp_self_starttime_seed(pid, st);
    return st;
}

int qp_proc_alive(pid_t pid, uint64_t starttime)
{
    if (pid <= 0)
        return 0;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 0;
    char buf[1024];
    if (read_stat(pid, buf, sizeof buf) < 0)
        return 0;
    char *p = strrchr(buf, ')');
    if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
        return 0;   /* a zombie has exited: its samples are final */
    /* The start time from the same read (one /proc read, not two: this
     * runs in every profiled process's exit path). */
    if (starttime && stat_starttime(buf) != starttime)
        return 0;
    return 1;
}

/* A comm file ("comm" or "task/<tid>/comm") into buf, without its newline. */
static int read_comm(pid_t pid, const char *file, char *buf, size_t len)
{
    ssize_t n = read_proc_file(pid, file, buf, len);
    if (n == -EIO)
        n = 0;   /* empty */
    if (n < 0) {
        buf[0] = 0;
        return (int)n;
    }
    while (n > 0 && (buf[n - 1] == '\n'))
        n--;
    buf[n] = 0;
    return 0;
}

int qp_proc_name(pid_t pid, char *buf, size_t len)
{
    return read_comm(pid, "comm", buf, len);
}

int qp_thread_name(pid_t pid, pid_t tid, char *buf, size_t len)
{
    char file[48];
    size_t at = 0;
    put_str(file, sizeof file, &at, "task/");
    put_num(file, sizeof file, &at, (long long)tid);
    put_str(file, sizeof file, &at, "/comm");
    if (at >= sizeof file) {
        buf[0] = 0;
        return -ENAMETOOLONG;
    }
    return read_comm(pid, file, buf, len);
}

ssize_t qp_proc_cmdline(pid_t pid, char *buf, size_t len)
{
    char tmp[512 + 1];   /* small: the recorder may run on a signal stack */
    if (len > sizeof tmp - 1)
        len = sizeof tmp - 1;
    ssize_t n = read_proc_file(pid, "cmdline", tmp, len + 1);
    if (n > 0)
        memcpy(buf, tmp, (size_t)n);
    return n;
}

double qp_duration_unit(const char *s, size_t n)
{
    static const struct { const char *name; double mul; } units[] = {
        { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (n == strlen(units[i].name) && !memcmp(s, units[i].name, n))
            return units[i].mul;
    return 0;
}

char *qp_scrub(char *s)
{
    for (char *c = s; c && *c; c++)
        if (qp_is_ctrl(*c))
            *c = '?';
    return s;
}

void qp_vappendf(char *buf, size_t len, size_t *at, const char *fmt, va_list ap)
{
    if (*at >= len)
        return;
    size_t room = len - *at;
    int n = vsnprintf(buf + *at, room, fmt, ap);
    if (n < 0)
        buf[*at] = '\0';
    else
        *at += (size_t)n < room ? (size_t)n : room - 1;
}

void qp_appendf(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(buf, len, at, fmt, ap);
    va_end(ap);
}

const char *qp_format_scaled(double v, const qp_scale_t *steps, size_t n, char *buf,
                             size_t len)
{
    size_t i = 0;
    while (i + 1 < n && !(v < steps[i].below))
        i++;
    snprintf(buf, len, "%.*f%s", steps[i].prec, v / steps[i].div, steps[i].unit);
    return buf;
}

const char *qp_format_ns(double ns, char *buf, size_t len)
{
    /* Three significant digits or so, ~7 characters at most. */
    static const qp_scale_t scale[] = {
        { 1e3, 1, 0, "ns" }, { 1e4, 1e3, 2, "us" }, { 1e5, 1e3, 1, "us" },
        { 1e6, 1e3, 0, "us" }, { 1e7, 1e6, 2, "ms" }, { 1e8, 1e6, 1, "ms" },
        { 1e9, 1e6, 0, "ms" }, { INFINITY, 1e9, 2, "s" },
    };
    if (!isfinite(ns) || ns < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    return qp_format_scaled(ns, scale, sizeof scale / sizeof *scale, buf, len);
}
