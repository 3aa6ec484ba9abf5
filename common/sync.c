/*
 * sync.c - sync.WaitGroup on a mutex and a condition variable.
 *
 * Invariant (under wg->lock): count >= 0; when it reaches 0, every thread in
 * waitgroup_wait is woken. The count is only changed under the lock, so a
 * waiter can never miss the transition to zero.
 */
#include "common/sync.h"

#include <stdio.h>

void waitgroup_init(waitgroup_t *wg)
{
    if (wg == NULL)
        return;
    pthread_mutex_init(&wg->lock, NULL);
    pthread_cond_init(&wg->zero, NULL);
    wg->count = 0;
}

void waitgroup_add(waitgroup_t *wg, int64_t delta)
{
    if (wg == NULL)
        return;
    pthread_mutex_lock(&wg->lock);
    if (wg->count + delta < 0) {
        pthread_mutex_unlock(&wg->lock);
        fprintf(stderr, "waitgroup: negative counter refused (count %lld, delta %lld)\n",
                (long long)wg->count, (long long)delta);
        return;
    }
    wg->count += delta;
    if (wg->count == 0)
        pthread_cond_broadcast(&wg->zero);
    pthread_mutex_unlock(&wg->lock);
}

void waitgroup_done(waitgroup_t *wg)
{
    waitgroup_add(wg, -1);
}

void waitgroup_wait(waitgroup_t *wg)
{
    if (wg == NULL)
        return;
    pthread_mutex_lock(&wg->lock);
    while (wg->count > 0)
        pthread_cond_wait(&wg->zero, &wg->lock);
    pthread_mutex_unlock(&wg->lock);
}

void waitgroup_destroy(waitgroup_t *wg)
{
    if (wg == NULL)
        return;
    pthread_cond_destroy(&wg->zero);
    pthread_mutex_destroy(&wg->lock);
}
