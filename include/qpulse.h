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
 *
 * Type safety: each set becomes a struct with one member per operation, and an
 * operation's index is offsetof(that struct, Name).  A misspelt name, or a name
 * of another set, is therefore "no member named ..." at compile time.
 *
 * The hot path (scope begin/end) is inline in this header: two rdtsc, a few
 * thread-local loads and stores, one 32-byte store into this thread's ring and
 * one release store of the ring's head.  No lock, no syscall, no allocation
 * once the thread has recorded its first sample.
 *
 * Build with -DQPULSE_DISABLE and every form compiles to nothing but still
 * evaluates the profiled code; such a program does not link against libqpulse.
 *
 * Requires GCC or Clang (cleanup attribute, statement expressions).
 */
#ifndef QPULSE_H
#define QPULSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QPULSE_VERSION_MAJOR 0
#define QPULSE_VERSION_MINOR 1

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
    uint32_t base;                    /* process-wide index of operation 0;
                                         assigned by qpulse_register_set() */
    uint32_t registered;
    struct qpulse_set *next;          /* library-private list link */
} qpulse_set_t;

#define QPULSE_SET_ABI 1u

#define QPULSE__MEMBER(Name, group, desc, prio) char Name;
#define QPULSE__NAME(Name, group, desc, prio) #Name,
#define QPULSE__GROUP(Name, group, desc, prio) group,
#define QPULSE__DESC(Name, group, desc, prio) desc,
#define QPULSE__PRIO(Name, group, desc, prio) (prio),

/* In a header, any number of times: makes (set, Name) known to the compiler. */
#define QPULSE_DECLARE_SET(set, LIST)                                        \
    struct qpulse_opsof_##set { LIST(QPULSE__MEMBER) };                      \
    extern qpulse_set_t qpulse_set_##set;

/* The index of operation Name in set; a compile error for any other name. */
#define QPULSE_OP(set, Name) ((uint32_t)offsetof(struct qpulse_opsof_##set, Name))

#ifndef QPULSE_DISABLE
/* In exactly one .c file, after QPULSE_DECLARE_SET: the set's tables, and a
 * constructor that registers them with the library at load time. */
