/*
 * qp_safety.c — helper of tests/safety.sh: situations a profiler must
 * survive in a real program, each checked against what this process's own
 * segment says.  Exit 0 when the check holds, 1 (with a line on stderr)
 * when it does not.
 *
 *   qp_safety ctor            a sample taken in a constructor that runs before
 *                             any other (QP_CTOR=1 must be set) counts for
 *                             the right operation
 *   qp_safety plugins DIR     two plugins each define a set "net": their
 *                             operations never mix
 *   qp_safety dlclose DIR     a plugin that defines a set is loaded, used and
 *                             unloaded three times; then new sets and a
 *                             forked child still record
 *   qp_safety first           prints how long this fresh process's very first
 *                             sample took, in microseconds
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "qpulse.h"
#include "reader.h"
#include "testutil.h"

#define A_OPS(X) X(A0, "a", "first set, op 0", 1) X(A1, "a", "first set, op 1", 1)
#define B_OPS(X) X(B0, "b", "second set, op 0", 1) X(B1, "b", "second set, op 1", 1)
QPULSE_DECLARE_SET(aset, A_OPS)
QPULSE_DECLARE_SET(bset, B_OPS)
QPULSE_DEFINE_SET(aset, A_OPS)
QPULSE_DEFINE_SET(bset, B_OPS)

static int failed;

#define CHECK(cond, ...) TU_CHECK(failed, "qp_safety", cond, __VA_ARGS__)

/* Before every other constructor of the program (and so before those that
 * registered sets in earlier versions of the library). */
__attribute__((constructor(101))) static void early(void)
{
    if (getenv("QP_CTOR"))
        QPULSE_RECORD(bset, B1, 777);
}

typedef struct {
    size_t n;
    qp_event_t ev[4096];
} sink_t;

static void collect(void *ctx, const qp_event_t *ev, size_t n)
{
    sink_t *s = ctx;
    for (size_t i = 0; i < n && s->n < sizeof s->ev / sizeof s->ev[0]; i++)
        s->ev[s->n++] = ev[i];
}

static qp_reader_t *reader;
static sink_t sink;

static void drain_self(void)
{
    if (!reader) {
        char name[128], err[256] = "";
        qp_seg_name(name, sizeof name, qp_ns_from_env(), getpid(), qp_proc_starttime(getpid()), 0);
        if (qp_reader_open(&reader, name, QP_READER_CONSUME, err, sizeof err) < 0) {
            fprintf(stderr, "qp_safety: cannot open own segment %s: %s\n", name, err);
            exit(1);
        }
    }
    qp_reader_refresh(reader, NULL, 0);
    qp_reader_drain(reader, collect, &sink, SIZE_MAX);
}

/* How many drained samples of duration dur have (set, op) as their name. */
static int count(uint64_t dur, const char *set, const char *op, int *other)
{
    int n = 0;
    *other = 0;
    for (size_t i = 0; i < sink.n; i++) {
        if (sink.ev[i].dur_ns != dur)
            continue;
        const qp_op_info_t *o = qp_reader_op(reader, sink.ev[i].op);
        if (o && !strcmp(o->set, set) && !strcmp(o->name, op))
            n++;
        else
            ++*other;
    }
    return n;
}

static void *load(const char *dir, const char *name, int flags, void (**rec)(int),
                  void *(**setp)(void))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    void *h = dlopen(path, flags);
    if (!h) {
        fprintf(stderr, "qp_safety: dlopen %s: %s\n", path, dlerror());
        exit(1);
    }
    *(void **)rec = dlsym(h, "plug_record");
    *(void **)setp = dlsym(h, "plug_set");
    if (!*rec || !*setp) {
        fprintf(stderr, "qp_safety: %s lacks plug_record/plug_set\n", path);
        exit(1);
    }
    return h;
}

static int cmd_ctor(void)
{
    drain_self();
    int other, n = count(777, "bset", "B1", &other);
    CHECK(n == 1 && other == 0,
          "the sample taken before the constructors ran was filed wrongly "
          "(%d under bset.B1, %d elsewhere)", n, other);
    return failed;
}

