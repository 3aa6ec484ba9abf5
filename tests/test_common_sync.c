/*
 * test_common_sync.c - the wait group (common/sync.h): add, done and wait
 * across threads, a wait that returns at once, and a refused negative count.
 *
 * A waiter that has not returned yet is told apart from one that never
 * waited by support_wait_asleep_at(): the goroutine is asleep on a parker
 * nobody has woken, under either runtime.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/go.h"
#include "common/goroutine.h"
#include "common/sync.h"
#include "tests/support/support.h"

/* A goroutine that waits on a wait group and then says so. */
typedef struct {
    waitgroup_t           *wg;
    _Atomic(goroutine_t *) record; /* go_self(), for support_wait_asleep_at */
    atomic_int             returned;
    waitgroup_t            finished; /* lets the test wait for the waiter itself */
} waiter_t;

static void waiter(void *arg)
{
    waiter_t *w = arg;
    atomic_store(&w->record, go_self());
    waitgroup_wait(w->wg);
    atomic_store(&w->returned, 1);
    waitgroup_done(&w->finished);
}

static void start_waiter(waiter_t *w, waitgroup_t *wg)
{
    w->wg = wg;
    atomic_store(&w->record, NULL);
    atomic_store(&w->returned, 0);
    waitgroup_init(&w->finished);
    waitgroup_add(&w->finished, 1);
    cr_assert_eq(go(waiter, w), 0);
    support_wait_asleep_at(&w->record);
    cr_assert_eq(atomic_load(&w->returned), 0, "waitgroup_wait returned with a count above 0");
}

static void join_waiter(waiter_t *w)
{
    waitgroup_wait(&w->finished);
    waitgroup_destroy(&w->finished);
    cr_assert_eq(atomic_load(&w->returned), 1);
}

/* A worker: waits for the gate to close, counts itself, then is done. */
typedef struct {
    chan_t      *gate;
    waitgroup_t *wg;
    atomic_int  *finished;
} worker_t;

static void worker(void *arg)
{
    worker_t *w = arg;
    chan_recv(w->gate, NULL);
    atomic_fetch_add(w->finished, 1);
    waitgroup_done(w->wg);
}

Test(waitgroup, wait_returns_when_every_worker_is_done, .timeout = 10)
{
    support_begin();
    enum { WORKERS = 8 };
    waitgroup_t wg;
    waitgroup_init(&wg);
    chan_t    *gate = chan_make(0, 0);
    atomic_int finished = 0;
    worker_t   w = {gate, &wg, &finished};
    for (int i = 0; i < WORKERS; i++) {
        waitgroup_add(&wg, 1); /* before go(), as in Go */
        cr_assert_eq(go(worker, &w), 0);
    }
    waiter_t waiters[3]; /* several waiters are all released together */
    for (int i = 0; i < 3; i++)
        start_waiter(&waiters[i], &wg);
    cr_assert_eq(chan_close(gate), 0);
    waitgroup_wait(&wg);
    cr_assert_eq(atomic_load(&finished), WORKERS, "wait returned before every done");
    for (int i = 0; i < 3; i++)
        join_waiter(&waiters[i]);
    waitgroup_destroy(&wg);
    chan_release(gate);
    support_end();
}

Test(waitgroup, wait_on_zero_returns_at_once_and_reuse_works, .timeout = 10)
{
    support_begin();
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_wait(&wg); /* count 0: must not block (the test's timeout would catch it) */
    for (int round = 0; round < 3; round++) {
        waitgroup_add(&wg, 2);
        waiter_t w;
        start_waiter(&w, &wg);
        waitgroup_done(&wg);
        /* Still asleep: a released waiter would return and never sleep
         * again. (Asked of the goroutine, not of the thread it started on:
         * under M:N a goroutine woken by mistake may resume elsewhere.) */
        support_wait_asleep_at(&w.record);
        cr_assert_eq(atomic_load(&w.returned), 0, "one done of two released the waiter");
        waitgroup_done(&wg);
        join_waiter(&w);
    }
    waitgroup_destroy(&wg);
    support_end();
}

Test(waitgroup, a_negative_count_is_refused, .timeout = 10)
{
    support_begin();
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 1);
    waitgroup_add(&wg, -2); /* refused, with a diagnostic on stderr */
    cr_assert_eq(wg.count, 1, "a refused add must leave the count as it was");
    waitgroup_done(&wg);
    cr_assert_eq(wg.count, 0);
    waitgroup_done(&wg); /* one done too many: refused too */
    cr_assert_eq(wg.count, 0);
    waitgroup_add(&wg, 1);
    waiter_t w; /* the count is really 1: a waiter blocks until the next done */
    start_waiter(&w, &wg);
    waitgroup_done(&wg);
    join_waiter(&w);
    waitgroup_destroy(&wg);
    support_end();
}
