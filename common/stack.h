/*
 * stack.h - goroutine stacks: mmap'd, with a guard page, reused from a
 * cache (internal; used by the M:N scheduler).
 *
 * A stack is GOC_STACK_KB KiB (default 64) of anonymous memory with one
 * inaccessible page below it: a goroutine that runs off the end of its
 * stack touches the guard page and faults, instead of silently writing over
 * whatever lies below. The memory is reserved, not used: the kernel gives a
 * page only when it is first touched, so a parked goroutine that used 4 KiB
 * of its 64 KiB costs about 4 KiB.
 *
 * Stacks are mapped in slabs of up to 64 (one mmap, one munmap when the
 * last of them comes back): a burst of 100,000 goroutines costs 1,600
 * system calls to map and 1,600 to unmap, not 200,000.
 *
 * The guard costs no kernel mapping of its own where the system can guard
 * a page inside a mapping (Linux 6.13 and later: os_guard_pages); elsewhere
 * each stack and its guard are two mappings, and Linux allows 65,530 per
 * process by default (vm.max_map_count): about 32,000 live goroutines.
 */
#ifndef COMMON_STACK_H
#define COMMON_STACK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gstack {
    void               *guard; /* the guard page, just below lo */
    void               *lo;    /* lowest usable address */
    size_t              size;  /* usable bytes */
    unsigned            valgrind_id;
    struct gstack_slab *slab; /* the mapping it was carved from */
    struct gstack      *next; /* in the cache or its slab's free list */
} gstack_t;

/* Usable bytes of every goroutine stack: GOC_STACK_KB (read once; 16 to
 * 1048576, otherwise the default 64) in KiB, rounded up to whole pages. */
size_t gstack_size(void);

/* Gives *s a stack (from the cache, or a new mapping). Returns 0, or ENOMEM
 * if the memory could not be mapped (nothing is then held). */
int gstack_alloc(gstack_t *s);

/* Returns s's memory to the cache or, if the cache is full, to its slab;
 * the slab goes back to the kernel when all its stacks are back. */
void gstack_free(gstack_t *s);

/* A stack kept by its owner while it runs nothing (a finished goroutine's
 * record in gpool.h keeps its stack): leak checkers stop reading it as a
 * root (what a dead goroutine left there must not hide a leak), and its
 * old red zones are cleared. gstack_wake makes it a live stack again.
 * gstack_alloc returns a live stack; gstack_free takes a live one. */
void gstack_idle(gstack_t *s);
void gstack_wake(gstack_t *s);

/* True if addr lies in s's guard page (a fault there is an overflow). */
bool gstack_in_guard(const gstack_t *s, const void *addr);

/* Fault injection for tests: after n more stacks are handed out, every
 * gstack_alloc fails with ENOMEM (as a failed mmap would) until
 * gstack_fail_reset(). */
void gstack_fail_after(long n);
void gstack_fail_reset(void);

/* Empties the cache, unmapping every slab that no goroutine still uses
 * (tests call it to see memory go back). */
void gstack_trim(void);

#endif
