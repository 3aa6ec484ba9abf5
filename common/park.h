/*
 * park.h - putting a thread to sleep until another wakes it (internal).
 *
 * A parker holds at most one wake-up token. parker_unpark() gives the token
 * (waking the owner if it sleeps); parker_park() returns once a token is
 * there and takes it. A token given before park is not lost: park then
 * returns at once. Only the owning thread parks on its parker.
 *
 * Parking spins briefly first (a pause instruction in a bounded loop, then a
 * few sched_yield calls) because on a multi-core machine the partner of a
 * channel hand-off usually answers within a microsecond, and a trip through
 * the kernel costs several. Only then does it sleep on a futex.
 */
#ifndef COMMON_PARK_H
#define COMMON_PARK_H

#include <stdatomic.h>

typedef struct {
    atomic_int state; /* PARK_EMPTY, PARK_NOTIFIED or PARK_SLEEPING */
} parker_t;

/* Blocks until a token is available, then consumes it. */
void parker_park(parker_t *p);

/* Makes a token available and wakes the owner if it sleeps. After this
 * returns the caller must not assume p is still valid (the owner may have
 * returned and exited). */
void parker_unpark(parker_t *p);

#endif
