/*
 * test_01_worker_pool_stop.c - lesson 01: stopping the worker pool. A
 * graceful stop runs everything accepted, even from a full queue; a submit
 * after (or racing) the stop is EPIPE and yields no result; a stop under a
 * canceled or expired context hands back every task not yet started with
 * ECANCELED or ETIMEDOUT, while a distant deadline changes nothing; freeing
 * a pool nobody stopped or read closes its results and leaves nothing.
 *
 * The harness is in tests/worker_pool_helpers.h: with every worker held at
 * the gate, the pool's state is exact when the stop comes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>

#include "01-worker-pool/worker_pool.h"
#include "common/context.h"
#include "common/timer.h"
#include "tests/support/support.h"
#include "tests/worker_pool_helpers.h"

Test(worker_pool, full_queue_then_graceful_stop_runs_everything, .timeout = 20)
{
    support_begin();
    enum { WORKERS = 2, QUEUE = 4 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, QUEUE, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, WORKERS, QUEUE);

    worker_pool_task_t extra = {.id = submitted};
    cr_assert_eq(worker_pool_try_submit(pool, &extra), EAGAIN, "the queue should be full");
    cr_assert_eq(worker_pool_stop(pool, NULL), 0);

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted);
    for (int64_t id = 0; id < submitted; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "task %lld", (long long)id);
    cr_assert_eq(t.count[submitted], 0, "the refused task must yield no result");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, submit_after_stop_is_epipe, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 1);
    worker_pool_t *pool = worker_pool_new(1, 1, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, 1, 1);

    /* This submit waits for room (or has not begun yet); either way the stop
     * must turn it into EPIPE, and its task into no result at all. */
    struct producer late = {.pool = pool, .first = submitted, .count = 1};
    start_producer(&late);
    cr_assert_eq(worker_pool_stop(pool, NULL), 0);
    cr_assert_eq(finish_producer(&late), EPIPE);
    worker_pool_task_t task = {.id = submitted + 1};
    cr_assert_eq(worker_pool_submit(pool, &task), EPIPE);
    cr_assert_eq(worker_pool_try_submit(pool, &task), EPIPE);
    cr_assert_eq(worker_pool_stop(pool, NULL), EPIPE, "a second stop changes nothing");

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted, "only the accepted tasks yield results");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

/* Fills a pool, stops it under ctx, and checks that every task not yet
 * started comes back with `want` before the running ones are let go. */
static void check_early_stop(ctx_t *ctx, int want, int64_t not_before)
{
    enum { WORKERS = 3, QUEUE = 5 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, QUEUE, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, WORKERS, QUEUE);
    cr_assert_eq(worker_pool_stop(pool, ctx), 0);
    ctx_release(ctx); /* the pool holds its own reference */

    struct tally t = {0};
    read_results(pool, &t, QUEUE + 1); /* the workers are still held */
    cr_assert_geq(time_now(), not_before, "tasks returned before the deadline");
    for (int64_t id = WORKERS; id < submitted; id++) {
        cr_assert_eq(t.count[id], 1, "unstarted task %lld: %d results", (long long)id, t.count[id]);
        cr_assert_eq(t.err[id], want, "task %lld: err %d", (long long)id, t.err[id]);
        cr_assert_eq(t.worker[id], 0);
        cr_assert_eq(atomic_load(&p.runs[id]), 0, "a returned task must not run");
    }
    chan_close(p.gate);
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted);
    for (int64_t id = 0; id < WORKERS; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "running task %lld", (long long)id);
    worker_pool_free(pool);
    probe_destroy(&p);
}

Test(worker_pool, stop_with_canceled_context_returns_unstarted, .timeout = 20)
{
    support_begin();
    ctx_t *ctx = ctx_with_cancel(NULL);
    cr_assert_not_null(ctx);
    ctx_cancel(ctx);
    check_early_stop(ctx, ECANCELED, 0);
    support_end();
}

Test(worker_pool, stop_with_deadline_returns_unstarted, .timeout = 20)
{
    support_begin();
    int64_t deadline = time_now() + 20 * TIME_MILLISECOND;
    ctx_t  *ctx = ctx_with_deadline(NULL, deadline);
    cr_assert_not_null(ctx);
    check_early_stop(ctx, ETIMEDOUT, deadline);
    support_end();
}

Test(worker_pool, stop_with_distant_deadline_runs_everything, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(3, 4, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 5; id++)
        submit_id(pool, id);
    ctx_t *ctx = ctx_with_timeout(NULL, 60 * TIME_SECOND);
    cr_assert_eq(worker_pool_stop(pool, ctx), 0);
    ctx_release(ctx);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, 5);
    for (int64_t id = 0; id < 5; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "task %lld", (long long)id);
    worker_pool_free(pool); /* releases the context, and with it its timer */
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, free_without_reading_results_leaves_nothing, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(2, 32, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 30; id++)
        submit_id(pool, id); /* more than the results channel holds */
    chan_t *results = chan_retain(worker_pool_results(pool));
    worker_pool_free(pool); /* never stopped, nothing read: the emergency exit */
    cr_assert_eq(chan_recv(results, NULL), EPIPE, "free leaves the results channel closed");
    chan_release(results);
    for (int id = 0; id < 30; id++)
        cr_assert_leq(atomic_load(&p.runs[id]), 1, "task %d ran twice", id);
    probe_destroy(&p);
    support_end();
}
