/*
 * test_03_semaphore_cancel.c - lesson 03: the limiter under contexts.
 * Waiters whose context times out or is canceled return ETIMEDOUT or
 * ECANCELED holding nothing and leaving nothing queued, in both forms; a
 * done context wins over free tokens; a small request queued behind a big
 * one waits until the big one gives up; a run with a deadline reports each
 * task exactly once, started or given up at the deadline.
 *
 * The background run with gated work is in tests/semaphore_helpers.h.
 * Every test ends with support_end(): no goroutine, allocation or timer
 * left behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>

#include "03-semaphore/limiter.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/semaphore_helpers.h"
#include "tests/support/support.h"

typedef struct {
    limiter_t   *limiter;
    ctx_t       *ctx;
    int64_t      weight;
    int          rc;
    waitgroup_t *wg;
} waiter_t;

static void waiter_main(void *arg)
{
    waiter_t *w = arg;
    w->rc = limiter_acquire(w->limiter, w->ctx, w->weight);
    if (w->rc == 0)
        limiter_release(w->limiter, w->weight);
    waitgroup_done(w->wg);
}

/* Fills l, lets three waiters give up on ctx, checks they hold nothing. */
static void waiters_give_up(limiter_kind_t kind, bool use_timeout)
{
    limiter_t *l = limiter_new(kind, 2);
    cr_assert_not_null(l);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(limiter_acquire(l, NULL, 1), 0);

    int64_t t0 = time_now();
    ctx_t  *ctx =
        use_timeout ? ctx_with_timeout(NULL, 20 * TIME_MILLISECOND) : ctx_with_cancel(NULL);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waiter_t waiters[3];
    for (int i = 0; i < 3; i++) {
        waiters[i] = (waiter_t){l, ctx, 1, -1, &wg};
        waitgroup_add(&wg, 1);
        cr_assert_eq(go_named("waiter", waiter_main, &waiters[i]), 0);
    }
    if (!use_timeout)
        ctx_cancel(ctx);
    waitgroup_wait(&wg);
    int want = use_timeout ? ETIMEDOUT : ECANCELED;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(waiters[i].rc, want, "waiter %d: %d", i, waiters[i].rc);
    if (use_timeout)
        cr_assert_geq(time_now() - t0, 20 * TIME_MILLISECOND, "they waited for the deadline");
    cr_assert_eq(limiter_held(l), 2, "the count is exactly where it was");

    /* Nothing was left reserved or queued by the waiters that gave up. */
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_held(l), 0);
    cr_assert(limiter_try_acquire(l, 1), "the queue is empty");
    cr_assert(limiter_try_acquire(l, 1));
    cr_assert_eq(limiter_held(l), 2);
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_release(l, 1), 0);

    ctx_release(ctx);
    waitgroup_destroy(&wg);
    limiter_free(l);
}

Test(semaphore, waiters_time_out_holding_nothing, .timeout = 20)
{
    support_begin();
    waiters_give_up(LIMITER_SEMA, true);
    waiters_give_up(LIMITER_CHAN, true);
    support_end();
}

Test(semaphore, waiters_canceled_holding_nothing, .timeout = 20)
{
    support_begin();
    waiters_give_up(LIMITER_SEMA, false);
    waiters_give_up(LIMITER_CHAN, false);
    support_end();
}

Test(semaphore, done_context_wins_over_free_tokens, .timeout = 10)
{
    support_begin();
    limiter_kind_t kinds[2] = {LIMITER_SEMA, LIMITER_CHAN};
    for (int k = 0; k < 2; k++) {
        limiter_t *l = limiter_new(kinds[k], 2);
        ctx_t     *ctx = ctx_with_cancel(NULL);
        ctx_cancel(ctx);
        for (int i = 0; i < 50; i++)
            cr_assert_eq(limiter_acquire(l, ctx, 1), ECANCELED);
        cr_assert_eq(limiter_held(l), 0);
        ctx_release(ctx);
        limiter_free(l);
    }
    support_end();
}

/* Polls until somebody is queued on l (weight 0 succeeds only while the
 * queue is empty); false if that does not happen within 5 s. */
