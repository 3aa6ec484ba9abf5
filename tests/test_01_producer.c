/*
 * test_01_producer.c - lesson 01's producer (01-worker-pool/producer.h),
 * the goroutine the program submits from: every task submitted with its
 * input filled in, and the pool stopped after the last; the first submit
 * error reported by producer_wait, and nothing submitted after it; a
 * producer that cannot start leaves nothing behind, and neither submits to
 * nor stops the pool. The tests need no worker to run a task (the queue
 * holds them all, or the pool is stopped), so they pass with the exercise
 * starter's pool too. Every test also proves the shutdown (support_end).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "01-worker-pool/producer.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

enum { WORKERS = 2, TASKS = 9 };

static int copy_input(void *env, int worker, const worker_pool_task_t *task)
{
    (void)env;
    (void)worker;
    struct job *job = task->data;
    snprintf(job->output, sizeof job->output, "done %s", job->input);
    return 0;
}

Test(producer_01, submits_every_task_then_stops_the_pool, .timeout = 20)
{
    support_begin();
    struct job     jobs[TASKS] = {0};
    worker_pool_t *pool = worker_pool_new(WORKERS, TASKS, copy_input, NULL);
    cr_assert_not_null(pool);
    producer_t *producer = producer_start(pool, jobs, TASKS);
    cr_assert_not_null(producer, "errno %d", errno);

    /* The queue holds every task: the producer finishes whatever the workers do. */
    cr_assert_eq(producer_wait(producer), 0, "a submit failed");
    for (int id = 1; id <= TASKS; id++) {
        char want[32];
        snprintf(want, sizeof want, "Task-%d-Data", id);
        cr_assert_str_eq(jobs[id - 1].input, want);
    }
    cr_assert_eq(worker_pool_stop(pool, NULL), EPIPE, "the producer did not stop the pool");
    worker_pool_free(pool);
    support_end();
}

Test(producer_01, reports_the_first_submit_error, .timeout = 20)
{
    support_begin();
    struct job     jobs[TASKS] = {0};
    worker_pool_t *pool = worker_pool_new(WORKERS, 4, copy_input, NULL);
    cr_assert_not_null(pool);
    cr_assert_eq(worker_pool_stop(pool, NULL), 0); /* every submit now fails with EPIPE */
    producer_t *producer = producer_start(pool, jobs, TASKS);
    cr_assert_not_null(producer);

    worker_pool_result_t r;
    cr_assert_eq(chan_recv(worker_pool_results(pool), &r), EPIPE,
                 "a task was accepted by a stopped pool");
    cr_assert_eq(producer_wait(producer), EPIPE);
    cr_assert_str_eq(jobs[0].input, "Task-1-Data");
    cr_assert_str_eq(jobs[1].input, "", "the producer went on after the first error");
    worker_pool_free(pool);
    support_end();
}

Test(producer_01, that_cannot_start_leaves_nothing_behind, .timeout = 20)
{
    support_begin();
    struct job     jobs[TASKS] = {0};
    worker_pool_t *pool = worker_pool_new(WORKERS, 4, copy_input, NULL);
    cr_assert_not_null(pool);
    size_t  running = go_count();
    int64_t live = alloc_live();

    for (int fault = 0; fault < 2; fault++) { /* no memory, then no thread */
        fault ? go_fail_after(0) : alloc_fail_after(0);
        errno = 0;
        producer_t *producer = producer_start(pool, jobs, TASKS);
        int         err = errno;
        fault ? go_fail_reset() : alloc_fail_reset();
        cr_assert_null(producer);
        cr_assert_eq(err, fault ? EAGAIN : ENOMEM, "errno %d", err);
        support_wait_quiet(running, live);
    }
    cr_assert_eq(producer_wait(NULL), 0);

    /* Nothing was submitted or stopped: the pool is still the caller's. */
    cr_assert_eq(worker_pool_stop(pool, NULL), 0, "a producer that never ran stopped the pool");
    worker_pool_result_t r;
    cr_assert_eq(chan_recv(worker_pool_results(pool), &r), EPIPE, "a task was submitted");
    worker_pool_free(pool);
    support_end();
}
