/*
 * bench_drain.c — qpulsed's throughput, measured on the real daemon:
 *
 *  1. drain rate: THREADS producer threads (this process) each record
 *     SAMPLES samples into 1 Mi-record rings as fast as they can, ROUNDS
 *     times; the daemon's CPU time (/proc/<pid>/schedstat) per sample
 *     aggregated gives samples per second on one core.  Target >= 20 M/s.
 *  2. drops at 5 M samples/s: one producer (a child, default ring size)
 *     records at 5 M/s, paced, for SECONDS; the drops are its own count.
 *     Target 0.
 *
 *   bench_drain [-d QPULSED] [-t THREADS] [-n SAMPLES] [-r ROUNDS] [-s SECONDS]
 *
 * Prints the figures and their ratio to the targets.  Not part of make check
 * (it measures speed); run it on an otherwise idle machine.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "qpulse.h"
#include "snapshot.h"

#define BENCH_OPS(X)                                      \
    X(A, "bench", "first op", 1) X(B, "bench", "second op", 1) \
    X(C, "bench", "third op", 1) X(D, "bench", "fourth op", 1)
QPULSE_DECLARE_SET(bench, BENCH_OPS)
QPULSE_DEFINE_SET(bench, BENCH_OPS)

static const char *ns;
static unsigned long samples = 1000000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of pid in seconds (scheduler's nanosecond account). */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns_run = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns_run) != 1)
            ns_run = 0;
        fclose(f);
    }
    return (double)ns_run / 1e9;
}

/* Samples the daemon aggregated for process pid (cumulative), or -1. */
static long long aggregated(pid_t pid, unsigned long long *dropped)
{
    char *out = NULL;
    size_t len;
    if (qp_client_request(ns, "SNAPSHOT cumulative", &out, &len, 10000) < 0)
        return -1;
    char err[128];
    qp_snapshot_t *s = qp_snapshot_parse(out, len, err, sizeof err);
    free(out);
    if (!s)
        return -1;
    long long n = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        if (s->procs[i].pid != pid)
            continue;
        for (size_t j = 0; j < s->procs[i].nops; j++)
            n += (long long)s->procs[i].ops[j].count;
        if (dropped)
            *dropped = s->procs[i].dropped;
    }
    qp_snapshot_free(s);
    return n;
}

static void *producer(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t x = 1000 + id;
    for (unsigned long i = 0; i < samples; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = 200 + ((x >> 33) & 0xffff);   /* 200 ns .. 65 us */
        switch (i & 3) {
        case 0: QPULSE_RECORD(bench, A, v); break;
        case 1: QPULSE_RECORD(bench, B, v); break;
        case 2: QPULSE_RECORD(bench, C, v); break;
        default: QPULSE_RECORD(bench, D, v); break;
        }
    }
    return NULL;
}

static pid_t start_daemon(const char *path, const char *rundir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, "--ns", ns, (char *)NULL);
        perror(path);
        _exit(127);
    }
    char *out = NULL;
    size_t len;
    for (int i = 0; i < 200; i++) {
        if (qp_client_request(ns, "PING", &out, &len, 1000) == 0) {
            free(out);
            return pid;
        }
        usleep(20000);
    }
    fprintf(stderr, "bench_drain: %s did not start (runtime dir %s)\n", path, rundir);
    kill(pid, SIGKILL);
    exit(1);
}

