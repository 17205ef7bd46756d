/*
 * init_gate.c — LD_PRELOAD into a producer for tests/daemon-slow-init.sh:
 * the first ftruncate(2) of a qpulse segment (between the segment's
 * creation and its header: the moment the daemon finds it empty) waits
 * until the file $QP_INIT_GATE exists, as a producer stopped (SIGSTOP, a
 * debugger, a starved machine) in the middle of its first sample would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int ftruncate(int fd, off_t len);
int ftruncate(int fd, off_t len)
{
    static int (*real)(int, off_t);
    static int gated;
    if (!real)
        real = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
    const char *gate = getenv("QP_INIT_GATE");
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    if (gate && !gated && strstr(target, "/dev/shm/qpulse.")) {
        gated = 1;
        struct timespec ts = { 0, 20 * 1000000 };
        while (access(gate, F_OK) != 0)
            nanosleep(&ts, NULL);
    }
    return real(fd, len);
}