static int cmd_plugins(const char *dir)
{
    void (*rec1)(int), (*rec2)(int);
    void *(*set1)(void), *(*set2)(void);
    void *h1 = load(dir, "plug_net1.so", RTLD_NOW | RTLD_GLOBAL, &rec1, &set1);
    void *h2 = load(dir, "plug_net2.so", RTLD_NOW | RTLD_GLOBAL, &rec2, &set2);
    CHECK(set1() != set2(), "the two libraries share one set object");
    rec1(3);
    rec2(4);
    rec1(2);
    drain_self();
    int o1, o2;
    int n1 = count(1001, "net", "Send1", &o1), n2 = count(2002, "net", "Other2", &o2);
    CHECK(n1 == 5 && o1 == 0, "plugin one's samples: %d under net.Send1, %d elsewhere", n1, o1);
    CHECK(n2 == 4 && o2 == 0, "plugin two's samples: %d under net.Other2, %d elsewhere", n2, o2);
    dlclose(h2);
    dlclose(h1);
    return failed;
}

static int cmd_dlclose(const char *dir)
{
    void *addr[3] = { 0 };
    for (int round = 0; round < 3; round++) {
        void (*rec)(int);
        void *(*setp)(void);
        void *h = load(dir, "plug_net1.so", RTLD_NOW | RTLD_LOCAL, &rec, &setp);
        addr[round] = setp();
        rec(2);
        if (dlclose(h) != 0) {
            fprintf(stderr, "qp_safety: dlclose: %s\n", dlerror());
            return 1;
        }
    }
    fprintf(stderr, "qp_safety: the set object was at %p, %p, %p\n", addr[0], addr[1], addr[2]);
    /* First samples of sets after the unloads. */
    QPULSE_RECORD(aset, A1, 3003);
    QPULSE_RECORD(bset, B0, 3004);
    /* A forked child makes a segment of its own from the parent's tables. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        QPULSE_RECORD(aset, A0, 3005);
        void (*rec)(int);
        void *(*setp)(void);
        void *h = load(dir, "plug_net1.so", RTLD_NOW | RTLD_LOCAL, &rec, &setp);
        rec(1);
        dlclose(h);
        qpulse_shutdown();
        _exit(qpulse_recorded() == 3 && qpulse_dropped() == 0 ? 0 : 3);
    }
    int st = 0;
    for (int i = 0; i < 1000 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        CHECK(0, "the forked child hangs");
    } else {
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the forked child failed (status %#x)", st);
    }
    drain_self();
    int o, n;
    n = count(1001, "net", "Send1", &o);
    CHECK(n == 6 && o == 0, "plugin samples: %d under net.Send1, %d elsewhere", n, o);
    n = count(3003, "aset", "A1", &o);
    CHECK(n == 1 && o == 0, "aset.A1 after the unloads: %d, %d elsewhere", n, o);
    n = count(3004, "bset", "B0", &o);
    CHECK(n == 1 && o == 0, "bset.B0 after the unloads: %d, %d elsewhere", n, o);
    CHECK(qpulse_dropped() == 0, "%llu samples dropped", (unsigned long long)qpulse_dropped());
    return failed;
}

static int cmd_first(void)
{
    double t0 = (double)tu_now_ns() / 1e3;
    {
        QPULSE_SCOPE(aset, A0);
    }
    double t = (double)tu_now_ns() / 1e3 - t0;
    printf("%.0f\n", t);
    return qpulse_recorded() == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "first"))
        return cmd_first();
    if (argc >= 2 && !strcmp(argv[1], "ctor"))
        return cmd_ctor();
    if (argc >= 3 && !strcmp(argv[1], "plugins"))
        return cmd_plugins(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "dlclose"))
        return cmd_dlclose(argv[2]);
    return tu_usage("qp_safety ctor | plugins DIR | dlclose DIR | first");
}
