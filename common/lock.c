/*
 * lock.c - the contended paths of lock_t (lock.h has the states).
 *
 * Protocol: an acquirer that finds the lock taken spins a little (only on
 * a machine with another core, where the holder may be running right now;
 * a holder keeps it for a few dozen instructions), yields once, and then
 * announces itself by swapping in 2 and sleeps on the word until a release
 * wakes it. A thread that swaps in 2 and gets 0 back holds the lock: it
 * must leave the 2 there, since it cannot know whether another sleeper
 * still waits, which costs at most one needless wake at its release.
 * That is the whole invariant: while anyone sleeps on the word, the state
 * is 2, so the release that frees the lock makes the system call.
 */
#include "common/lock.h"

#include <sched.h>

#include "common/os.h"

/* Go's runtime lock spins 4 rounds of 30 pauses, then yields once (active
 * and passive spinning in lock_futex.go). */
enum { SPIN_ROUNDS = 4, SPIN_PAUSES = 30 };

/* Spinning only pays where the holder can run at the same time. */
static bool spinning_can_pay(void)
{
    static atomic_int cores; /* 0: not yet known */
    int               n = atomic_load_explicit(&cores, memory_order_relaxed);
    if (n == 0) {
        n = os_cpu_count();
        atomic_store_explicit(&cores, n, memory_order_relaxed);
    }
    return n > 1;
}

static bool try_take_free(lock_t *l)
{
    int expected = 0;
    return atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
           atomic_compare_exchange_weak_explicit(&l->state, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}

void lock_acquire_slow(lock_t *l)
{
    if (spinning_can_pay()) {
        for (int round = 0; round < SPIN_ROUNDS; round++) {
            for (int i = 0; i < SPIN_PAUSES; i++) {
                if (try_take_free(l))
                    return;
                cpu_relax();
            }
        }
        sched_yield();
        if (try_take_free(l))
            return;
    }
    /* Announce a sleeper (2); if the lock was free meanwhile we now hold it. */
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        os_futex_wait(&l->state, 2);
}

void lock_release_slow(lock_t *l)
{
    os_futex_wake(&l->state, 1);
}