static bool wait_until_queued(limiter_t *l)
{
    int64_t    deadline = time_now() + 5 * TIME_SECOND;
    duration_t pause = TIME_MICROSECOND;
    while (limiter_try_acquire(l, 0)) {
        if (time_now() > deadline)
            return false;
        time_sleep(pause);
        if (pause < TIME_MILLISECOND)
            pause *= 2;
    }
    return true;
}

typedef struct {
    ctx_t       *ctx;
    duration_t   after;
    waitgroup_t *wg;
} canceler_t;

static void canceler_main(void *arg)
{
    canceler_t *c = arg;
    chan_t     *timer = time_after(c->after);
    chan_recv(timer, NULL);
    chan_release(timer);
    ctx_cancel(c->ctx);
    waitgroup_done(c->wg);
}

Test(semaphore, small_waits_behind_big_until_big_gives_up, .timeout = 20)
{
    support_begin();
    limiter_t *l = limiter_new(LIMITER_SEMA, 3);
    cr_assert_eq(limiter_acquire(l, NULL, 2), 0); /* one token stays free */

    /* The big job's context has no deadline of its own, so it cannot give
     * up before the test has seen it queued. */
    ctx_t      *ctx = ctx_with_cancel(NULL);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 2); /* the big job and the canceler */
    waiter_t big = {l, ctx, 3, -1, &wg};
    cr_assert_eq(go_named("big job", waiter_main, &big), 0);
    cr_assert(wait_until_queued(l), "the big job queued");

    /* A token is free, but the big job is ahead: FIFO makes the small
     * request wait until the big one leaves the head of the queue, which
     * the canceler makes happen no earlier than 30 ms from now. */
    int64_t    earliest_cancel = time_now() + 30 * TIME_MILLISECOND;
    canceler_t canceler = {ctx, 30 * TIME_MILLISECOND, &wg};
    cr_assert_eq(go_named("canceler", canceler_main, &canceler), 0);
    cr_assert_eq(limiter_acquire(l, NULL, 1), 0);
    cr_assert_geq(time_now(), earliest_cancel, "the small request waited behind the big one");
    waitgroup_wait(&wg);
    cr_assert_eq(big.rc, ECANCELED);
    cr_assert_eq(limiter_held(l), 3, "the big job left holding nothing");
    cr_assert_eq(limiter_release(l, 3), 0);

    ctx_release(ctx);
    waitgroup_destroy(&wg);
    limiter_free(l);
    support_end();
}

Test(semaphore, run_with_deadline_gives_up_waiters, .timeout = 20)
{
    support_begin();
    enum { TASKS = 5, LIMIT = 2 };
    harness_t *h = harness_new(LIMITER_SEMA, LIMIT, TASKS);
    ctx_t     *ctx = ctx_with_timeout(NULL, 30 * TIME_MILLISECOND);
    h->job.ctx = ctx;
    harness_start(h);
    /* Every task reports exactly one outcome; gated tasks keep their tokens
     * until all five have, so at most LIMIT can start. */
    int started = 0, gave_up = 0, task;
    for (int i = 0; i < TASKS; i++) {
        cr_assert_eq(chan_recv(h->outcome, &task), 0);
        if (task > 0)
            started++;
        else
            gave_up++;
    }
    for (int i = 0; i < started; i++)
        cr_assert_eq(chan_send(h->proceed, NULL), 0);
    harness_wait(h);
    cr_assert_leq(started, LIMIT);
    cr_assert_geq(gave_up, TASKS - LIMIT);
    cr_assert_eq(h->stats.started, started);
    cr_assert_eq(h->stats.gave_up, gave_up);
    for (int i = 0; i < h->n_events; i++) {
        const limiter_event_t *ev = &h->events[i];
        if (ev->kind == LIMITER_GAVE_UP) {
            cr_assert_eq(ev->err, ETIMEDOUT, "task %d gave up at the deadline", ev->task);
            cr_assert_eq(count_events(h, LIMITER_STARTED, ev->task), 0);
        }
    }
    for (int t = 1; t <= TASKS; t++)
        cr_assert_eq(count_events(h, LIMITER_STARTED, t) + count_events(h, LIMITER_GAVE_UP, t), 1,
                     "task %d: exactly one outcome", t);
    ctx_release(ctx);
    harness_free(h);
    support_end();
}
