/*
 * main.c — qpulsed, the qpulse collector daemon: options, start-up, the one
 * poll loop and shutdown.
 *
 * The loop ticks to absolute deadlines (next += interval, never
 * sleep(interval)): drain every 10 ms, every 1 ms while some ring is filling
 * fast; retry a new segment that is not initialised yet every 1 ms (inotify
 * usually says sooner); rescan /dev/shm every 500 ms (inotify finds new
 * segments sooner);
 * once a second read /proc, notice deaths, expire retained processes, check
 * budgets.  Signals arrive through a signalfd as events of the same loop.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "clock.h"
#include "common.h"
#include "layout.h"
#include "log.h"
#include "opts.h"
#include "history.h"
#include "qpulsed.h"
#include "slowest.h"
#include "state.h"

#define NS_PER_MS 1000000ll
#define NS_PER_S 1000000000ll
#define DRAIN_INTERVAL (10 * NS_PER_MS)
#define DRAIN_INTERVAL_IDLE (250 * NS_PER_MS)   /* no segment attached */
#define DRAIN_INTERVAL_FAST (1 * NS_PER_MS)
#define FAST_FILL 0.05          /* a ring this full after one interval ... */
#define FAST_HOLD (200 * NS_PER_MS)   /* ... keeps the fast pace this long */
#define RESCAN_INTERVAL (500 * NS_PER_MS)
#define MAX_POLLFDS 80

struct qpd qpd = { .lock = PTHREAD_MUTEX_INITIALIZER };

int64_t mono_ns(void)
{
    return (int64_t)qp_mono_ns();
}

double real_s(void)
{
    return (double)qp_real_ns() / 1e9;
}

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

enum { OPT_NS = QP_OPT_LONG, OPT_LISTEN, OPT_WINDOW, OPT_RETAIN, OPT_BUDGETS, OPT_DAEMON,
       OPT_PIDFILE, OPT_LOGFILE, OPT_STATE, OPT_VERSION, OPT_HISTORY, OPT_SLOWEST,
       OPT_DUMPDIR, OPT_RETAIN_MAX, OPT_THREADS };

/* The one table of options: getopt_long's table and --help come from it. */
static const struct qp_opt opt_defs[] = {
    QP_OPT_NS(OPT_NS),
    { "listen", OPT_LISTEN, "HOST:PORT", "off", "serve Prometheus /metrics (HOST defaults to 127.0.0.1)" },
    { "window", OPT_WINDOW, "SECONDS", "10", "length of the live window (1-3600)" },
    { "retain", OPT_RETAIN, "SECONDS", "300", "how long an exited process stays listed" },
    { "retain-max", OPT_RETAIN_MAX, "N", "5000", "most exited processes listed; the oldest are forgotten first" },
    { "budgets", OPT_BUDGETS, "FILE", "none", "latency budgets to check and log" },
    { "history-mb", OPT_HISTORY, "MB", "64", "memory for the flight recorder of raw samples (0 = off)" },
    { "slowest", OPT_SLOWEST, "K", "5", "slowest samples kept per operation and second (0-100)" },
    { "threads", OPT_THREADS, "N", "cores - 1, at most 8", "threads that drain and aggregate the samples (1-64)" },
    { "dump-dir", OPT_DUMPDIR, "DIR", "none", "write a trace of the recent history there on a budget breach" },
    { "daemon", OPT_DAEMON, NULL, NULL, "detach and run in the background" },
    { "pidfile", OPT_PIDFILE, "FILE", "none", "also write the pid to FILE" },
    { "state", OPT_STATE, "FILE", "<runtime dir>/<ns>.state",
      "keep statistics there across restarts ('none': off)" },
    { "log-file", OPT_LOGFILE, "FILE", "stderr (syslog with --daemon)", "log to FILE (reopened on SIGHUP)" },
    { "verbose", 'v', NULL, NULL, "log more (repeat for debug)" },
    QP_OPT_HELP,
    QP_OPT_VERSION(OPT_VERSION),
};

