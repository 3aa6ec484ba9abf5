/*
 * test_common_sema.c - the weighted semaphore (common/sema.h): the bound,
 * strict FIFO order without barging, cancellation at any point in the
 * queue, too-big requests, and misuse.
 *
 * To know that a waiter is queued without sleeping, tests use
 * sema_try_acquire(s, 0): zero tokens always fit, so it fails exactly when
 * somebody is queued.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND

static void wait_until_queued(sema_t *s)
{
    int64_t give_up = time_now() + 5 * TIME_SECOND;
    while (sema_try_acquire(s, 0)) {
        cr_assert_lt(time_now(), give_up, "the waiter never queued");
        go_yield();
    }
}

/* One sema_acquire on its own goroutine; its result arrives on `result`. */
struct acquirer {
    sema_t *s;
    ctx_t  *ctx;
    int64_t n;
    chan_t *result; /* cap 1, int */
};

static void acquire_and_report(void *arg)
{
    struct acquirer *a = arg;
    int              rc = sema_acquire(a->s, a->ctx, a->n);
    chan_send(a->result, &rc);
}

static void start_acquirer(struct acquirer *a, sema_t *s, ctx_t *ctx, int64_t n)
{
    *a = (struct acquirer){s, ctx, n, chan_make(sizeof(int), 1)};
    cr_assert_not_null(a->result);
    cr_assert_eq(go_named("acquirer", acquire_and_report, a), 0);
}

