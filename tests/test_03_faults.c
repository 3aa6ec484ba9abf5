/*
 * test_03_faults.c - lesson 03's limiter when memory or goroutines run out.
 *
 * test_03_semaphore.c covers bad arguments but injects no failure, so:
 *   - limiter_new with its n-th allocation failing, both kinds: NULL with
 *     ENOMEM, nothing leaked;
 *   - limiter_run with its n-th goroutine failing to start: EAGAIN, after
 *     the tasks already started have finished (they are all counted in the
 *     stats), with every token given back;
 *   - limiter_run with its n-th allocation failing while tasks must queue:
 *     every task still either runs or reports why not, and nothing is
 *     leaked or left held.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "03-semaphore/limiter.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/support/support.h"

enum { TASKS = 6, LIMIT = 2 };

static const limiter_kind_t kinds[] = {LIMITER_SEMA, LIMITER_CHAN};

Test(limiter_faults, new_with_every_allocation_failing, .timeout = 10)
{
    support_begin();
    for (size_t k = 0; k < 2; k++) {
        int failures = 0;
        for (int64_t n = 0;; n++) {
            cr_assert_lt(n, 32, "limiter_new never succeeded");
            int64_t live = alloc_live();
            alloc_fail_after(n);
            errno = 0;
            limiter_t *l = limiter_new(kinds[k], LIMIT);
            int        err = errno;
            alloc_fail_reset();
            if (l != NULL) {
                cr_assert_eq(limiter_acquire(l, NULL, 1), 0);
                cr_assert_eq(limiter_release(l, 1), 0);
                limiter_free(l);
                break;
            }
            failures++;
            cr_assert_eq(err, ENOMEM, "kind %d, allocation %lld: errno %d", kinds[k],
                         (long long)n + 1, err);
            cr_assert_eq(alloc_live(), live, "a failed limiter_new leaked");
        }
        cr_assert_gt(failures, 0);
    }
    support_end();
}

Test(limiter_faults, run_when_a_task_cannot_start, .timeout = 30)
{
    support_begin();
    for (size_t k = 0; k < 2; k++) {
        limiter_t *l = limiter_new(kinds[k], LIMIT);
        cr_assert_not_null(l);
        for (int64_t n = 0; n <= TASKS; n++) {
            limiter_job_t   job = {.tasks = TASKS, .work = 2 * TIME_MILLISECOND};
            limiter_stats_t stats = {0};
            go_fail_after(n);
            int rc = limiter_run(l, &job, &stats);
            go_fail_reset();
            if (n < TASKS) {
                cr_assert_eq(rc, EAGAIN, "kind %d: %lld of %d tasks could start, rc %d", kinds[k],
                             (long long)n, TASKS, rc);
                cr_assert_eq(stats.started, n, "the tasks that did start all ran");
            } else {
                cr_assert_eq(rc, 0);
                cr_assert_eq(stats.started, TASKS);
            }
            cr_assert_eq(stats.gave_up, 0, "no context, so nobody gives up");
            cr_assert_leq(stats.peak, LIMIT);
            cr_assert_eq(limiter_held(l), 0, "tokens left held after a failed run");
        }
        limiter_free(l);
    }
    support_end();
}

/* Every allocation of a run in turn, with tasks that must queue (only one
 * fits at a time): the weighted form allocates a wake-up channel for a
 * sleeping waiter. Whatever fails, each task is accounted for: it ran, or
 * the run says it could not be started, or it reports the error that
 * stopped it. */
Test(limiter_faults, run_with_every_allocation_failing, .timeout = 60)
{
    support_begin();
    size_t base = go_count();
    for (size_t k = 0; k < 2; k++) {
        limiter_t *l = limiter_new(kinds[k], 1);
        cr_assert_not_null(l);
        bool clean = false;
        for (int64_t n = 0; !clean; n++) {
            cr_assert_lt(n, 200, "limiter_run never ran clean");
            limiter_job_t   job = {.tasks = TASKS, .work = TIME_MILLISECOND};
            limiter_stats_t stats = {0};
            int64_t         live = alloc_live(); /* quiet: the previous run's goroutines are gone */
            alloc_fail_after(n);
            int rc = limiter_run(l, &job, &stats);
            alloc_fail_reset();
            cr_assert(rc == 0 || rc == ENOMEM || rc == EAGAIN, "rc %d", rc);
            /* The tasks' goroutines leave a moment after the run has seen them
             * finish: wait for them, their bookkeeping included. */
            support_settle(base, live);
            cr_assert_eq(alloc_live(), live, "allocation %lld failing: leaked", (long long)n + 1);
            cr_assert_eq(limiter_held(l), 0);
            cr_assert_leq(stats.peak, 1);
            if (rc == 0)
                cr_assert_eq(stats.started + stats.gave_up, TASKS,
                             "allocation %lld failing: a run that says 0 accounted for %d of %d "
                             "tasks",
                             (long long)n + 1, stats.started + stats.gave_up, TASKS);
            if (rc == 0 && stats.gave_up > 0)
                cr_assert_fail("allocation %lld failing: limiter_run returned 0, but %d task(s) "
                               "gave up without a context (out of memory) and never ran",
                               (long long)n + 1, stats.gave_up);
            clean = rc == 0 && stats.started == TASKS;
        }
        limiter_free(l);
    }
    support_end();
}
