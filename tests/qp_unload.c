/*
 * qp_unload.c — helper of tests/safety.sh: libqpulse itself is unloaded.
 *
 * This program does not link libqpulse.  It loads a plugin that does
 * (dlopen, RTLD_LOCAL), has a thread of its own record through it (which
 * gives that thread a slot and the library's thread-exit destructor), then
 * unloads the plugin, and with it libqpulse, while the thread is still
 * alive.  When the thread exits afterwards nothing may call into the
 * unmapped library.  Exit 0 on success; a crash is the failure.
 *
 *   qp_unload PLUGIN.so
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void (*rec)(int);
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void *worker(void *arg)
{
    (void)arg;
    rec(3);
    pthread_mutex_lock(&mu);
    stage = 1;
    pthread_cond_broadcast(&cv);
    while (stage < 2)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;   /* thread exit: TLS destructors run now */
}

static void *idle(void *arg)
{
    return arg;
}

static int libqpulse_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "/libqpulse.so"))
            found = 1;
    if (f)
        fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return tu_usage("qp_unload PLUGIN.so");
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "qp_unload: %s\n", dlerror());
        return 1;
    }
    *(void **)&rec = dlsym(h, "plug_record");
    if (!rec || !libqpulse_mapped()) {
        fprintf(stderr, "qp_unload: plugin lacks plug_record, or libqpulse is not loaded\n");
        return 1;
    }
    rec(2);   /* the main thread records too */
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    pthread_mutex_lock(&mu);
    while (stage < 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);

    dlclose(h);
    if (libqpulse_mapped()) {
        fprintf(stderr, "qp_unload: libqpulse is still mapped after dlclose\n");
        return 1;
    }
    pthread_mutex_lock(&mu);
    stage = 2;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(th, NULL);
    /* More threads come and go after the unload. */
    for (int i = 0; i < 4; i++) {
        pthread_t t2;
        pthread_create(&t2, NULL, idle, NULL);
        pthread_join(t2, NULL);
    }
    printf("qp_unload: libqpulse unloaded, threads exited cleanly\n");
    return 0;
}
