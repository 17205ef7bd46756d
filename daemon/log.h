/*
 * log.h — qpulsed's log: one line per event on stderr (or a file, or
 * syslog with --daemon), with a timestamp and a level.  The macros test the
 * level before anything is formatted, so a disabled debug line costs one
 * compare.
 */
#ifndef QPULSED_LOG_H
#define QPULSED_LOG_H

#include <sys/types.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level;

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The descriptor the log writes to (-1: syslog). */
int log_fileno(void);
/* A forked writer (bg.c) logs under the daemon's pid. */
void log_as_pid(pid_t pid);
/* Logs to file (NULL: stderr) or, with use_syslog, to syslog. 0 or -errno. */
int log_open(const char *file, int use_syslog);
/* SIGHUP: reopen the log file (log rotation).  0 or -errno. */
int log_reopen(void);
/* Start-up failures: log and exit(1).  fatal() appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define LOG_AT(lvl, ...)                                                       \
    do {                                                                       \
        if ((lvl) <= log_level)                                                \
            log_write((lvl), __VA_ARGS__);                                     \
    } while (0)
#define log_err(...) LOG_AT(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) LOG_AT(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* QPULSED_LOG_H */