/* Phase 2, in a child with the default ring size: 5 M samples/s, paced. */
static int paced_child(double rate, double secs)
{
    unsetenv("QPULSE_RING_RECORDS");
    double t0 = now_s();
    unsigned long n = 0;
    uint64_t total = (uint64_t)(rate * secs);
    while (n < total) {
        for (int k = 0; k < 256; k++, n++)
            QPULSE_RECORD(bench, A, 1000 + (n & 1023));
        double due = t0 + (double)n / rate;
        while (now_s() < due)
            ;   /* spin: sleeping would burst */
    }
    double el = now_s() - t0;
    printf("  producer: %lu samples in %.2f s = %.2f M/s, recorded %llu, dropped %llu\n", n, el,
           (double)n / el / 1e6, (unsigned long long)qpulse_recorded(),
           (unsigned long long)qpulse_dropped());
    fflush(stdout);
    return qpulse_dropped() ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *daemon_path = "daemon/qpulsed";
    unsigned threads = 4, rounds = 5;
    double secs = 3;
    int c;
    while ((c = getopt(argc, argv, "d:t:n:r:s:")) != -1) {
        switch (c) {
        case 'd': daemon_path = optarg; break;
        case 't': threads = (unsigned)atoi(optarg); break;
        case 'n': samples = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = (unsigned)atoi(optarg); break;
        case 's': secs = atof(optarg); break;
        default:
            fprintf(stderr, "usage: bench_drain [-d QPULSED] [-t THREADS] [-n SAMPLES] "
                            "[-r ROUNDS] [-s SECONDS]\n");
            return 2;
        }
    }
    const char *rundir;
    bench_own_ns("drain", &ns, &rundir);
    setenv("QPULSE_RING_RECORDS", "1048576", 1);
    char tmax[16];
    snprintf(tmax, sizeof tmax, "%u", threads + 2);
    setenv("QPULSE_THREADS", tmax, 1);
    pid_t dpid = start_daemon(daemon_path, rundir);

    /* 1. drain rate */
    printf("qpulsed drain benchmark: %u producer threads x %lu samples x %u rounds\n", threads,
           samples, rounds);
    double cpu0 = cpu_s(dpid), w0 = now_s();
    long long want = 0, got = 0;
    for (unsigned r = 0; r < rounds; r++) {
        pthread_t t[64];
        for (unsigned i = 0; i < threads && i < 64; i++)
            pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)i);
        for (unsigned i = 0; i < threads && i < 64; i++)
            pthread_join(t[i], NULL);
        want += (long long)threads * (long long)samples;
        for (int k = 0; k < 1000 && (got = aggregated(getpid(), NULL)) < want; k++)
            usleep(5000);
    }
    double cpu = cpu_s(dpid) - cpu0, wall = now_s() - w0;
    unsigned long long dropped = qpulse_dropped();
    double rate = (double)got / cpu;
    printf("  aggregated %lld of %lld recorded (%llu dropped by the producer)\n", got,
           (long long)qpulse_recorded(), dropped);
    printf("  daemon CPU %.3f s over %.3f s wall: %.1f M samples/s on one core; "
           "ratio to the 20 M/s target: %.2f\n",
           cpu, wall, rate / 1e6, rate / 20e6);

    /* 2. drops at 5 M/s with the default ring */
    printf("one producer at 5 M samples/s for %.0f s, default settings:\n", secs);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(paced_child(5e6, secs));
    int st;
    waitpid(child, &st, 0);
    unsigned long long cd = 0;
    long long cgot = -1;
    for (int k = 0; k < 400; k++) {   /* until the daemon has it all */
        cgot = aggregated(child, &cd);
        if (cgot >= (long long)(5e6 * secs) - (long long)cd)
            break;
        usleep(10000);
    }
    printf("  daemon aggregated %lld, dropped %llu (target 0): %s\n", cgot, cd,
           cd == 0 ? "met" : "MISSED");

    /* 3. memory: the daemon's peak resident set against its flight
     * recorder's bound (qpulsed --history-mb, default 64 MiB) */
    char sp[64], line[256];
    long hwm_kb = -1, rss_kb = -1;
    snprintf(sp, sizeof sp, "/proc/%ld/status", (long)dpid);
    FILE *sf = fopen(sp, "r");
    while (sf && fgets(line, sizeof line, sf)) {
        sscanf(line, "VmHWM: %ld", &hwm_kb);
        sscanf(line, "VmRSS: %ld", &rss_kb);
    }
    if (sf)
        fclose(sf);
    printf("memory: daemon peak RSS %.1f MiB (now %.1f MiB); the flight recorder's bound is "
           "64 MiB unless -d names a daemon started with another --history-mb\n",
           (double)hwm_kb / 1024, (double)rss_kb / 1024);

    kill(dpid, SIGTERM);
    waitpid(dpid, &st, 0);
    char p[200];
    snprintf(p, sizeof p, "%s/%s.pid", rundir, ns);
    unlink(p);
    rmdir(rundir);
    return 0;
}
