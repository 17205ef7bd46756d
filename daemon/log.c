/*
 * log.c — qpulsed's log sink (see log.h).  Called from the main loop and,
 * rarely, from the Prometheus thread: each line is formatted into a local
 * buffer and written with one write(2), so lines never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

int log_level = LOG_LVL_NOTICE;

static int log_fd = 2;
static int log_syslog;
static pid_t log_pid;   /* 0: getpid() */
static char *log_path;

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

static void log_vwrite(int level, const char *fmt, va_list ap)
{
    char line[1024];
    if (level < 0)
        level = 0;
    if (level > LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    if (log_syslog) {
        vsnprintf(line, sizeof line, fmt, ap);
        syslog(syslog_prio[level], "%s", line);
        return;
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t room = sizeof line - 1;   /* the newline's byte kept back */
    size_t n = strftime(line, room, "%Y-%m-%d %H:%M:%S", &tm);
    qp_appendf(line, room, &n, ".%03ld qpulsed[%ld] %s: ", ts.tv_nsec / 1000000,
               (long)(log_pid ? log_pid : getpid()), level_names[level]);
    qp_vappendf(line, room, &n, fmt, ap);
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;   /* nowhere to report a failing log */
}

int log_fileno(void)
{
    return log_syslog ? -1 : log_fd;
}

void log_as_pid(pid_t pid)
{
    log_pid = pid;
}

void log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

int log_open(const char *file, int use_syslog)
{
    if (use_syslog && !file) {
        openlog("qpulsed", LOG_PID, LOG_DAEMON);
        log_syslog = 1;
        return 0;
    }
    if (!file)
        return 0;
    free(log_path);
    log_path = strdup(file);
    if (!log_path)
        return -ENOMEM;
    return log_reopen();
}

int log_reopen(void)
{
    if (!log_path)
        return 0;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void fatal(const char *fmt, ...)
{
    char msg[512];
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(LOG_LVL_ERR, "%s: %s", msg, strerror(e));
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_LVL_ERR, fmt, ap);
    va_end(ap);
    exit(1);
}
