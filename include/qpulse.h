/*
 * qpulse.h — the public API of qpulse, a microsecond-level latency profiler.
 *
 * An application names what it measures in an X-macro list of operations:
 *
 *   #define TRADING_OPS(X) \
 *       X(OrderValidation, "orders", "Validating incoming trading orders", 1) \
 *       X(PriceLookup,     "market", "Fetching current market prices",      2)
 *   QPULSE_DECLARE_SET(trading, TRADING_OPS)   // in a header
 *   QPULSE_DEFINE_SET(trading, TRADING_OPS)    // in exactly one .c file
 *
 * and times code with QPULSE_SCOPE(trading, OrderValidation); and friends.
 * The same header serves C (C99 and later, GNU extensions) and C++ (C++11
 * and later); in C++ the scope forms are RAII objects and the namespace
 * qpulse adds timer and scope classes (see the end of this file).
 *
 * Type safety: each set becomes a struct with one member per operation, and an
 * operation's index is offsetof(that struct, Name).  A misspelt name, or a name
 * of another set, is therefore "no member named ..." at compile time.
 *
 * A set's object is local to the program or shared library that defines it
 * (hidden visibility): two libraries may each define a set of the same name
 * and their operations never mix.  A set is entered into the process's
 * tables on its first sample (not by a constructor), so a sample taken
 * before any constructor ran, or by a library loaded and unloaded with
 * dlopen/dlclose, counts for the right operation.
 *
 * The hot path (scope begin/end) is inline in this header: two clock reads,
 * a few thread-local loads and stores, one 32-byte store into this thread's
 * ring and one release store of the ring's head.  No lock, no syscall, no
 * allocation once the thread has recorded its first sample.  It never reads
 * or writes another scope's memory, so a scope left by longjmp (or by an
 * exception through C code built without -fexceptions) corrupts nothing; a
 * stale innermost scope is recognised by its address (below the stack
 * pointer) and the thread's scope stack repairs itself.
 *
 * Build with -DQPULSE_DISABLE and every form compiles to nothing but still
 * evaluates the profiled code; such a program does not link against libqpulse.
 *
 * Requires GCC or Clang (cleanup attribute, statement expressions in C).
 */
#ifndef QPULSE_H
#define QPULSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QPULSE_VERSION_MAJOR 0
#define QPULSE_VERSION_MINOR 2

#if defined(QPULSE_BUILDING_LIBRARY)
#define QPULSE_API __attribute__((visibility("default")))
#else
#define QPULSE_API
#endif

#define QPULSE__CAT2(a, b) a##b
#define QPULSE__CAT(a, b) QPULSE__CAT2(a, b)
#define QPULSE__UNIQ(p) QPULSE__CAT(p, __COUNTER__)
#define QPULSE__LIKELY(x) __builtin_expect(!!(x), 1)
#define QPULSE__UNLIKELY(x) __builtin_expect(!!(x), 0)

#ifdef __cplusplus
#define QPULSE__STATIC_ASSERT(c, msg) static_assert(c, msg)
#else
#define QPULSE__STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#endif

/* ---------------------------------------------------------------------- */
/* Operation sets                                                          */
/* ---------------------------------------------------------------------- */

/* The description of one operation set; built by QPULSE_DEFINE_SET. */
typedef struct qpulse_set {
    uint32_t abi;                     /* QPULSE_SET_ABI */
    uint32_t nops;                    /* number of operations */
    const char *name;                 /* the set's name */
    const char *const *names;         /* nops operation names */
    const char *const *groups;        /* nops group names */
    const char *const *descriptions;  /* nops descriptions */
    const int *priorities;            /* nops priorities */
    uint32_t base;                    /* library-private: process-wide index
                                         of operation 0, plus 1; 0 until the
                                         set's first sample binds it */
    uint32_t state;                   /* library-private */
    void *reserved;                   /* zero */
} qpulse_set_t;

#define QPULSE_SET_ABI 2u

#define QPULSE__MEMBER(Name, group, desc, prio) char Name;
#define QPULSE__NAME(Name, group, desc, prio) #Name,
#define QPULSE__GROUP(Name, group, desc, prio) group,
#define QPULSE__DESC(Name, group, desc, prio) desc,
#define QPULSE__PRIO(Name, group, desc, prio) (prio),

/* The set object is hidden: local to the program or library that defines
 * it, shared by all of that library's files, never interposed by another
 * library's set of the same name. */