static const struct qp_prog prog = {
    .name = "qpulsed",
    .about = "Collects the latency samples of qpulse-instrumented processes and serves\n"
             "them to qptop, qpulse and Prometheus.",
    .footer = "Signals: SIGTERM/SIGINT drain and exit; SIGHUP reopens the log file.\n"
              "See qpulsed(8).",
    .opts = QP_PROG_OPTS(opt_defs),
};

/* Configuration errors are collected and reported together. */
static char cfg_errors[4096];
static size_t cfg_errlen;

static void cfg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cfg_error(const char *fmt, ...)
{
    if (cfg_errlen >= sizeof cfg_errors - 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    qp_vappendf(cfg_errors, sizeof cfg_errors - 1, &cfg_errlen, fmt, ap);   /* room for '\n' */
    va_end(ap);
    cfg_errors[cfg_errlen++] = '\n';
    cfg_errors[cfg_errlen] = 0;
}

/* A whole number (of what, e.g. " of seconds", for the message) in lo..hi. */
static unsigned parse_whole(const char *opt, const char *what, const char *s, unsigned lo,
                            unsigned hi)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
        cfg_error("--%s: '%s' is not a whole number%s in %u..%u", opt, s, what, lo, hi);
        return lo;
    }
    return (unsigned)v;
}
#define parse_seconds(opt, s, lo, hi) parse_whole(opt, " of seconds", s, lo, hi)
#define parse_count(opt, s, lo, hi) parse_whole(opt, "", s, lo, hi)

/* --threads by default: a core for the producers, at most 8, at least 1. */
static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/* Option ch of the table with its value arg into c; -1 for one that is not
 * a setting. */
static int set_option(struct qpd_config *c, int ch, const char *arg)
{
    switch (ch) {
    case OPT_NS: c->ns = arg; break;
    case OPT_LISTEN: c->listen = arg; break;
    case OPT_WINDOW: c->window = parse_seconds("window", arg, 1, 3600); break;
    case OPT_RETAIN: c->retain = parse_seconds("retain", arg, 0, 7 * 86400); break;
    case OPT_RETAIN_MAX: c->retain_max = parse_count("retain-max", arg, 0, 1000000); break;
    case OPT_BUDGETS: c->budgets_path = arg; break;
    case OPT_HISTORY: c->history_mb = parse_count("history-mb", arg, 0, 1u << 20); break;
    case OPT_SLOWEST: c->slowest = parse_count("slowest", arg, 0, SLOW_K_MAX); break;
    case OPT_DUMPDIR: c->dump_dir = arg; break;
    case OPT_THREADS: c->threads = parse_count("threads", arg, 1, DRAIN_THREADS_MAX); break;
    case OPT_DAEMON: c->daemonize = 1; break;
    case OPT_PIDFILE: c->pidfile = arg; break;
    case OPT_LOGFILE: c->log_file = arg; break;
    case OPT_STATE: c->state = arg; break;
    case 'v': c->verbose++; break;
    default: return -1;
    }
    return 0;
}

