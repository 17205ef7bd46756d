/*
 * priv_prod.c — a program that drops privileges the way servers do, for
 * tests/privs-drop.sh.  Run as root under `qpulse run --hooks io`; its
 * write(2) calls to /dev/null are what gets counted.
 *
 *   priv_prod N UID GID
 *
 *   1. N writes as root (the first creates the segment, owned by root);
 *   2. seteuid(UID), N writes, seteuid(0): a temporary drop;
 *   3. clearenv() (as nginx does before its workers record), setgroups,
 *      setgid(GID), setuid(UID): a permanent drop; N writes;
 *   4. fork: the child writes N times, prints "child=PID" and waits for
 *      SIGUSR1 to exit; the parent waits for it and prints "done".
 * After each step the parent prints the owner of its segment ("owner1=0"
 * ...), found by the namespace it was started in.  Exit status 0, or 1 when a call failed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char prefix[128];

static void on_usr1(int sig)
{
    (void)sig;
    _exit(0);
}

static void writes(int fd, long n)
{
    for (long i = 0; i < n; i++)
        if (write(fd, "x", 1) != 1)
            exit(1);
}

/* The uid that owns this process's segment, -1 if there is none. */
static long seg_owner(void)
{
    char want[160];
    snprintf(want, sizeof want, "%s%ld.", prefix, (long)getpid());
    DIR *d = opendir("/dev/shm");
    long owner = -1;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, want, strlen(want)) != 0)
            continue;
        char path[512];
        struct stat sb;
        snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
        if (stat(path, &sb) == 0)
            owner = (long)sb.st_uid;
    }
    if (d)
        closedir(d);
    return owner;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return tu_usage("priv_prod N UID GID");
    long n = atol(argv[1]);
    uid_t uid = (uid_t)atol(argv[2]);
    gid_t gid = (gid_t)atol(argv[3]);
    const char *ns = getenv("QPULSE_NS");
    snprintf(prefix, sizeof prefix, "qpulse.%s.", ns ? ns : "default");
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);

    writes(fd, n);
    printf("owner1=%ld\n", seg_owner());

    if (seteuid(uid) < 0)
        return 1;
    writes(fd, n);
    printf("owner2=%ld\n", seg_owner());
    if (seteuid(0) < 0)
        return 1;
    printf("owner3=%ld\n", seg_owner());

    clearenv();
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return 1;
    writes(fd, n);
    printf("owner4=%ld\n", seg_owner());

    pid_t c = fork();
    if (c < 0)
        return 1;
    if (c == 0) {
        /* Until SIGUSR1: a root qpulsed trusts a segment of another user
         * only while its process runs (the test waits for its count). */
        signal(SIGUSR1, on_usr1);
        writes(fd, n);
        printf("child=%ld\n", (long)getpid());
        for (;;)
            pause();
    }
    int st;
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    printf("done\n");
    return 0;
}
