/*
 * test_01_worker_pool.c - lesson 01: the worker pool module at work. Every
 * task yields exactly one result; at most N tasks run at once and every
 * worker gets some; a failing task reports its error and its worker goes
 * on; bad arguments are refused; running out of memory at any allocation
 * of worker_pool_new leaves nothing behind.
 *
 * Stopping the pool is in test_01_worker_pool_stop.c, the program in
 * test_01_program.c; the harness (probe_task, tally, producer) in
 * tests/worker_pool_helpers.h. Every test ends with support_end():
 * goroutines, allocations and timers back to where they were.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "01-worker-pool/worker_pool.h"
#include "common/alloc.h"
#include "common/timer.h"
#include "tests/support/support.h"
#include "tests/worker_pool_helpers.h"

Test(worker_pool, every_result_exactly_once, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(4, 8, probe_task, &p);
    cr_assert_not_null(pool);

    struct producer pr = {.pool = pool, .count = 200, .stop = true};
    start_producer(&pr);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(finish_producer(&pr), 0);

    cr_assert_eq(t.total, 200);
    for (int id = 0; id < 200; id++) {
        cr_assert_eq(t.count[id], 1, "task %d: %d results", id, t.count[id]);
        cr_assert_eq(atomic_load(&p.runs[id]), 1, "task %d ran %d times", id, p.runs[id]);
        cr_assert_eq(t.err[id], 0);
        cr_assert(t.worker[id] >= 1 && t.worker[id] <= 4, "task %d: worker %d", id, t.worker[id]);
    }
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, at_most_n_at_once_and_every_worker_used, .timeout = 20)
{
    support_begin();
    enum { WORKERS = 4, TASKS = 40 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, 16, probe_task, &p);
    cr_assert_not_null(pool);
    struct producer pr = {.pool = pool, .count = TASKS, .stop = true};
    start_producer(&pr);

    /* The first WORKERS tasks are held, so they run at the same time: one
     * on each worker. */
    bool busy[WORKERS + 1] = {false};
    for (int i = 0; i < WORKERS; i++) {
        int worker = 0;
        cr_assert_eq(chan_recv(p.started, &worker), 0);
        cr_assert(worker >= 1 && worker <= WORKERS && !busy[worker], "worker %d twice", worker);
        busy[worker] = true;
    }
    /* With every worker held, no further task may start. Absence can only be
     * checked for a while: 20 ms is ample for a pool that breaks its bound. */
    chan_t     *timeout = time_after(20 * TIME_MILLISECOND);
    chan_case_t cases[] = {chan_case_recv(p.started, NULL), chan_case_recv(timeout, NULL)};
    cr_assert_eq(chan_select(cases, 2), 1, "a task started while every worker was busy");
    chan_release(timeout);

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(finish_producer(&pr), 0);
    cr_assert_eq(t.total, TASKS);
    cr_assert_eq(atomic_load(&p.peak), WORKERS, "peak concurrency %d", p.peak);
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, failing_task_reports_error_and_worker_goes_on, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    p.fail_odd = true;
    worker_pool_t *pool = worker_pool_new(1, 16, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 10; id++)
        submit_id(pool, id);
    worker_pool_stop(pool, NULL);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, 10);
    for (int id = 0; id < 10; id++) {
        cr_assert_eq(t.count[id], 1);
        cr_assert_eq(t.err[id], id % 2 == 1 ? EIO : 0, "task %d: err %d", id, t.err[id]);
        cr_assert_eq(t.worker[id], 1, "the only worker ran every task");
    }
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, bad_arguments_are_refused, .timeout = 10)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    errno = 0;
    cr_assert_null(worker_pool_new(0, 1, probe_task, &p));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(worker_pool_new(1, 1, NULL, &p));
    cr_assert_eq(errno, EINVAL);
    worker_pool_task_t task = {0};
    cr_assert_eq(worker_pool_submit(NULL, &task), EINVAL);
    cr_assert_eq(worker_pool_try_submit(NULL, &task), EINVAL);
    cr_assert_eq(worker_pool_stop(NULL, NULL), EINVAL);
    cr_assert_null(worker_pool_results(NULL));
    worker_pool_free(NULL);

    worker_pool_t *pool = worker_pool_new(1, 1, probe_task, &p);
    cr_assert_not_null(pool);
    cr_assert_eq(worker_pool_submit(pool, NULL), EINVAL);
    cr_assert_eq(worker_pool_try_submit(pool, NULL), EINVAL);
    worker_pool_stop(pool, NULL);
    cr_assert_eq(chan_recv(worker_pool_results(pool), NULL), EPIPE, "no task, no result");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, out_of_memory_leaves_nothing_behind, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    bool made = false;
    /* Fail the 1st allocation, then the 2nd, ... until new succeeds: every
     * half-built pool (some workers already running) must unwind cleanly. */
    for (int64_t n = 0; n < 200 && !made; n++) {
        alloc_fail_after(n);
        errno = 0;
        worker_pool_t *pool = worker_pool_new(3, 2, probe_task, &p);
        int            err = errno;
        alloc_fail_reset();
        if (pool == NULL) {
            cr_assert(err == ENOMEM || err == EAGAIN, "errno %d after %lld allocations", err,
                      (long long)n);
            continue;
        }
        made = true;
        submit_id(pool, 0);
        worker_pool_stop(pool, NULL);
        struct tally t = {0};
        read_until_closed(pool, &t);
        cr_assert_eq(t.total, 1);
        worker_pool_free(pool);
    }
    cr_assert(made, "worker_pool_new never succeeded");
    probe_destroy(&p);
    support_end();
}
