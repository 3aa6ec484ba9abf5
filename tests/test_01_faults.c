/*
 * test_01_faults.c - lesson 01's worker pool when goroutines cannot be
 * started (go_fail_after: pthread_create failing).
 *
 * test_01_worker_pool.c already fails every allocation of worker_pool_new;
 * here the n-th goroutine fails to start, for every n: a worker, or the
 * dispatcher last. worker_pool_new must say EAGAIN, and stop and free the
 * goroutines and channels it had already made; once threads can be made
 * again, a pool works normally.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>

#include "01-worker-pool/worker_pool.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

enum { WORKERS = 3, TASKS = 7 };

static atomic_int ran;

static int count_task(void *env, int worker, const worker_pool_task_t *task)
{
    (void)env;
    (void)task;
    cr_assert(worker >= 1 && worker <= WORKERS);
    atomic_fetch_add(&ran, 1);
    return 0;
}

Test(worker_pool_faults, every_goroutine_that_cannot_start, .timeout = 30)
{
    support_begin();
    size_t  base = go_count();
    int64_t live = alloc_live();
    for (int64_t n = 0; n <= WORKERS + 1; n++) {
        go_fail_after(n);
        errno = 0;
        worker_pool_t *pool = worker_pool_new(WORKERS, 2, count_task, NULL);
        int            err = errno;
        go_fail_reset();
        if (n <= WORKERS) { /* WORKERS workers and a dispatcher: the last one fails */
            cr_assert_null(pool, "worker_pool_new succeeded with only %lld goroutines",
                           (long long)n);
            cr_assert_eq(err, EAGAIN, "n = %lld: errno %d", (long long)n, err);
            support_wait_quiet(base, live);
            continue;
        }
        cr_assert_not_null(pool, "all goroutines could start");
        atomic_store(&ran, 0);
        for (int64_t id = 0; id < TASKS; id++) {
            worker_pool_task_t task = {id, NULL};
            cr_assert_eq(worker_pool_submit(pool, &task), 0);
        }
        cr_assert_eq(worker_pool_stop(pool, NULL), 0);
        worker_pool_result_t result;
        int                  results = 0;
        while (chan_recv(worker_pool_results(pool), &result) == 0) {
            cr_assert_eq(result.err, 0);
            results++;
        }
        cr_assert_eq(results, TASKS);
        cr_assert_eq(atomic_load(&ran), TASKS);
        worker_pool_free(pool);
    }
    support_end();
}
