/*
 * park.h - how a goroutine or a thread waits inside the core (internal).
 *
 * parker_t: a one-shot wake-up in one 32-bit word. parker_unpark() gives
 * the token (waking the owner if it sleeps); parker_park() returns once
 * the token is there and takes it. A token given before park is not lost.
 * Only the owner parks. A goroutine (M:N runtime) parks by switching out,
 * so its worker runs others; a thread spins briefly, yields, and then
 * sleeps in the kernel (a futex through os.h): on a multi-core machine the
 * other side of a hand-off usually answers within a microsecond, and a
 * trip through the kernel costs several.
 *
 * spin_until: the same brief spin, for a caller that waits on a condition
 * of its own (a ring slot, a semaphore's count) before it queues a parker.
 *
 * Layer: above sched, goroutine, lock and os (park.c decides which kind of
 * wait a caller gets; the scheduler knows nothing of parkers).
 */
#ifndef COMMON_PARK_H
#define COMMON_PARK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/lock.h"

struct goroutine;

/* The states of parker_t.state (park.c has the state machine). */
enum { PARK_PARKED_G = -2, PARK_SLEEPING = -1, PARK_EMPTY = 0, PARK_NOTIFIED = 1 };

typedef struct parker {
    atomic_int state; /* one of the PARK_ states */
    /* Under the M:N runtime, the goroutine parked here (PARK_PARKED_G):
     * written before that state is set, read by the unparker after it. */
    _Atomic(struct goroutine *) g;
} parker_t;

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

#endif
