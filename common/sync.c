/*
 * sync.c - sync.WaitGroup.
 *
 * Invariant (under wg->lock): count >= 0, and `waiters` lists the threads
 * blocked in waitgroup_wait, which only happens while count > 0. The change
 * that brings count to 0 takes the whole list and, after dropping the lock,
 * wakes each waiter. A waiter parks on its own stack (like a channel
 * waiter), so the deadlock watchdog sees it as asleep in a core wait.
 */
#include "common/sync.h"

#include <stdio.h>

#include "common/goroutine.h"
#include "common/park.h"

typedef struct waitgroup_waiter {
    struct waitgroup_waiter *next;
    parker_t                 parker;
} waitgroup_waiter_t;

void waitgroup_init(waitgroup_t *wg)
{
    if (wg == NULL)
        return;
    wg->lock = (lock_t){0};
    wg->count = 0;
    wg->waiters = NULL;
}

void waitgroup_add(waitgroup_t *wg, int64_t delta)
{
    if (wg == NULL)
        return;
    lock_acquire(&wg->lock);
    if (wg->count + delta < 0) {
        lock_release(&wg->lock);
        fprintf(stderr, "waitgroup: negative counter refused (count %lld, delta %lld)\n",
                (long long)wg->count, (long long)delta);
        return;
    }
    wg->count += delta;
    waitgroup_waiter_t *woken = NULL;
    if (wg->count == 0) {
        woken = wg->waiters;
        wg->waiters = NULL;
    }
    lock_release(&wg->lock);
    while (woken) {
        waitgroup_waiter_t *next = woken->next; /* before the owner may return */
        parker_unpark(&woken->parker);
        woken = next;
    }
}

void waitgroup_done(waitgroup_t *wg)
{
    waitgroup_add(wg, -1);
}

void waitgroup_wait(waitgroup_t *wg)
{
    if (wg == NULL)
        return;
    lock_acquire(&wg->lock);
    if (wg->count == 0) {
        lock_release(&wg->lock);
        return;
    }
    waitgroup_waiter_t me = {.next = wg->waiters};
    wg->waiters = &me;
    lock_release(&wg->lock);
    go_wait_begin(WAIT_WAITGROUP, 0, 0, 0, 0);
    parker_park(&me.parker);
    go_wait_end();
}

void waitgroup_destroy(waitgroup_t *wg)
{
    (void)wg; /* nothing to release: kept for the API, and for a lock that needs it */
}
