/*
 * alloc.h - the one place where the core (and the lessons) allocate memory.
 *
 * Every allocation goes through these functions so that
 *   - tests can ask how many blocks are live and assert that a run freed
 *     everything it allocated (Criterion ignores leaks reported at exit);
 *   - the hardening tests can make the n-th allocation fail and check that
 *     every API then reports ENOMEM / NULL without leaking or crashing.
 */
#ifndef COMMON_ALLOC_H
#define COMMON_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc/calloc/free with bookkeeping. goc_malloc and goc_calloc return NULL
 * on failure (real or injected) and set errno to ENOMEM. goc_free(NULL) is a
 * no-op. Memory from these must be freed with goc_free, never free(). */
void *goc_malloc(size_t size);
void *goc_calloc(size_t count, size_t size);
void  goc_free(void *ptr);

/* Number of blocks allocated through goc_malloc/goc_calloc and not yet freed,
 * process-wide. Tests compare it with a snapshot taken before the run. */
int64_t alloc_live(void);

/* Bytes requested by those live blocks (the bookkeeping header excluded):
 * what the benchmark reports as the cost of a channel, context or timer. */
int64_t alloc_live_bytes(void);

/* Fault injection for tests: after `n` more successful allocations, every
 * following allocation fails until alloc_fail_reset() (n = 0: the next one
 * fails). Process-wide and thread-safe. */
void alloc_fail_after(int64_t n);
void alloc_fail_reset(void);

/* For the core's own pools (goroutine records kept for reuse, gpool.h):
 * true if this allocation must fail by fault injection, exactly as
 * goc_malloc would have failed in its place (it takes one step of the
 * countdown). Pooled memory is not counted in alloc_live: the pool owns
 * it, as the stack cache owns its stacks. */
bool alloc_injected_failure(void);

#endif