static void parse_options(int argc, char **argv)
{
    struct qpd_config *c = &qpd.cfg;
    /* The defaults are the table's, where they are numbers (the others
     * are what an unset option means). */
    for (size_t i = 0; i < sizeof opt_defs / sizeof *opt_defs; i++)
        if (opt_defs[i].def && isdigit((unsigned char)opt_defs[i].def[0]))
            set_option(c, opt_defs[i].key, opt_defs[i].def);
    c->threads = default_threads();
    int ch, bad = 0;
    while ((ch = qp_opts_next(&prog, argc, argv)) != -1) {
        switch (ch) {
        case 'h': qp_opts_help(&prog, stdout); exit(0);
        case OPT_VERSION: printf("qpulsed (qpulse) %s\n", PACKAGE_VERSION); exit(0);
        default:
            if (set_option(c, ch, optarg) < 0)
                bad = 1;   /* reported */
            break;
        }
    }
    if (qp_opts_no_args(&prog, argc, argv) < 0)
        bad = 1;
    if (qp_opts_ns(&prog, &c->ns) < 0)
        bad = 1;
    if (c->listen) {
        char err[256];
        if (prom_check_listen(c->listen, err, sizeof err) < 0)
            cfg_error("--listen %s: %s", c->listen, err);
    }
    if (c->budgets_path) {
        char *errs = NULL;
        if (qp_budgets_load(c->budgets_path, &qpd.budgets, &errs) < 0) {
            /* each already "FILE:LINE:COL: ..." */
            size_t n = errs ? strlen(errs) : 0;
            while (n && errs[n - 1] == '\n')
                errs[--n] = 0;
            cfg_error("%s", errs && *errs ? errs : "--budgets: cannot load the file");
        }
        free(errs);
    }
    if (c->dump_dir) {
        struct stat st;
        if (stat(c->dump_dir, &st) < 0 || !S_ISDIR(st.st_mode))
            cfg_error("--dump-dir %s: not a directory", c->dump_dir);
        else if (access(c->dump_dir, W_OK | X_OK) < 0)
            cfg_error("--dump-dir %s: not writable", c->dump_dir);
        else if (!c->history_mb)
            cfg_error("--dump-dir needs the flight recorder (--history-mb above 0)");
        else {
            char *abs = realpath(c->dump_dir, NULL);   /* --daemon changes to / */
            if (abs)
                c->dump_dir = abs;
        }
    }
    if (cfg_errlen || bad) {
        for (char *line = strtok(cfg_errors, "\n"); line; line = strtok(NULL, "\n"))
            fprintf(stderr, "qpulsed: %s\n", line);
        qp_opts_try(&prog);
        exit(2);
    }
    agg_window_s = c->window;
    agg_slots = c->window + 1;
    slow_k = c->slowest;
    log_level = LOG_LVL_NOTICE + c->verbose;
    if (log_level > LOG_LVL_DEBUG)
        log_level = LOG_LVL_DEBUG;
}

/* ---------------------------------------------------------------------- */
/* Start-up pieces                                                         */
/* ---------------------------------------------------------------------- */

static int lock_fd = -1;        /* the daemon record, flock'ed */
static int pidfile_fd = -1;
static char pid_path[PATH_MAX + 64];
static char state_default[PATH_MAX + 64];
static char daemon_shm[128];
static int ready_fd = -1;   /* --daemon: tells the waiting parent we are up */

static void lock_release(void)
{
    if (lock_fd < 0)
        return;
    shm_unlink(daemon_shm);   /* ours: we hold its lock */
    close(lock_fd);
    lock_fd = -1;
}

/* One daemon per namespace on the host: an exclusive flock on the
 * namespace's daemon record /dev/shm/qpulse.<ns>.daemon, next to the
 * segments it serves, so that two daemons with different runtime
 * directories (or users) still exclude each other.  The record is unlinked
 * by its owner at exit while it still holds the lock, so a lock taken on an
 * object that is no longer (or not the one) under the name is retried.
 * So is a lock whose daemon is gone: a writer child it forked shares the
 * locked file until the child has closed its descriptors or died with its
 * parent (a moment; seconds under valgrind), and a restart right after a
 * SIGKILL must not be refused for it. */
