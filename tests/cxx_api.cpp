/*
 * cxx_api.cpp — qpulse.h as a C++ header (tests/cxx-compile.sh builds it
 * with g++ and clang++ under -std=c++11/14/17/20, -Wall -Wextra -Werror,
 * and runs each build).  Every form works as in C: QPULSE_PROFILE on any
 * expression (move-only results, references, void, top-level commas), a
 * scope left by an exception is recorded once with its nesting intact, and
 * the RAII timer records once.  What the library wrote is checked through
 * the segment reader.  Exit 0 on success.
 */
#include <qpulse.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

extern "C" {
#include "common.h"
#include "reader.h"
}
#include "testutil.h"

#define CX_OPS(X)                                     \
    X(Make, "cx", "returns a move-only value", 1)     \
    X(Ref, "cx", "returns a reference", 1)            \
    X(Void, "cx", "returns nothing", 1)               \
    X(Pair, "cx", "an expression with a comma", 1)    \
    X(Outer, "cx", "catches", 1)                      \
    X(Thrower, "cx", "left by an exception", 1)       \
    X(After, "cx", "after the catch", 1)              \
    X(Timed, "cx", "an RAII timer", 1)                \
    X(Sampled, "cx", "sampled with n = 0", 1)

QPULSE_DECLARE_SET(cx, CX_OPS)
QPULSE_DEFINE_SET(cx, CX_OPS)

static int failures;
#define CHECK(cond, ...) TU_CHECK(failures, "cxx_api", cond, __VA_ARGS__)

static std::unique_ptr<int> make(int v)
{
    return std::unique_ptr<int>(new int(v));
}

static int side;
static void nothing()
{
    side++;
}

static void thrower()
{
    QPULSE_SCOPE(cx, Thrower);
    throw std::runtime_error("out");
}

static void with_exception()
{
    QPULSE_SCOPE(cx, Outer);
    try {
        thrower();
    } catch (const std::exception &) {
        QPULSE_SCOPE(cx, After);
    }
}

struct Ev {
    std::vector<qp_event_t> v;
};

static void collect(void *ctx, const qp_event_t *ev, size_t n)
{
    static_cast<Ev *>(ctx)->v.insert(static_cast<Ev *>(ctx)->v.end(), ev, ev + n);
}

int main()
{
    char ns[64];
    std::snprintf(ns, sizeof ns, "t-cxx-%ld", static_cast<long>(getpid()));
    setenv("QPULSE_NS", ns, 1);

    std::unique_ptr<int> p = QPULSE_PROFILE(cx, Make, make(5));
    CHECK(p && *p == 5, "move-only result");
    std::vector<int> vec(3, 0);
    int &r = QPULSE_PROFILE(cx, Ref, vec[1]);
    r = 7;
    CHECK(vec[1] == 7, "a reference stays a reference");
    QPULSE_PROFILE(cx, Void, nothing());
    CHECK(side == 1, "void expression evaluated once");
    std::pair<int, int> pr = QPULSE_PROFILE(cx, Pair, std::pair<int, int>(1, 2));
    CHECK(pr.second == 2, "top-level comma");
    with_exception();
    {
        qpulse::timer t = QPULSE_TIMER(cx, Timed);
        t.pause();
        t.resume();
        qpulse::timer moved(std::move(t));
        CHECK(!t.running() && moved.running(), "a moved timer runs in its new home");
    }
    for (int i = 0; i < 5; i++) {
        QPULSE_SAMPLED_SCOPE(cx, Sampled, 0);
    }
    CHECK(qpulse::enabled(), "recording is on");

    char name[128], err[256] = "";
    qp_seg_name(name, sizeof name, ns, getpid(), qp_proc_starttime(getpid()), 0);
    qp_reader_t *rd = nullptr;
    if (qp_reader_open(&rd, name, QP_READER_CONSUME, err, sizeof err) < 0) {
        std::fprintf(stderr, "cxx_api: cannot open own segment: %s\n", err);
        return 1;
    }
    Ev ev;
    qp_reader_drain(rd, collect, &ev, SIZE_MAX);
    int count[16] = { 0 };
    uint32_t parent[16] = { 0 };
    std::string names[16];
    for (const qp_event_t &e : ev.v) {
        const qp_op_info_t *o = qp_reader_op(rd, e.op);
        if (!o || e.op >= 16)
            continue;
        names[e.op] = o->name;
        count[e.op]++;
        parent[e.op] = e.parent;
    }
    auto idx = [&](const char *n) {
        for (int i = 0; i < 16; i++)
            if (names[i] == n)
                return i;
        return -1;
    };
    int outer = idx("Outer");
    const char *once[] = { "Make", "Ref", "Void", "Pair", "Outer", "Thrower", "After", "Timed" };
    for (const char *n : once) {
        int i = idx(n);
        CHECK(i >= 0 && count[i] == 1, "%s recorded %d times, want once", n, i >= 0 ? count[i] : 0);
    }
    CHECK(idx("Sampled") >= 0 && count[idx("Sampled")] == 5, "sampled with n = 0 records every call");
    CHECK(outer >= 0 && idx("Thrower") >= 0 && parent[idx("Thrower")] == (uint32_t)outer + 1,
          "the scope left by the exception nests in Outer");
    CHECK(outer >= 0 && idx("After") >= 0 && parent[idx("After")] == (uint32_t)outer + 1,
          "the scope after the catch nests in Outer");
    CHECK(outer >= 0 && parent[outer] == 0, "Outer has no parent");
    CHECK(qpulse__tls.top == nullptr && qpulse__tls.top_op == 0, "the scope stack is empty");
    qp_reader_close(rd);
    qpulse_shutdown();
    if (failures)
        return 1;
    std::printf("cxx_api: all checks passed\n");
    return 0;
}
