/*
 * park.h - how a thread waits inside the core (internal).
 *
 * Two primitives, both a single 32-bit word, both spinning briefly before
 * they sleep in the kernel (a futex on Linux): on a multi-core machine the
 * other side of a channel hand-off usually answers within a microsecond,
 * and a trip through the kernel costs several.
 *
 * parker_t: a one-shot wake-up. parker_unpark() gives the token (waking the
 * owner if it sleeps); parker_park() returns once the token is there and
 * takes it. A token given before park is not lost. Only the owner parks.
 *
 * lock_t: a mutual-exclusion lock for critical sections of a few dozen
 * instructions (a channel's state). Zero-initialised means unlocked.
 */
#ifndef COMMON_PARK_H
#define COMMON_PARK_H

#include <stdatomic.h>
#include <stdbool.h>

struct goroutine;

/* The states of parker_t.state (park.c has the state machine). */
enum { PARK_PARKED_G = -2, PARK_SLEEPING = -1, PARK_EMPTY = 0, PARK_NOTIFIED = 1 };

typedef struct {
    atomic_int state; /* one of the PARK_ states */
    /* Under the M:N runtime, the goroutine parked here (PARK_PARKED_G):
     * written before that state is set, read by the unparker after it. */
    _Atomic(struct goroutine *) g;
} parker_t;

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

/* Spins with cpu_relax() until ready(arg) returns true, for at most as long
 * as a parker spins, and only while spinning can pay (there are cores for
 * every thread that is awake; see park.c). Returns the last ready(arg). */
bool spin_until(bool (*ready)(void *arg), void *arg);

/* Blocks until a token is available, then consumes it. */
void parker_park(parker_t *p);

/* Makes a token available and wakes the owner if it sleeps. The owner may
 * return (and its parker vanish) as soon as the token is visible, so the
 * caller must not touch p afterwards. */
void parker_unpark(parker_t *p);

/* True while the owner sleeps (a thread in the kernel, or a goroutine
 * switched out) and nobody has unparked it: what the deadlock watchdog
 * asks. */
bool parker_is_sleeping(parker_t *p);

typedef struct {
    atomic_int state; /* 0 free, 1 held, 2 held with sleepers */
} lock_t;

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

#endif