#define LOCK_ORPHAN_WAIT_MS 10000
static void take_lock(void)
{
    if (qp_daemon_shm_name(daemon_shm, sizeof daemon_shm, qpd.cfg.ns) < 0)
        fatalx("namespace name too long");
    char path[160];
    snprintf(path, sizeof path, "/dev/shm%s", daemon_shm);
    int orphan_ms = 0;
    for (int tries = 0; tries < 20; tries++) {
        lock_fd = shm_open(daemon_shm, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock_fd < 0) {
            struct stat ps;
            if (errno == EACCES && stat(path, &ps) == 0)
                fatalx("another user's qpulsed (uid %lu) already serves namespace '%s' "
                       "(lock %s); its clients reach it through the system socket",
                       (unsigned long)ps.st_uid, qpd.cfg.ns, path);
            fatal("cannot open the namespace lock %s", path);
        }
        if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
            struct qp_daemon_rec rec;
            memset(&rec, 0, sizeof rec);
            ssize_t n = pread(lock_fd, &rec, sizeof rec, 0);
            int known = n == (ssize_t)sizeof rec && rec.magic == QP_DAEMON_MAGIC && rec.pid > 0;
            int gone = known && !qp_proc_alive(rec.pid, rec.start_time);
            if (gone && orphan_ms < LOCK_ORPHAN_WAIT_MS) {
                close(lock_fd);
                lock_fd = -1;
                struct timespec ts = { 0, 50 * 1000000L };
                nanosleep(&ts, NULL);
                orphan_ms += 50;
                tries--;   /* not the unlink race */
                continue;
            }
            if (gone)
                fatalx("the namespace lock %s is still held, %d s after its qpulsed (pid %ld) "
                       "exited, by a process that daemon started; start again once it has "
                       "exited", path, LOCK_ORPHAN_WAIT_MS / 1000, (long)rec.pid);
            if (known)
                fatalx("another qpulsed (pid %ld) already serves namespace '%s' (lock %s)",
                       (long)rec.pid, qpd.cfg.ns, path);
            fatalx("another qpulsed already serves namespace '%s' (lock %s)", qpd.cfg.ns,
                   path);
        }
        struct stat a, b;
        if (fstat(lock_fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            atexit(lock_release);   /* a start-up failure leaves nothing */
            return;
        }
        close(lock_fd);   /* its owner removed it as we opened it: again */
        lock_fd = -1;
    }
    fatalx("cannot take the namespace lock %s", path);
}

/* <runtime dir>/<ns>.pid: for scripts; the lock is the daemon record. */
static void open_pidfile(void)
{
    char dir[PATH_MAX];
    int r = qp_runtime_dir(dir, sizeof dir, 1);
    if (r < 0) {
        errno = -r;
        fatal("runtime directory %s", dir);
    }
    snprintf(pid_path, sizeof pid_path, "%s/%s.pid", dir, qpd.cfg.ns);
    if (!qpd.cfg.state) {
        snprintf(state_default, sizeof state_default, "%s/%s.state", dir, qpd.cfg.ns);
        qpd.state_path = state_default;
    } else if (strcmp(qpd.cfg.state, "none") && *qpd.cfg.state) {
        qpd.state_path = qpd.cfg.state;
    }
    pidfile_fd = open(pid_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (pidfile_fd < 0)
        fatal("cannot open %s", pid_path);
}

static void write_pid(int fd, const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        log_warn("cannot write pid file %s: %s", path, strerror(errno));
}

static void write_pidfiles(void)
{
    write_pid(pidfile_fd, pid_path);
    if (qpd.cfg.pidfile) {
        int fd = open(qpd.cfg.pidfile, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            fatal("cannot write --pidfile %s", qpd.cfg.pidfile);
        write_pid(fd, qpd.cfg.pidfile);
        close(fd);
    }
}

/* --daemon: fork twice, new session; the first parent waits until the
 * daemon is ready (or failed) and exits with its status. */
static void daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        fatal("pipe");
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid > 0) {
        close(p[1]);
        char ok = 0;
        ssize_t n = read(p[0], &ok, 1);
        _exit(n == 1 && ok == 1 ? 0 : 1);
    }
    close(p[0]);
    if (setsid() < 0)
        fatal("setsid");
    pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid > 0)
        _exit(0);
    ready_fd = p[1];
    if (chdir("/") < 0)
        fatal("chdir /");
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);   /* logs go to the file or syslog from here on */
        if (fd > 2)
            close(fd);
    }
}

/* The presence record that tells producers a daemon will drain them
 * (written into the locked object, after --daemon's forks). */
