/*
 * gpool.h - finished goroutines' records, each with its stack, kept for
 * the next go() (internal; Go's gFree, used by the M:N scheduler).
 *
 * Starting a goroutine needs a record and a stack; finishing one gives
 * both back. Under M:N the two usually happen on different workers (one
 * goroutine starts many that another worker runs and finishes), and going
 * through malloc and the stack cache then makes every start and every
 * finish take a lock the other worker holds. Here each P keeps a short
 * list of its own, touched by no one else, and lists move to and from a
 * global pool in batches, so a lock is taken once per batch.
 *
 * A pooled record keeps its stack idle (gstack_idle). The pool holds at
 * most a few thousand; past that a finished record and its stack are
 * given back at once (the stack to the stack cache). Pooled records are
 * not counted in alloc_live(): the pool owns them.
 */
#ifndef COMMON_GPOOL_H
#define COMMON_GPOOL_H

#include "common/goroutine.h"

/* A dead record with a live stack of gstack_size() bytes, for a new
 * goroutine (go_registry_add clears and fills the rest): from P number `slot`'s own list (only the
 * thread holding that P may pass its number), from the global pool, or new. slot < 0: the caller
 * holds no P. NULL with errno ENOMEM if the memory could not be had (fault injection included:
 * alloc_injected_failure). */
goroutine_t *gpool_get(int slot);

/* Takes back g, a record from gpool_get whose goroutine has finished (or
 * never started) and whose context is destroyed, to be reused; the same
 * `slot` rule as gpool_get. */
void gpool_put(int slot, goroutine_t *g);

#endif