#define QPULSE__SET_VIS __attribute__((visibility("hidden")))

/* In a header, any number of times: makes (set, Name) known to the compiler. */
#define QPULSE_DECLARE_SET(set, LIST)                                        \
    struct qpulse_opsof_##set { LIST(QPULSE__MEMBER) };                      \
    extern QPULSE__SET_VIS qpulse_set_t qpulse_set_##set;

/* The index of operation Name in set; a compile error for any other name. */
#define QPULSE_OP(set, Name) ((uint32_t)offsetof(struct qpulse_opsof_##set, Name))

#ifndef QPULSE_DISABLE
/* In exactly one source file of a program or library, after
 * QPULSE_DECLARE_SET: the set's tables.  Nothing runs at load time. */
#define QPULSE_DEFINE_SET(set, LIST)                                         \
    static const char *const qpulse__names_##set[] = { LIST(QPULSE__NAME) }; \
    static const char *const qpulse__groups_##set[] = { LIST(QPULSE__GROUP) };\
    static const char *const qpulse__descs_##set[] = { LIST(QPULSE__DESC) }; \
    static const int qpulse__prios_##set[] = { LIST(QPULSE__PRIO) };         \
    QPULSE__STATIC_ASSERT(sizeof(qpulse__names_##set) / sizeof(char *) ==    \
                          sizeof(struct qpulse_opsof_##set),                 \
                          "QPULSE_DEFINE_SET(" #set ") and its DECLARE differ"); \
    QPULSE__SET_VIS qpulse_set_t qpulse_set_##set = {                        \
        QPULSE_SET_ABI,                                                      \
        (uint32_t)(sizeof(qpulse__names_##set) / sizeof(char *)),            \
        #set, qpulse__names_##set, qpulse__groups_##set,                     \
        qpulse__descs_##set, qpulse__prios_##set, 0, 0, 0 };
#else
#define QPULSE_DEFINE_SET(set, LIST)                                         \
    QPULSE__STATIC_ASSERT(sizeof(struct qpulse_opsof_##set) > 0, "qpulse set " #set);
#endif

/* ---------------------------------------------------------------------- */
/* Library entry points                                                    */
/* ---------------------------------------------------------------------- */

/* One open scope on the current thread.  Lives on the caller's stack.  It
 * saves the thread's scope state of its begin (enclosing scope, its op, the
 * running total of nested time) and puts it back at its end; nothing ever
 * writes into another scope, so a scope whose frame is gone (longjmp)
 * cannot be corrupted into, or corrupt, live memory. */
typedef struct qpulse_scope {
    uint64_t start;                 /* clock at begin */
    uint64_t acc0;                  /* thread's nested-time total at begin */
    struct qpulse_scope *prev;      /* enclosing scope (never dereferenced
                                       on the fast path) */
    uint32_t op;                    /* process-wide op index + 1; 0 = inactive */
    uint32_t parent;                /* enclosing scope's op + 1; 0 = none */
} qpulse_scope_t;

/* A manual timer; see qpulse_timer_*. */
typedef struct qpulse_timer {
    uint64_t start;        /* clock at start */
    uint64_t paused;       /* clock spent paused so far */
    uint64_t paused_at;    /* clock when paused, 0 while running */
    uint32_t op;           /* process-wide op index + 1; 0 = inactive */
    uint32_t parent;       /* enclosing scope's op + 1 at start, 0 = none */
} qpulse_timer_t;

/* One record in a thread's ring; the layout the daemon reads (lib/layout.h
 * re-exports it as struct qp_sample).  Times are raw clock ticks: the
 * reader converts them to nanoseconds. */
struct qpulse__sample {
    uint64_t start;        /* clock at start (ticks) */
    uint64_t dur;          /* duration (ticks, or ns when op has QPULSE__NS) */
    uint64_t self;         /* duration minus nested qpulse scopes */
    uint32_t op;           /* process-wide op index | QPULSE__NS */
    uint32_t parent;       /* enclosing scope's op index + 1; 0 = none */
};
#define QPULSE__NS 0x80000000u   /* dur/self are nanoseconds, not ticks */

/* Per-thread recording state.  limit is the head value at which the fast
 * path must stop and ask the library (ring not yet claimed: 0; ring full as
 * far as the cached consumer index tells; end of the reserved part of the
 * ring).  A push sets limit to 0 while it writes, so that a push nested in
 * it (a signal handler's) takes the slow path and is counted as dropped
 * instead of overwriting the record being written. */
struct qpulse__tls {
    struct qpulse__sample *ring;    /* this thread's record slots */
    uint64_t *head_pub;             /* shared head index (producer-owned line) */
    uint64_t head;                  /* local copy of the head */
    uint64_t limit;                 /* see above */
    uint64_t mask;                  /* ring records - 1 */
    qpulse_scope_t *top;            /* innermost open scope, or NULL */
    uint64_t acc;                   /* running total of ended scopes' time */
    uint32_t top_op;                /* top's op + 1; 0 = none */
    uint32_t slot;                  /* claimed slot index + 1; 0 = none */
    uint32_t state;                 /* library-private */
    uint32_t slot_gen;              /* library-private */
};

QPULSE_API extern __thread struct qpulse__tls qpulse__tls
    __attribute__((tls_model("initial-exec")));
/* Non-zero while recording is on (QPULSE_DISABLE=1 clears it at load). */
QPULSE_API extern int qpulse__enabled;
/* 1 when the clock is the invariant TSC, 0 when it is CLOCK_MONOTONIC. */
QPULSE_API extern int qpulse__use_tsc;
/* Non-zero while this thread runs the library's own slow paths (segment
 * creation, slot claim, set binding, shutdown, fork handlers).
 * libqpulse-preload passes every libc call made then straight through,
 * unrecorded, and a sample taken then (a signal handler's) is dropped and
 * counted: recording it would re-enter the library. */
QPULSE_API extern __thread unsigned qpulse__busy __attribute__((tls_model("initial-exec")));

/* Binds set on its first sample: the process-wide index of its operation 0,
 * plus 1, or 0 when the sample cannot be taken (counted as dropped). */
QPULSE_API uint32_t qpulse__bind(qpulse_set_t *set);
/* The innermost open scope was found below the stack pointer: repairs the
 * thread's scope state and returns the enclosing scope to use. */
QPULSE_API qpulse_scope_t *qpulse__stale_top(qpulse_scope_t *self, uintptr_t sp);
/* Binds set now when recording is on (optional: the first sample does it). */
QPULSE_API void qpulse_register_set(qpulse_set_t *set);
QPULSE_API uint64_t qpulse__now_slow(void);
QPULSE_API void qpulse__push_slow(const struct qpulse__sample *s, uint64_t limit);
QPULSE_API void qpulse__record_ns(qpulse_set_t *set, uint32_t op, uint64_t ns);

QPULSE_API qpulse_timer_t qpulse__timer_start(qpulse_set_t *set, uint32_t op);
QPULSE_API void qpulse_timer_pause(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_resume(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_stop(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_discard(qpulse_timer_t *t);

/* Is recording on in this process?  (QPULSE_DISABLE=1 turns it off.) */
QPULSE_API int qpulse_enabled(void);
/* Samples this process dropped so far (full rings, no free thread slot,
 * limits, samples a signal handler could not take). */
QPULSE_API uint64_t qpulse_dropped(void);
/* Samples this process recorded so far (written to a ring). */
QPULSE_API uint64_t qpulse_recorded(void);
/* Publish everything and, when no qpulsed is running, remove the segment.
 * Called automatically at exit; safe to call more than once. */
QPULSE_API void qpulse_shutdown(void);
/* The same, for an exit that skips the exit path (_exit(), _Exit(): the
 * preload library calls it first): never waits for the library's lock, so
 * it is safe in a signal handler and in a vfork() child; where it would
 * have to wait, it does nothing. */
QPULSE_API void qpulse__shutdown_now(void);

/* ---------------------------------------------------------------------- */
/* The fast path                                                           */
/* ---------------------------------------------------------------------- */

/* Records of one call in n; n <= 1 records every call. */
static inline __attribute__((always_inline)) int qpulse__take(uint32_t *cnt, long long n)
{
    if (n <= 1)
        return 1;
    if (++*cnt < (unsigned long long)n)
        return 0;
    *cnt = 0;
    return 1;
}

#ifndef QPULSE_DISABLE

static inline __attribute__((always_inline)) uint64_t qpulse__now(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (QPULSE__LIKELY(qpulse__use_tsc))
        return __builtin_ia32_rdtsc();
#endif
    return qpulse__now_slow();
}

/* AddressSanitizer's detect_stack_use_after_return moves locals off the
 * stack: no address check then. */
#if defined(__SANITIZE_ADDRESS__)
#define QPULSE__NO_SP_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QPULSE__NO_SP_CHECK 1
#endif
#endif

/* The stack pointer (every live scope of this thread lies at or above it),
 * or 1 where we cannot read it (no stale-scope check then). */
static inline __attribute__((always_inline)) uintptr_t qpulse__sp(void)
{
    uintptr_t sp;
#if defined(QPULSE__NO_SP_CHECK)
    sp = 1;
#elif defined(__x86_64__)
    __asm__("movq %%rsp, %0" : "=r"(sp));
#elif defined(__i386__)
    __asm__("movl %%esp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__("mov %0, sp" : "=r"(sp));
#else
    sp = 1;
#endif
    return sp;
}

static inline __attribute__((always_inline)) void
qpulse__push(uint32_t op, uint32_t parent, uint64_t start, uint64_t dur, uint64_t self)
{
    struct qpulse__tls *t = &qpulse__tls;
    uint64_t lim = t->limit;
    t->limit = 0;   /* a push nested in this one goes to the slow path */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    uint64_t h = t->head;

    if (QPULSE__UNLIKELY(h >= lim)) {
        struct qpulse__sample s = { start, dur, self, op, parent };
        qpulse__push_slow(&s, lim);
        return;
    }
    /* Field by field, straight into the ring: building the record on the
     * stack and copying it costs a store-forwarding stall. */
    struct qpulse__sample *d = &t->ring[h & t->mask];
    d->start = start;
    d->dur = dur;
    d->self = self;
    d->op = op;
    d->parent = parent;
    t->head = h + 1;
    /* Publishes the record written above.  Pairs with the acquire load of
     * the head in qp_reader_drain() (lib/reader.c). */
    __atomic_store_n(t->head_pub, h + 1, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->limit = lim;
}

static inline __attribute__((always_inline)) qpulse_scope_t
qpulse__scope_begin(qpulse_scope_t *self, qpulse_set_t *set, uint32_t op)
{
    qpulse_scope_t s = { 0, 0, 0, 0, 0 };
    if (QPULSE__LIKELY(qpulse__enabled)) {
        /* Pairs with the release store in qpulse__bind(). */
        uint32_t b = __atomic_load_n(&set->base, __ATOMIC_ACQUIRE);
        if (QPULSE__UNLIKELY(b == 0)) {
            b = qpulse__bind(set);
            if (!b)
                return s;
        }
        struct qpulse__tls *t = &qpulse__tls;
        qpulse_scope_t *top = t->top;
        /* A live enclosing scope lies at or above the stack pointer; one
         * below it was left by longjmp.  (NULL - 1 is the largest.) */
        if (QPULSE__UNLIKELY((uintptr_t)top - 1 < qpulse__sp() - 1))
            top = qpulse__stale_top(self, qpulse__sp());
        s.prev = top;
        s.parent = t->top_op;
        s.acc0 = t->acc;
        s.op = b + op;
        t->top = self;
        t->top_op = s.op;
        s.start = qpulse__now();
    }
    return s;
}

static inline __attribute__((always_inline)) void qpulse__scope_end(qpulse_scope_t *s)
{
    uint32_t op = s->op;
    if (QPULSE__LIKELY(op != 0)) {
        uint64_t end = qpulse__now();
        uint64_t dur = end - s->start;
        struct qpulse__tls *t = &qpulse__tls;
        uint64_t nested = t->acc - s->acc0;
        t->acc = s->acc0 + dur;
        t->top = s->prev;
        t->top_op = s->parent;
        s->op = 0;   /* ended: a repair after longjmp must not take it for open */
        /* dur and self are kept modulo 2^64: the reader clamps what an
         * unsynchronised clock made negative. */
        qpulse__push(op - 1, s->parent, s->start, dur, dur - nested);
    }
}

static inline __attribute__((always_inline)) qpulse_scope_t
qpulse__scope_sampled(qpulse_scope_t *self, qpulse_set_t *set, uint32_t op, int take)
{
    if (take)
        return qpulse__scope_begin(self, set, op);
    qpulse_scope_t s = { 0, 0, 0, 0, 0 };
    return s;
}

#endif /* !QPULSE_DISABLE */

#ifdef __cplusplus
} /* extern "C" */
#endif

/* ---------------------------------------------------------------------- */
/* The forms                                                               */
/* ---------------------------------------------------------------------- */

#if !defined(QPULSE_DISABLE) && !defined(__cplusplus)

/* C.  A scope is a variable with a cleanup, plus a pointer to a variably
 * modified type that costs nothing but makes GCC refuse, as Clang does, a
 * switch or goto that jumps past the scope's beginning into its block
 * ("jump into scope of identifier with variably modified type"): the
 * cleanup would run on a scope that never began. */
#define QPULSE__SCOPE_AS(n, set, Name)                                        \
    const int qpulse__one_##n = 1;                                            \
    char (*qpulse__vm_##n)[qpulse__one_##n] __attribute__((unused)) = 0;      \
    qpulse_scope_t qpulse__scope_##n                                          \
        __attribute__((cleanup(qpulse__scope_end), unused)) =                 \
        qpulse__scope_begin(&qpulse__scope_##n, &qpulse_set_##set, QPULSE_OP(set, Name))
#define QPULSE__SCOPE_N(n, set, Name) QPULSE__SCOPE_AS(n, set, Name)

/* Times from here to the end of the enclosing block, on every way out. */
#define QPULSE_SCOPE(set, Name) QPULSE__SCOPE_N(__COUNTER__, set, Name)

#define QPULSE__SAMPLED_AS(n, set, Name, cnt)                                 \
    static __thread uint32_t qpulse__cnt_##n;                                 \
    const int qpulse__one_##n = 1;                                            \
    char (*qpulse__vm_##n)[qpulse__one_##n] __attribute__((unused)) = 0;      \
    qpulse_scope_t qpulse__scope_##n                                          \
        __attribute__((cleanup(qpulse__scope_end), unused)) =                 \
        qpulse__scope_sampled(&qpulse__scope_##n, &qpulse_set_##set,          \
                              QPULSE_OP(set, Name),                           \
                              qpulse__take(&qpulse__cnt_##n, (long long)(cnt)))
#define QPULSE__SAMPLED_N(n, set, Name, cnt) QPULSE__SAMPLED_AS(n, set, Name, cnt)

/* Like QPULSE_SCOPE, but records one call in n (counted per thread and call
 * site; n <= 1 records every call).  Calls that are not recorded are not on
 * the scope stack either: a scope nested in them counts towards the next
 * recorded enclosing scope. */
#define QPULSE_SAMPLED_SCOPE(set, Name, n) QPULSE__SAMPLED_N(__COUNTER__, set, Name, n)

/* Evaluates the expression once, times it, and yields its value (void
 * allowed).  Commas in the expression need no extra parentheses. */
#define QPULSE_PROFILE(set, Name, ...)                                        \
    __extension__({ QPULSE_SCOPE(set, Name); __VA_ARGS__; })

#elif !defined(QPULSE_DISABLE) /* C++ */

/* C++.  The scope forms are RAII objects: they end on every way out of the
 * block, exceptions included, exactly once. */
#define QPULSE_SCOPE(set, Name)                                               \
    ::qpulse::scope QPULSE__UNIQ(qpulse__scope_)(&qpulse_set_##set, QPULSE_OP(set, Name))

#define QPULSE__SAMPLED_AS(n, set, Name, cnt)                                 \
    static __thread uint32_t qpulse__cnt_##n;                                 \
    ::qpulse::scope qpulse__scope_##n(&qpulse_set_##set, QPULSE_OP(set, Name), \
                                      qpulse__take(&qpulse__cnt_##n, (long long)(cnt)))
#define QPULSE__SAMPLED_N(n, set, Name, cnt) QPULSE__SAMPLED_AS(n, set, Name, cnt)
#define QPULSE_SAMPLED_SCOPE(set, Name, n) QPULSE__SAMPLED_N(__COUNTER__, set, Name, n)

/* The expression keeps its type and value category: a reference stays a
 * reference, a move-only prvalue is moved out. */
#define QPULSE_PROFILE(set, Name, ...)                                        \
    ::qpulse::detail::profile(&qpulse_set_##set, QPULSE_OP(set, Name),        \
                              [&]() -> decltype((__VA_ARGS__)) { return (__VA_ARGS__); })

#endif

#ifndef QPULSE_DISABLE

/* Records a duration measured elsewhere, in nanoseconds. */
#define QPULSE_RECORD(set, Name, ns)                                          \
    qpulse__record_ns(&qpulse_set_##set, QPULSE_OP(set, Name), (uint64_t)(ns))

/* Starts a manual timer: qpulse_timer_t t = QPULSE_TIMER_START(set, Name); */
#define QPULSE_TIMER_START(set, Name)                                         \
    qpulse__timer_start(&qpulse_set_##set, QPULSE_OP(set, Name))

#else /* QPULSE_DISABLE: everything compiles away, names are still checked */

#define QPULSE_SCOPE(set, Name) (void)QPULSE_OP(set, Name)
#define QPULSE_SAMPLED_SCOPE(set, Name, n) ((void)QPULSE_OP(set, Name), (void)(n))
#ifdef __cplusplus
#define QPULSE_PROFILE(set, Name, ...) ((void)QPULSE_OP(set, Name), (__VA_ARGS__))
#define QPULSE_TIMER_START(set, Name) ((void)QPULSE_OP(set, Name), qpulse_timer_t())
#else
#define QPULSE_PROFILE(set, Name, ...)                                        \
    __extension__({ (void)QPULSE_OP(set, Name); __VA_ARGS__; })
#define QPULSE_TIMER_START(set, Name)                                         \
    ((void)QPULSE_OP(set, Name), (qpulse_timer_t){ 0, 0, 0, 0, 0 })
#endif
#define QPULSE_RECORD(set, Name, ns) ((void)QPULSE_OP(set, Name), (void)(ns))
#define qpulse_timer_pause(t) ((void)(t))
#define qpulse_timer_resume(t) ((void)(t))
#define qpulse_timer_stop(t) ((void)(t))
#define qpulse_timer_discard(t) ((void)(t))
#define qpulse_enabled() 0
#define qpulse_dropped() ((uint64_t)0)
#define qpulse_recorded() ((uint64_t)0)
#define qpulse_shutdown() ((void)0)

#endif /* QPULSE_DISABLE */

/* ---------------------------------------------------------------------- */
/* C++ idioms                                                              */
/* ---------------------------------------------------------------------- */

#ifdef __cplusplus
namespace qpulse {

#ifndef QPULSE_DISABLE

/* What QPULSE_SCOPE declares: times its own lifetime. */
class scope {
  public:
    scope(qpulse_set_t *set, uint32_t op) noexcept { s_ = qpulse__scope_begin(&s_, set, op); }
    scope(qpulse_set_t *set, uint32_t op, int take) noexcept
    {
        s_ = qpulse__scope_sampled(&s_, set, op, take);
    }
    ~scope() { qpulse__scope_end(&s_); }
    scope(const scope &) = delete;
    scope &operator=(const scope &) = delete;

  private:
    qpulse_scope_t s_;
};

/* An RAII manual timer: records when stopped or destroyed (whichever comes
 * first), unless discarded; may be moved, also to another thread.
 *   auto t = QPULSE_TIMER(trading, OrderValidation);  ...  t.stop(); */
class timer {
  public:
    timer(qpulse_set_t *set, uint32_t op) noexcept : t_(qpulse__timer_start(set, op)) {}
    timer(timer &&o) noexcept : t_(o.t_) { o.t_.op = 0; }
    timer &operator=(timer &&o) noexcept
    {
        if (this != &o) {
            qpulse_timer_stop(&t_);
            t_ = o.t_;
            o.t_.op = 0;
        }
        return *this;
    }
    timer(const timer &) = delete;
    timer &operator=(const timer &) = delete;
    ~timer() { qpulse_timer_stop(&t_); }
    void pause() noexcept { qpulse_timer_pause(&t_); }
    void resume() noexcept { qpulse_timer_resume(&t_); }
    void stop() noexcept { qpulse_timer_stop(&t_); }
    void discard() noexcept { qpulse_timer_discard(&t_); }
    bool running() const noexcept { return t_.op != 0; }

  private:
    qpulse_timer_t t_;
};

namespace detail {
template <class F>
inline auto profile(qpulse_set_t *set, uint32_t op, F &&f) -> decltype(f())
{
    scope s(set, op);
    return f();
}
} /* namespace detail */

#define QPULSE_TIMER(set, Name) ::qpulse::timer(&qpulse_set_##set, QPULSE_OP(set, Name))

#else /* QPULSE_DISABLE */

class timer {
  public:
    void pause() noexcept {}
    void resume() noexcept {}
    void stop() noexcept {}
    void discard() noexcept {}
    bool running() const noexcept { return false; }
};
#define QPULSE_TIMER(set, Name) ((void)QPULSE_OP(set, Name), ::qpulse::timer())

#endif /* QPULSE_DISABLE */

/* Recording on in this process? */
inline bool enabled() noexcept { return qpulse_enabled() != 0; }

} /* namespace qpulse */
#endif /* __cplusplus */

#endif /* QPULSE_H */
