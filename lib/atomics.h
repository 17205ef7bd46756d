/*
 * atomics.h — the only place qpulse spells out memory ordering.
 *
 * Thin wrappers over the GCC/Clang __atomic builtins (the C11 model) for
 * plain integers that live in shared memory, where _Atomic types cannot be
 * used because both sides map the same bytes.  Every call site names what it
 * orders and the access it pairs with.  On x86-64 the acquire load and the
 * release store are plain movs; only qp_cas and qp_fetch_add lock the bus,
 * and they are kept off the recording hot path.
 */
#ifndef QPULSE_ATOMICS_H
#define QPULSE_ATOMICS_H

#include <stdint.h>

#define qp_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define qp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define qp_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define qp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Sequentially consistent: for the two sides of a store-then-load handshake
 * (each stores its own word, then loads the other's), where acquire and
 * release allow both loads to miss both stores.  A locked xchg on x86-64;
 * off the hot path. */
#define qp_load_seq_cst(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define qp_store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define qp_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define qp_fetch_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELEASE)
/* Strong compare-and-swap with acq_rel on success, acquire on failure. */
#define qp_cas(p, expp, v)                                                     \
    __atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
/* The same, relaxed both ways: for a counter or arena top owned by no
 * other memory it publishes. */
#define qp_cas_relaxed(p, expp, v)                                             \
    __atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define qp_exchange_relaxed(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
/* A compiler barrier only: orders this thread against its own signal
 * handlers, costs no instruction. */
#define qp_signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif /* QPULSE_ATOMICS_H */
