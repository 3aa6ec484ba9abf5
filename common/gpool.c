/*
 * gpool.c - finished goroutines kept for reuse (gpool.h).
 *
 * Invariants:
 *   - local[i] is touched only by the thread that holds P number i, so it
 *     takes no lock; it never holds more than LOCAL_MAX records;
 *   - the global list and its count change only under global_lock, and it
 *     never holds more than GLOBAL_MAX records;
 *   - every pooled record's stack is idle (gstack_idle) and its context
 *     destroyed; it is dead, and may still be linked in the registry
 *     (go_registry_add clears the rest for its next goroutine).
 * Records are linked through sched_next, which a finished goroutine no
 * longer uses for a run queue.
 */
#include "common/gpool.h"

#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/lock.h"

/* MAX_SLOTS: as many as the scheduler has Ps at most (sched.c's
 * MAX_PROCS); a P numbered past it would share the global pool.
 * LOCAL_MAX and BATCH are Go's (gfput: a P keeps 64, moves 32 when it has
 * them). GLOBAL_MAX bounds what a burst leaves behind: a finished
 * goroutine keeps the pages of stack it touched, one or two. */
enum { MAX_SLOTS = 256, LOCAL_MAX = 64, BATCH = 32, GLOBAL_MAX = 4096 };

typedef struct {
    alignas(64) goroutine_t *head; /* a cache line each: Ps do not share */
    int count;
} local_list_t;

static local_list_t local[MAX_SLOTS];
static lock_t       global_lock; /* zeroed: unlocked */
static goroutine_t *global_head;
static int          global_count;

/* Gives g and its stack back for good, out of the registry first (a
 * finished goroutine's record stays listed there, dead). */
static void release(goroutine_t *g)
{
    go_registry_remove(g);
    gstack_wake(&g->stack); /* gstack_free takes a live stack */
    gstack_free(&g->stack);
    free(g);
}

/* A brand-new record with a live stack, or NULL (errno ENOMEM). */
static goroutine_t *make_new(void)
{
    goroutine_t *g = calloc(1, sizeof *g);
    if (g == NULL || gstack_alloc(&g->stack) != 0) {
        free(g);
        errno = ENOMEM;
        return NULL;
    }
    return g;
}

/* Moves up to BATCH records from the global list to list. */
static void refill(local_list_t *list)
{
    lock_acquire(&global_lock);
    while (list->count < BATCH && global_head != NULL) {
        goroutine_t *g = global_head;
        global_head = g->sched_next;
        global_count--;
        g->sched_next = list->head;
        list->head = g;
        list->count++;
    }
    lock_release(&global_lock);
}

goroutine_t *gpool_get(int slot)
{
    if (alloc_injected_failure()) {
        errno = ENOMEM;
        return NULL;
    }
    goroutine_t *g = NULL;
    if (slot >= 0 && slot < MAX_SLOTS) {
        local_list_t *list = &local[slot];
        if (list->head == NULL)
            refill(list);
        if ((g = list->head) != NULL) {
            list->head = g->sched_next;
            list->count--;
        }
    } else {
        lock_acquire(&global_lock);
        if ((g = global_head) != NULL) {
            global_head = g->sched_next;
            global_count--;
        }
        lock_release(&global_lock);
    }
    if (g == NULL)
        return make_new();
    gstack_wake(&g->stack);
    return g;
}

/* Moves the records of chain (linked through sched_next) to the global
 * list, one lock for all; releases those that do not fit. */
static void put_global(goroutine_t *chain)
{
    lock_acquire(&global_lock);
    while (chain != NULL && global_count < GLOBAL_MAX) {
        goroutine_t *g = chain;
        chain = g->sched_next;
        g->sched_next = global_head;
        global_head = g;
        global_count++;
    }
    lock_release(&global_lock);
    while (chain != NULL) {
        goroutine_t *g = chain;
        chain = g->sched_next;
        release(g);
    }
}

void gpool_put(int slot, goroutine_t *g)
{
    gstack_idle(&g->stack);
    g->sched_next = NULL;
    if (slot < 0 || slot >= MAX_SLOTS) {
        put_global(g);
        return;
    }
    local_list_t *list = &local[slot];
    g->sched_next = list->head;
    list->head = g;
    if (++list->count < LOCAL_MAX)
        return;
    /* Full: half of it goes to the global pool, for other Ps to start. */
    goroutine_t *chain = NULL;
    while (list->count > LOCAL_MAX - BATCH) {
        goroutine_t *out = list->head;
        list->head = out->sched_next;
        list->count--;
        out->sched_next = chain;
        chain = out;
    }
    put_global(chain);
}