static void daemon_rec_create(void)
{
    struct qp_daemon_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.pid = getpid();
    rec.start_time = qp_proc_starttime(getpid());
    uint64_t magic = QP_DAEMON_MAGIC;
    /* Fields first, the magic last (a producer reads the whole record and
     * trusts it only with the magic). */
    if (fchmod(lock_fd, 0600) < 0 || ftruncate(lock_fd, sizeof rec) < 0 ||
        pwrite(lock_fd, &rec, sizeof rec, 0) != (ssize_t)sizeof rec ||
        pwrite(lock_fd, &magic, sizeof magic, 0) != (ssize_t)sizeof magic)
        fatal("cannot write %s", daemon_shm);
}

/* At shutdown: producers must no longer leave their segments for us. */
static void daemon_rec_withdraw(void)
{
    uint64_t zero = 0;
    if (pwrite(lock_fd, &zero, sizeof zero, 0) != (ssize_t)sizeof zero)
        log_warn("cannot clear %s: %s", daemon_shm, strerror(errno));
}

static int signals_init(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        fatal("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        fatal("signalfd");
    return fd;
}

/* Returns 1 when asked to quit. */
static int signals_read(int fd)
{
    struct signalfd_siginfo si;
    int quit = 0;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            int r = log_reopen();
            if (r < 0)
                log_err("cannot reopen the log file: %s", strerror(-r));
            else
                log_notice("SIGHUP: log reopened");
        } else {
            log_notice("%s from pid %u: draining and exiting",
                       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", si.ssi_pid);
            quit = 1;
        }
    }
    return quit;
}

/* ---------------------------------------------------------------------- */
/* The loop                                                                */
/* ---------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Advances an absolute deadline by interval; after a stall it restarts from
 * now rather than firing a burst of catch-up ticks. */
static void advance(int64_t *deadline, int64_t interval, int64_t now)
{
    *deadline += interval;
    if (*deadline <= now)
        *deadline = now + interval;
}

