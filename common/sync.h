/*
 * sync.h - sync.WaitGroup.
 *
 * A counter of outstanding work: add before starting it, done when it ends,
 * wait until the count is zero. The struct is public so that a wait group
 * can live on the stack or inside another object, as in Go.
 */
#ifndef COMMON_SYNC_H
#define COMMON_SYNC_H

#include <stdint.h>

#include "common/lock.h"

struct waitgroup_waiter;

/* All zeroes is a valid wait group with a count of 0, as Go's zero value;
 * waitgroup_init makes one explicitly. */
typedef struct waitgroup {
    lock_t                   lock; /* the core's futex lock (lock.h) */
    int64_t                  count;
    struct waitgroup_waiter *waiters; /* threads in waitgroup_wait, woken at zero */
} waitgroup_t;

/* Initialises wg with a count of 0. */
void waitgroup_init(waitgroup_t *wg);

/* Adds delta (which may be negative) to the count; reaching zero wakes every
 * waiter. A change that would make the count negative is refused: the count
 * is left as it was and a diagnostic is printed to stderr (Go panics). */
void waitgroup_add(waitgroup_t *wg, int64_t delta);

/* waitgroup_add(wg, -1). */
void waitgroup_done(waitgroup_t *wg);

/* Blocks until the count is zero (returns at once if it already is). */
void waitgroup_wait(waitgroup_t *wg);

/* Releases wg's resources; safe as soon as waitgroup_wait has returned. */
void waitgroup_destroy(waitgroup_t *wg);

#endif
