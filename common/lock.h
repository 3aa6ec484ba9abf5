/*
 * lock.h - the core's small lock, and the hint a spin loop gives the CPU
 * (internal).
 *
 * lock_t: mutual exclusion for critical sections of a few dozen
 * instructions (a channel's queues, the scheduler's idle lists). One
 * 32-bit word, the three-state futex mutex of Drepper's "Futexes Are
 * Tricky": 0 free, 1 held, 2 held and someone may sleep on it. Taking a
 * free lock is one compare-and-swap; only a release that sees 2 makes a
 * system call (a futex wake, through os.h). Zero-initialised means
 * unlocked. Not recursive, and it does not know its holder.
 *
 * A holder must not park, yield or otherwise switch out while it holds
 * one: a waiter that gives up spinning sleeps in the kernel, and under
 * the M:N runtime it keeps its worker thread while it sleeps: a holder
 * queued on that worker may then never run again to release it.
 *
 * Layer: platform and primitives. It uses only os.h: it cannot ask who
 * the caller is (a goroutine or a thread) or how many threads are awake,
 * so its spin rule is Go's runtime lock's (lock_futex.go): spin briefly
 * only if there is another core, where the holder may be running.
 */
#ifndef COMMON_LOCK_H
#define COMMON_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>

/* One step of a spin loop: tells the CPU we are waiting for another core
 * (saves power, and lets a sibling hyper-thread run). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

typedef struct {
    atomic_int state; /* 0 free, 1 held, 2 held with sleepers */
} lock_t;

/* The contended paths of lock_acquire and lock_release (lock.c). */
void lock_acquire_slow(lock_t *l);
void lock_release_slow(lock_t *l);

/* Acquires l: one compare-and-swap when it is free. */
static inline void lock_acquire(lock_t *l)
{
    int expected = 0;
    if (!atomic_compare_exchange_weak_explicit(&l->state, &expected, 1, memory_order_acquire,
                                               memory_order_relaxed))
        lock_acquire_slow(l);
}

/* Releases l, waking one sleeper if there is one. */
static inline void lock_release(lock_t *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
        lock_release_slow(l);
}

/* True while somebody holds l. For assert() in a function whose contract
 * says "the caller holds l": it cannot tell who holds it, so it catches a
 * caller that forgot the lock, not one that holds it from another thread. */
static inline bool lock_is_held(lock_t *l)
{
    return atomic_load_explicit(&l->state, memory_order_relaxed) != 0;
}

#endif