static void run_loop(int sig_fd)
{
    int64_t now = mono_ns();
    int64_t next_drain = now + DRAIN_INTERVAL;
    int64_t next_rescan = now + RESCAN_INTERVAL;
    int64_t next_sec = (now / NS_PER_S + 1) * NS_PER_S;
    int64_t fast_until = 0;
    struct pollfd pfd[MAX_POLLFDS];
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){ sig_fd, POLLIN, 0 };
        int ino = procs_inotify_fd();
        if (ino >= 0)
            pfd[n++] = (struct pollfd){ ino, POLLIN, 0 };
        int srv0 = n;
        n += server_pollfds(pfd + n, MAX_POLLFDS - n);
        int64_t wake = min64(min64(next_drain, next_rescan), min64(next_sec, server_next_deadline()));
        wake = min64(wake, procs_pending_due());
        now = mono_ns();
        int64_t wait = wake > now ? wake - now : 0;
        struct timespec ts = { (time_t)(wait / NS_PER_S), (long)(wait % NS_PER_S) };
        int r = ppoll(pfd, (nfds_t)n, &ts, NULL);
        if (r < 0 && errno != EINTR) {
            log_err("poll: %s", strerror(errno));
            continue;
        }
        pthread_mutex_lock(&qpd.lock);
        int quit = r > 0 && pfd[0].revents && signals_read(sig_fd);
        if (r > 0 && ino >= 0 && pfd[1].revents)
            procs_inotify_read();
        if (r > 0)
            server_handle(pfd + srv0, n - srv0);
        now = mono_ns();
        /* A segment still being set up: attaching it sets drain_now. */
        if (now >= procs_pending_due())
            procs_retry_pending();
        if (now >= next_drain || qpd.drain_now) {
            qpd.drain_now = 0;
            double fill = procs_drain_all();
            procs_retry_pending();
            now = mono_ns();
            if (fill > FAST_FILL)
                fast_until = now + FAST_HOLD;
            /* Idle (nothing attached, nothing pending) the loop wakes only
             * for the rescan and the second tick; attaching a segment sets
             * drain_now, so a fast producer is drained at once. */
            int64_t iv = now < fast_until      ? DRAIN_INTERVAL_FAST
                         : qpd.nopen || procs_pending() ? DRAIN_INTERVAL
                                                        : DRAIN_INTERVAL_IDLE;
            advance(&next_drain, iv, now);
            if (next_drain > now + iv)
                next_drain = now + iv;
        }
        if (now >= next_rescan) {
            procs_rescan();
            advance(&next_rescan, RESCAN_INTERVAL, now);
        }
        if (now >= next_sec) {
            procs_tick_second();
            restart_tick(now);
            bg_reap();
            advance(&next_sec, NS_PER_S, now);
        }
        server_expire();
        pthread_mutex_unlock(&qpd.lock);
        if (quit)
            return;
    }
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    qpd.system = geteuid() == 0;
    qpd.view_uid = (uid_t)-1;
    /* Refusals (namespace taken, bad log file) go to the terminal; after
     * that the log goes where it was told to. */
    take_lock();
    open_pidfile();
    if (log_open(qpd.cfg.log_file, qpd.cfg.daemonize) < 0)
        fatal("cannot open log file %s", qpd.cfg.log_file);
    if (qpd.cfg.daemonize)
        daemonize();
    qpd.start_mono = mono_ns();
    if (history_init_lanes(qpd.cfg.history_mb, qpd.cfg.threads) < 0)
        fatalx("--history-mb %u: cannot reserve the memory", qpd.cfg.history_mb);
    write_pidfiles();
    int sig_fd = signals_init();
    if (procs_init() < 0)
        fatalx("namespace name too long");
    if (drain_start(qpd.cfg.threads) < 0)
        fatalx("--threads %u: cannot start the drain threads", qpd.cfg.threads);
    if (server_init() < 0)
        fatalx("cannot serve clients; exiting");
    if (qpd.cfg.listen) {
        char err[256];
        if (prom_start(qpd.cfg.listen, err, sizeof err) < 0)
            fatalx("--listen %s: %s", qpd.cfg.listen, err);
    }
    /* The record first: a producer exiting from now on leaves its segment
     * for us; then adopt what is there already. */
    daemon_rec_create();
    pthread_mutex_lock(&qpd.lock);
    restart_load();
    procs_rescan();
    restart_settle();
    if (restart_save() < 0 && qpd.cfg.state)
        fatalx("--state %s: cannot write the state file", qpd.cfg.state);
    pthread_mutex_unlock(&qpd.lock);
    log_notice("qpulsed %s ready: namespace '%s'%s, window %us, retain %us, history %u MiB, "
               "slowest %u%s%s%s%s%s%s",
               PACKAGE_VERSION, qpd.cfg.ns, qpd.system ? " (system mode: every user)" : "",
               qpd.cfg.window, qpd.cfg.retain, qpd.cfg.history_mb,
               qpd.cfg.slowest, qpd.cfg.dump_dir ? ", dumps to " : "",
               qpd.cfg.dump_dir ? qpd.cfg.dump_dir : "",
               qpd.cfg.listen ? ", metrics on " : "", qpd.cfg.listen ? qpd.cfg.listen : "",
               qpd.budgets ? ", budgets " : "", qpd.budgets ? qpd.cfg.budgets_path : "");
    if (ready_fd >= 0) {
        char ok = 1;
        if (write(ready_fd, &ok, 1) != 1)
            log_warn("cannot tell the parent we are ready");
        close(ready_fd);
    }

    run_loop(sig_fd);

    pthread_mutex_lock(&qpd.lock);
    daemon_rec_withdraw();
    procs_shutdown();
    if (qpd.state_path && restart_save() == 0)
        log_notice("statistics saved to %s", qpd.state_path);
    pthread_mutex_unlock(&qpd.lock);
    prom_stop();
    server_fini();
    bg_finish(10ll * NS_PER_S);   /* traces and dumps being written */
    drain_stop();
    procs_fini();
    history_fini();
    qp_budgets_free(qpd.budgets);
    if (qpd.cfg.pidfile)
        unlink(qpd.cfg.pidfile);
    unlink(pid_path);
    close(pidfile_fd);
    /* Last: the next daemon may start once the name is gone or unlocked. */
    lock_release();
    log_notice("exited cleanly after %llu samples", (unsigned long long)qpd.aggregated);
    return 0;
}