#define QPULSE_DEFINE_SET(set, LIST)                                         \
    static const char *const qpulse__names_##set[] = { LIST(QPULSE__NAME) }; \
    static const char *const qpulse__groups_##set[] = { LIST(QPULSE__GROUP) };\
    static const char *const qpulse__descs_##set[] = { LIST(QPULSE__DESC) }; \
    static const int qpulse__prios_##set[] = { LIST(QPULSE__PRIO) };         \
    _Static_assert(sizeof(qpulse__names_##set) / sizeof(char *) ==           \
                   sizeof(struct qpulse_opsof_##set),                        \
                   "QPULSE_DEFINE_SET(" #set ") and its DECLARE differ");    \
    qpulse_set_t qpulse_set_##set = {                                        \
        QPULSE_SET_ABI,                                                      \
        (uint32_t)(sizeof(qpulse__names_##set) / sizeof(char *)),            \
        #set, qpulse__names_##set, qpulse__groups_##set,                     \
        qpulse__descs_##set, qpulse__prios_##set, 0, 0, 0 };                 \
    __attribute__((constructor)) static void qpulse__register_##set(void)    \
    {                                                                        \
        qpulse_register_set(&qpulse_set_##set);                              \
    }
#else
#define QPULSE_DEFINE_SET(set, LIST)                                         \
    _Static_assert(sizeof(struct qpulse_opsof_##set) > 0, "qpulse set " #set);
#endif

/* ---------------------------------------------------------------------- */
/* Library entry points                                                    */
/* ---------------------------------------------------------------------- */

/* One open scope on the current thread.  Lives on the caller's stack; the
 * thread's innermost open scope is qpulse__tls.top, and each scope links to
 * the one it is nested in, so self time and the parent operation cost no
 * extra bookkeeping. */
typedef struct qpulse_scope {
    uint64_t start;                 /* clock at begin */
    uint64_t child;                 /* clock spent in nested scopes */
    struct qpulse_scope *parent;    /* enclosing scope, or NULL */
    uint32_t op;                    /* process-wide op index + 1; 0 = inactive */
    uint32_t reserved;
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
 * re-exports it as struct qp_sample). */
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
 * far as the cached consumer index tells). */
struct qpulse__tls {
    qpulse_scope_t *top;            /* innermost open scope */
    struct qpulse__sample *ring;    /* this thread's record slots */
    uint64_t *head_pub;             /* shared head index (producer-owned line) */
    uint64_t head;                  /* local copy of the head */
    uint64_t limit;                 /* see above */
    uint64_t mask;                  /* ring records - 1 */
    uint32_t slot;                  /* claimed slot index + 1; 0 = none */
    uint32_t state;                 /* library-private */
};

QPULSE_API extern __thread struct qpulse__tls qpulse__tls
    __attribute__((tls_model("initial-exec")));
/* Non-zero while recording is on (QPULSE_DISABLE=1 clears it at load). */
QPULSE_API extern int qpulse__enabled;
/* 1 when the clock is the invariant TSC, 0 when it is CLOCK_MONOTONIC. */
QPULSE_API extern int qpulse__use_tsc;
/* Non-zero while this thread runs the library's own slow paths (segment
 * creation, slot claim, set registration, shutdown, fork handlers).
 * libqpulse-preload passes every libc call made then straight through,
 * unrecorded: recording it would re-enter the library. */
QPULSE_API extern __thread unsigned qpulse__busy __attribute__((tls_model("initial-exec")));

QPULSE_API void qpulse_register_set(qpulse_set_t *set);
QPULSE_API uint64_t qpulse__now_slow(void);
QPULSE_API void qpulse__push_slow(const struct qpulse__sample *s);
QPULSE_API void qpulse__record_ns(const qpulse_set_t *set, uint32_t op, uint64_t ns);

QPULSE_API qpulse_timer_t qpulse__timer_start(const qpulse_set_t *set, uint32_t op);
QPULSE_API void qpulse_timer_pause(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_resume(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_stop(qpulse_timer_t *t);
QPULSE_API void qpulse_timer_discard(qpulse_timer_t *t);

/* Is recording on in this process?  (QPULSE_DISABLE=1 turns it off.) */
QPULSE_API int qpulse_enabled(void);
/* Samples this process dropped so far (full rings, no free thread slot). */
QPULSE_API uint64_t qpulse_dropped(void);
/* Samples this process recorded so far (written to a ring). */
QPULSE_API uint64_t qpulse_recorded(void);
/* Publish everything and, when no qpulsed is running, remove the segment.
 * Called automatically at exit; safe to call more than once. */
QPULSE_API void qpulse_shutdown(void);

/* ---------------------------------------------------------------------- */
/* The fast path                                                           */
/* ---------------------------------------------------------------------- */

#ifndef QPULSE_DISABLE

static inline __attribute__((always_inline)) uint64_t qpulse__now(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (QPULSE__LIKELY(qpulse__use_tsc))
        return __builtin_ia32_rdtsc();
#endif
    return qpulse__now_slow();
}

static inline __attribute__((always_inline)) void
qpulse__push(uint32_t op, uint32_t parent, uint64_t start, uint64_t dur, uint64_t self)
{
    struct qpulse__tls *t = &qpulse__tls;
    uint64_t h = t->head;

    if (QPULSE__UNLIKELY(h >= t->limit)) {
        struct qpulse__sample s = { start, dur, self, op, parent };
        qpulse__push_slow(&s);
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
}

static inline __attribute__((always_inline)) qpulse_scope_t
qpulse__scope_begin(qpulse_scope_t *self, const qpulse_set_t *set, uint32_t op)
{
    qpulse_scope_t s = { 0, 0, 0, 0, 0 };
    if (QPULSE__LIKELY(qpulse__enabled)) {
        struct qpulse__tls *t = &qpulse__tls;
        s.parent = t->top;
        s.op = set->base + op + 1;
        t->top = self;
        s.start = qpulse__now();
    }
    return s;
}

static inline __attribute__((always_inline)) void qpulse__scope_end(qpulse_scope_t *s)
{
    if (QPULSE__LIKELY(s->op != 0)) {
        uint64_t end = qpulse__now();
        uint64_t dur = end - s->start;
        qpulse_scope_t *p = s->parent;
        qpulse__tls.top = p;
        if (p)
            p->child += dur;
        qpulse__push(s->op - 1, p ? p->op : 0, s->start, dur,
                     dur > s->child ? dur - s->child : 0);
    }
}

static inline __attribute__((always_inline)) qpulse_scope_t
qpulse__scope_sampled(qpulse_scope_t *self, const qpulse_set_t *set, uint32_t op, int take)
{
    if (take)
        return qpulse__scope_begin(self, set, op);
    qpulse_scope_t s = { 0, 0, 0, 0, 0 };
    return s;
}

#define QPULSE__SCOPE_AS(var, set, Name)                                      \
    qpulse_scope_t var __attribute__((cleanup(qpulse__scope_end), unused)) = \
        qpulse__scope_begin(&var, &qpulse_set_##set, QPULSE_OP(set, Name))

/* Times from here to the end of the enclosing block, on every way out. */
#define QPULSE_SCOPE(set, Name) QPULSE__SCOPE_AS(QPULSE__UNIQ(qpulse__scope_), set, Name)

#define QPULSE__SAMPLED_AS(var, cnt, set, Name, n)                            \
    static __thread uint32_t cnt;                                             \
    qpulse_scope_t var __attribute__((cleanup(qpulse__scope_end), unused)) = \
        qpulse__scope_sampled(&var, &qpulse_set_##set, QPULSE_OP(set, Name),  \
                              (++cnt % (uint32_t)(n)) == 0)

/* Like QPULSE_SCOPE, but records one call in n (counted per thread and call
 * site).  Calls that are not recorded are not on the scope stack either: a
 * scope nested in them counts towards the next recorded enclosing scope. */
#define QPULSE_SAMPLED_SCOPE(set, Name, n)                                    \
    QPULSE__SAMPLED_AS(QPULSE__UNIQ(qpulse__scope_), QPULSE__UNIQ(qpulse__cnt_), set, Name, n)

/* Evaluates expr once, times it, and yields its value (void allowed). */
#define QPULSE_PROFILE(set, Name, expr)                                       \
    ({ QPULSE_SCOPE(set, Name); expr; })

/* Records a duration measured elsewhere, in nanoseconds. */
#define QPULSE_RECORD(set, Name, ns)                                          \
    qpulse__record_ns(&qpulse_set_##set, QPULSE_OP(set, Name), (uint64_t)(ns))

/* Starts a manual timer: qpulse_timer_t t = QPULSE_TIMER_START(set, Name); */
#define QPULSE_TIMER_START(set, Name)                                         \
    qpulse__timer_start(&qpulse_set_##set, QPULSE_OP(set, Name))

#else /* QPULSE_DISABLE: everything compiles away, names are still checked */

#define QPULSE_SCOPE(set, Name) (void)QPULSE_OP(set, Name)
#define QPULSE_SAMPLED_SCOPE(set, Name, n) ((void)QPULSE_OP(set, Name), (void)(n))
#define QPULSE_PROFILE(set, Name, expr) ({ (void)QPULSE_OP(set, Name); expr; })
#define QPULSE_RECORD(set, Name, ns) ((void)QPULSE_OP(set, Name), (void)(ns))
#define QPULSE_TIMER_START(set, Name)                                         \
    ((void)QPULSE_OP(set, Name), (qpulse_timer_t){ 0, 0, 0, 0, 0 })
#define qpulse_timer_pause(t) ((void)(t))
#define qpulse_timer_resume(t) ((void)(t))
#define qpulse_timer_stop(t) ((void)(t))
#define qpulse_timer_discard(t) ((void)(t))
#define qpulse_enabled() 0
#define qpulse_dropped() ((uint64_t)0)
#define qpulse_recorded() ((uint64_t)0)
#define qpulse_shutdown() ((void)0)

#endif /* QPULSE_DISABLE */

#ifdef __cplusplus
}
#endif

#endif /* QPULSE_H */