static int result_within(struct acquirer *a, duration_t limit)
{
    chan_t     *bound = time_after(limit);
    int         rc = -1;
    chan_case_t cases[2] = {chan_case_recv(a->result, &rc), chan_case_recv(bound, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(bound);
    cr_assert_eq(chosen, 0, "sema_acquire did not return within the bound");
    chan_release(a->result);
    return rc;
}

static bool still_waiting(struct acquirer *a)
{
    return chan_try_recv(a->result, NULL) == EAGAIN;
}

/* True if a is still waiting after `quiet`: it had that long to take tokens
 * it must not get (and, in practice, to queue). */
static bool waits_for(struct acquirer *a, duration_t quiet)
{
    chan_t     *bound = time_after(quiet);
    chan_case_t cases[2] = {chan_case_recv(a->result, NULL), chan_case_recv(bound, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(bound);
    return chosen == 1;
}

Test(sema, misuse_is_refused, .timeout = 10)
{
    support_begin();
    errno = 0;
    cr_assert_null(sema_new(-1));
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sema_acquire(NULL, NULL, 1), EINVAL);
    cr_assert_eq(sema_release(NULL, 1), EINVAL);
    cr_assert_not(sema_try_acquire(NULL, 1));
    sema_free(NULL);

    sema_t *s = sema_new(3);
    cr_assert_not_null(s);
    cr_assert_eq(sema_acquire(s, NULL, -1), EINVAL);
    cr_assert_not(sema_try_acquire(s, -1));
    cr_assert_eq(sema_held(s), 0);
    cr_assert_eq(sema_acquire(s, NULL, 2), 0);
    cr_assert_eq(sema_release(s, 3), EINVAL, "releasing more than is held");
    cr_assert_eq(sema_held(s), 2, "a refused release changes nothing");
    cr_assert_eq(sema_release(s, -1), EINVAL);
    cr_assert_eq(sema_held(s), 2);
    cr_assert_eq(sema_release(s, 2), 0);
    cr_assert_eq(sema_release(s, 1), EINVAL);
    cr_assert_eq(sema_held(s), 0);
    sema_free(s);

    sema_t *empty = sema_new(0);
    cr_assert_not_null(empty);
    cr_assert_eq(sema_acquire(empty, NULL, 0), 0, "zero tokens always fit");
    cr_assert_eq(sema_acquire(empty, NULL, 1), EINVAL, "could only wait forever");
    sema_free(empty);
    support_end();
}

Test(sema, try_acquire_takes_only_what_fits, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(5);
    cr_assert(sema_try_acquire(s, 3));
    cr_assert_not(sema_try_acquire(s, 3));
    cr_assert_eq(sema_held(s), 3);
    cr_assert(sema_try_acquire(s, 2));
    cr_assert_not(sema_try_acquire(s, 1));
    cr_assert(sema_try_acquire(s, 0));
    cr_assert_not(sema_try_acquire(s, 6));
    cr_assert_eq(sema_release(s, 5), 0);
    sema_free(s);
    support_end();
}

Test(sema, done_context_fails_even_with_free_tokens, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(4);
    ctx_t  *canceled = ctx_with_cancel(NULL);
    ctx_cancel(canceled);
    cr_assert_eq(sema_acquire(s, canceled, 1), ECANCELED);
    ctx_t *expired = ctx_with_timeout(NULL, 0);
    cr_assert_eq(sema_acquire(s, expired, 1), ETIMEDOUT);
    cr_assert_eq(sema_acquire(s, expired, 0), ETIMEDOUT);
    cr_assert_eq(sema_held(s), 0, "a failed acquire holds nothing");
    ctx_release(expired);
    ctx_release(canceled);
    sema_free(s);
    support_end();
}

Test(sema, timed_out_waiter_holds_nothing, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(2);
    cr_assert_eq(sema_acquire(s, NULL, 2), 0);
    int64_t start = time_now();
    ctx_t  *ctx = ctx_with_timeout(NULL, 10 * MS);
    cr_assert_eq(sema_acquire(s, ctx, 1), ETIMEDOUT);
    cr_assert_geq(time_now() - start, 10 * MS, "gave up before the deadline");
    cr_assert_eq(sema_held(s), 2);
    cr_assert(sema_try_acquire(s, 0), "the waiter left the queue");
    cr_assert_eq(sema_release(s, 2), 0);
    cr_assert_eq(sema_acquire(s, NULL, 2), 0, "all tokens are back");
    cr_assert_eq(sema_release(s, 2), 0);
    ctx_release(ctx);
    sema_free(s);
    support_end();
}

Test(sema, too_big_request_waits_only_for_its_context, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(2);
    int     key;
    ctx_t  *never_done = ctx_with_value(NULL, &key, NULL);
    cr_assert_eq(sema_acquire(s, NULL, 3), EINVAL, "NULL context: it could only wait forever");
    cr_assert_eq(sema_acquire(s, ctx_background(), 3), EINVAL);
    cr_assert_eq(sema_acquire(s, never_done, 3), EINVAL);

    int64_t start = time_now();
    ctx_t  *timeout = ctx_with_timeout(NULL, 10 * MS);
    cr_assert_eq(sema_acquire(s, timeout, 3), ETIMEDOUT);
    cr_assert_geq(time_now() - start, 10 * MS);

    ctx_t          *cancel = ctx_with_cancel(NULL);
    struct acquirer big;
    start_acquirer(&big, s, cancel, 3);
    /* It is not queued: the others go on as if it did not exist. */
    for (int i = 0; i < 100; i++) {
        cr_assert(sema_try_acquire(s, 2), "a too-big request blocked the others");
        cr_assert_eq(sema_release(s, 2), 0);
    }
    cr_assert(still_waiting(&big));
    ctx_cancel(cancel);
    cr_assert_eq(result_within(&big, 5 * TIME_SECOND), ECANCELED);
    cr_assert_eq(sema_held(s), 0);
    ctx_release(cancel);
    ctx_release(timeout);
    ctx_release(never_done);
    sema_free(s);
    support_end();
}

Test(sema, small_requests_do_not_barge_past_a_big_one, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(4);
    cr_assert_eq(sema_acquire(s, NULL, 1), 0);
    struct acquirer big;
    start_acquirer(&big, s, NULL, 4);
    wait_until_queued(s);
    /* Three tokens are free, but the big request is first in line. */
    cr_assert_not(sema_try_acquire(s, 1));
    ctx_t *soon = ctx_with_timeout(NULL, 10 * MS);
    cr_assert_eq(sema_acquire(s, soon, 1), ETIMEDOUT, "a small request barged ahead");
    ctx_release(soon);
    cr_assert_eq(sema_held(s), 1);
    cr_assert(still_waiting(&big));

    cr_assert_eq(sema_release(s, 1), 0);
    cr_assert_eq(result_within(&big, 5 * TIME_SECOND), 0);
    cr_assert_eq(sema_held(s), 4);
    cr_assert_eq(sema_release(s, 4), 0);
    sema_free(s);
    support_end();
}

/* Small acquirers that keep the semaphore busy, to try to starve a big one. */
struct churn {
    sema_t     *s;
    atomic_bool stop;
    waitgroup_t wg;
};

static void churn(void *arg)
{
    struct churn *c = arg;
    while (!atomic_load(&c->stop)) {
        if (sema_acquire(c->s, NULL, 1) == 0) {
            go_yield();
            sema_release(c->s, 1);
        }
    }
    waitgroup_done(&c->wg);
}

Test(sema, big_request_is_not_starved, .timeout = 20)
{
    support_begin();
    struct churn c = {.s = sema_new(4), .stop = false};
    waitgroup_init(&c.wg);
    waitgroup_add(&c.wg, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(go_named("churn", churn, &c), 0);
    for (int round = 0; round < 20; round++) {
        ctx_t *ctx = ctx_with_timeout(NULL, 5 * TIME_SECOND);
        cr_assert_eq(sema_acquire(c.s, ctx, 4), 0, "the big request starved");
        cr_assert_eq(sema_held(c.s), 4, "the big request shares with nobody");
        cr_assert_eq(sema_release(c.s, 4), 0);
        ctx_release(ctx);
    }
    atomic_store(&c.stop, true);
    waitgroup_wait(&c.wg);
    waitgroup_destroy(&c.wg);
    cr_assert_eq(sema_held(c.s), 0);
    sema_free(c.s);
    support_end();
}

Test(sema, canceled_head_lets_the_others_through, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(2);
    cr_assert_eq(sema_acquire(s, NULL, 2), 0);
    ctx_t          *head_ctx = ctx_with_cancel(NULL);
    struct acquirer head, behind;
    start_acquirer(&head, s, head_ctx, 2);
    wait_until_queued(s);
    start_acquirer(&behind, s, NULL, 1);
    cr_assert_eq(sema_release(s, 1), 0);
    /* One token is free and `behind` needs one, but `head` is first. */
    cr_assert(waits_for(&behind, 20 * MS), "served past the head of the queue");
    cr_assert(still_waiting(&head));
    cr_assert_eq(sema_held(s), 1);

    ctx_cancel(head_ctx);
    cr_assert_eq(result_within(&head, 5 * TIME_SECOND), ECANCELED);
    cr_assert_eq(result_within(&behind, 5 * TIME_SECOND), 0,
                 "the waiter behind a canceled head was not served");
    cr_assert_eq(sema_held(s), 2, "ours and the one behind; the canceled head holds nothing");
    cr_assert(sema_try_acquire(s, 0), "nobody left in the queue");
    cr_assert_eq(sema_release(s, 2), 0);
    ctx_release(head_ctx);
    sema_free(s);
    support_end();
}

Test(sema, canceled_middle_waiter_leaves_the_order_intact, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(3);
    cr_assert_eq(sema_acquire(s, NULL, 3), 0);
    ctx_t          *mid_ctx = ctx_with_cancel(NULL);
    struct acquirer first, mid, last;
    start_acquirer(&first, s, NULL, 3);
    wait_until_queued(s);
    start_acquirer(&mid, s, mid_ctx, 1);
    cr_assert(waits_for(&mid, 10 * MS));
    start_acquirer(&last, s, NULL, 2);
    cr_assert(waits_for(&last, 10 * MS));
    ctx_cancel(mid_ctx);
    cr_assert_eq(result_within(&mid, 5 * TIME_SECOND), ECANCELED);
    cr_assert(still_waiting(&first));
    cr_assert(still_waiting(&last));

    cr_assert_eq(sema_release(s, 3), 0); /* ours, to `first` */
    cr_assert_eq(result_within(&first, 5 * TIME_SECOND), 0);
    cr_assert(still_waiting(&last), "`last` needs 2 and `first` holds all 3");
    cr_assert_eq(sema_release(s, 3), 0); /* `first`'s, to `last` */
    cr_assert_eq(result_within(&last, 5 * TIME_SECOND), 0);
    cr_assert_eq(sema_held(s), 2);
    cr_assert_eq(sema_release(s, 2), 0);
    ctx_release(mid_ctx);
    sema_free(s);
    support_end();
}

Test(sema, allocation_failure_while_queuing, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(1);
    cr_assert_eq(sema_acquire(s, NULL, 1), 0);
    ctx_t  *ctx = ctx_with_timeout(NULL, 5 * TIME_SECOND);
    int64_t live = alloc_live();
    alloc_fail_after(0);
    int rc = sema_acquire(s, ctx, 1); /* must queue, and queuing allocates */
    alloc_fail_reset();
    cr_assert_eq(rc, ENOMEM);
    cr_assert_eq(alloc_live(), live);
    cr_assert(sema_try_acquire(s, 0), "a failed waiter is not left in the queue");
    cr_assert_eq(sema_held(s), 1);
    cr_assert_eq(sema_release(s, 1), 0);
    ctx_release(ctx);
    sema_free(s);
    support_end();
}

/* Concurrency: the bound holds, and cancellations leave no token behind. */
enum { STRESS_SIZE = 10, STRESS_THREADS = 8, STRESS_ROUNDS = 400 };

struct stress {
    sema_t     *s;
    atomic_long in_use, peak, acquired, gave_up, errors;
    waitgroup_t wg;
};

static void stress_worker(void *arg)
{
    struct stress *st = arg;
    unsigned       seed = (unsigned)(uintptr_t)&seed;
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        int64_t n = rand_r(&seed) % (STRESS_SIZE + 1); /* 0 .. size */
        ctx_t  *ctx = NULL;
        switch (rand_r(&seed) % 3) {
        case 0:
            ctx = ctx_with_timeout(NULL, (rand_r(&seed) % 200) * TIME_MICROSECOND);
            break;
        case 1:
            ctx = ctx_with_cancel(NULL);
            break;
        default:
            break;
        }
        if (ctx && rand_r(&seed) % 4 == 0)
            ctx_cancel(ctx); /* sometimes done before it starts */
        int rc = sema_acquire(st->s, ctx, n);
        if (rc == 0) {
            long now = atomic_fetch_add(&st->in_use, n) + n;
            long peak = atomic_load(&st->peak);
            while (now > peak && !atomic_compare_exchange_weak(&st->peak, &peak, now))
                ;
            if (rand_r(&seed) % 2)
                go_yield();
            atomic_fetch_sub(&st->in_use, n);
            if (sema_release(st->s, n) != 0)
                atomic_fetch_add(&st->errors, 1);
            atomic_fetch_add(&st->acquired, 1);
        } else if (rc == ETIMEDOUT || rc == ECANCELED) {
            atomic_fetch_add(&st->gave_up, 1);
        } else {
            atomic_fetch_add(&st->errors, 1);
        }
        ctx_release(ctx);
    }
    waitgroup_done(&st->wg);
}

Test(sema, stress_bound_and_cancellation, .timeout = 60)
{
    support_begin();
    struct stress st = {.s = sema_new(STRESS_SIZE)};
    waitgroup_init(&st.wg);
    waitgroup_add(&st.wg, STRESS_THREADS);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(go_named("sema stress", stress_worker, &st), 0);
    waitgroup_wait(&st.wg);
    waitgroup_destroy(&st.wg);
    cr_assert_eq(atomic_load(&st.errors), 0, "unexpected error from acquire or release");
    cr_assert_leq(atomic_load(&st.peak), STRESS_SIZE, "more tokens in use than the size");
    cr_assert_gt(atomic_load(&st.acquired), 0);
    cr_assert_eq(atomic_load(&st.acquired) + atomic_load(&st.gave_up),
                 STRESS_THREADS * STRESS_ROUNDS);
    cr_assert_eq(sema_held(st.s), 0, "tokens leaked");
    cr_assert(sema_try_acquire(st.s, STRESS_SIZE), "the queue is empty and every token free");
    cr_assert_eq(sema_release(st.s, STRESS_SIZE), 0);
    sema_free(st.s);
    support_end();
}

/* Acquires of one token with no context: only the bound can stop them. */
static void unit_worker(void *arg)
{
    struct stress *st = arg;
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        if (sema_acquire(st->s, NULL, 1) != 0) {
            atomic_fetch_add(&st->errors, 1);
            continue;
        }
        long now = atomic_fetch_add(&st->in_use, 1) + 1;
        long peak = atomic_load(&st->peak);
        while (now > peak && !atomic_compare_exchange_weak(&st->peak, &peak, now))
            ;
        /* Hold on until three holders have been seen at once, so reaching
         * the bound does not hang on the scheduler's luck (under qemu-user a
         * yield rarely overlaps three holders). A semaphore that let fewer
         * than three in would hang here: the timeout fails the test. */
        while (atomic_load(&st->peak) < 3)
            go_yield();
        go_yield();
        atomic_fetch_sub(&st->in_use, 1);
        sema_release(st->s, 1);
    }
    waitgroup_done(&st->wg);
}

Test(sema, limit_holds_with_many_threads, .timeout = 30)
{
    support_begin();
    struct stress st = {.s = sema_new(3)};
    waitgroup_init(&st.wg);
    waitgroup_add(&st.wg, STRESS_THREADS);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(go_named("sema unit", unit_worker, &st), 0);
    waitgroup_wait(&st.wg);
    waitgroup_destroy(&st.wg);
    cr_assert_eq(atomic_load(&st.errors), 0);
    cr_assert_eq(atomic_load(&st.peak), 3, "three holders at once, never more");
    cr_assert_eq(sema_held(st.s), 0);
    sema_free(st.s);
    support_end();
}
