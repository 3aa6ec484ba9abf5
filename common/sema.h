/*
 * sema.h - weighted semaphore (Go's golang.org/x/sync/semaphore).
 *
 * size tokens; acquire(n) takes n, release(n) gives them back. Waiters are
 * served strictly first come, first served: a request that does not fit
 * waits, and every request behind it waits too, even small ones that would
 * fit, so a large request is never starved. A waiter whose context ends
 * leaves the queue holding nothing, and if it was at the head the ones
 * behind it are reconsidered at once.
 */
#ifndef COMMON_SEMA_H
#define COMMON_SEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/context.h"

typedef struct sema sema_t;

/* A semaphore of size tokens (size >= 0). NULL with errno EINVAL or ENOMEM. */
sema_t *sema_new(int64_t size);

/* Takes n tokens, waiting in FIFO order until they are free or ctx is done.
 * Returns 0 (holding n), ctx_err(ctx) (holding nothing; also when ctx is
 * already done and tokens are free), or EINVAL (NULL s, n < 0, or n larger
 * than size with a ctx that can never be done: that could only wait
 * forever). ctx may be NULL, meaning never done. A request larger than size
 * waits only for ctx and then returns its error, without queuing. */
int sema_acquire(sema_t *s, ctx_t *ctx, int64_t n);

/* Takes n tokens only if they are free and nobody is queued; never waits. */
bool sema_try_acquire(sema_t *s, int64_t n);

/* Gives back n tokens and wakes the waiters at the head that now fit.
 * Returns 0, or EINVAL (NULL s, n < 0, or more than is held) changing
 * nothing. */
int sema_release(sema_t *s, int64_t n);

/* Tokens held now (for tests and demos). */
int64_t sema_held(sema_t *s);

/* Frees s; it must be unused (no holders, no waiters). NULL is ignored. */
void sema_free(sema_t *s);

#endif
