/*
 * test_04_context_tree.c - lesson 04: the request tree (a request, its
 * workers, each with a sub-task).
 *
 *   - work that fits finishes everywhere, and a late cancel changes nothing;
 *   - canceling the request (or its parent) stops every worker and
 *     sub-task; a parent's deadline reaches every one as ETIMEDOUT;
 *   - canceling one worker leaves its siblings running, which the test
 *     reads from their contexts (cancellation is synchronous, so a wrongly
 *     canceled sibling would already say so);
 *   - freeing a running request cancels and waits; misuse is EINVAL;
 *   - any allocation failing, at the start or inside a worker, is reported
 *     and leaves nothing behind.
 * Every test ends with support_end(); waits use fires_within
 * (tests/context_helpers.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/timer.h"
#include "tests/context_helpers.h"
#include "tests/support/support.h"

static void assert_worker(request_t *r, int worker, int task_err, int subtask_err, const char *id)
{
    request_worker_result_t res;
    cr_assert_eq(request_worker_result(r, worker, &res), 0, "worker %d has not finished", worker);
    cr_assert_eq(res.task_err, task_err, "worker %d task: %s, expected %s", worker,
                 task_err_text(res.task_err), task_err_text(task_err));
    cr_assert_eq(res.subtask_err, subtask_err, "worker %d sub-task: %s, expected %s", worker,
                 task_err_text(res.subtask_err), task_err_text(subtask_err));
    cr_assert_str_eq(res.request_id, id, "worker %d read the wrong request id", worker);
}

Test(tree, work_that_fits_finishes_everywhere, .timeout = 10)
{
    support_begin();
    request_t *r = request_start(NULL, "req-ok", 3, 10 * MS, NULL);
    cr_assert_not_null(r);
    cr_assert(fires_within(request_done(r), NULL, 5 * TIME_SECOND), "the request never finished");
    for (int w = 1; w <= 3; w++)
        assert_worker(r, w, 0, 0, "req-ok");
    request_cancel(r); /* too late to change anything */
    for (int w = 1; w <= 3; w++)
        assert_worker(r, w, 0, 0, "req-ok");
    request_free(r);
    support_end();
}

Test(tree, canceling_the_request_stops_every_descendant, .timeout = 10)
{
    support_begin();
    request_t *r = request_start(NULL, "req-c", 3, LONG_WORK, NULL);
    cr_assert_not_null(r);
    cr_assert_not(fires_within(request_done(r), NULL, 20 * MS), "finished before the cancel");
    request_cancel(r);
    cr_assert(fires_within(request_done(r), NULL, 2 * TIME_SECOND), "the cancel did not reach");
    for (int w = 1; w <= 3; w++)
        assert_worker(r, w, ECANCELED, ECANCELED, "req-c");
    request_free(r);
    support_end();
}

Test(tree, canceling_the_parent_stops_every_descendant, .timeout = 10)
{
    support_begin();
    ctx_t     *parent = ctx_with_cancel(NULL);
    request_t *r = request_start(parent, "req-p", 3, LONG_WORK, NULL);
    cr_assert_not_null(r);
    cr_assert_not(fires_within(request_done(r), NULL, 20 * MS), "finished before the cancel");
    ctx_cancel(parent);
    cr_assert(fires_within(request_done(r), NULL, 2 * TIME_SECOND), "the cancel did not reach");
    for (int w = 1; w <= 3; w++) {
        assert_worker(r, w, ECANCELED, ECANCELED, "req-p");
        cr_assert_eq(ctx_err(request_worker_context(r, w)), ECANCELED);
    }
    request_free(r);
    ctx_release(parent);
    support_end();
}

Test(tree, canceling_one_worker_leaves_its_siblings_running, .timeout = 10)
{
    support_begin();
    request_t *r = request_start(NULL, "req-s", 3, LONG_WORK, NULL);
    cr_assert_not_null(r);
    cr_assert_not(fires_within(request_done(r), NULL, 20 * MS), "finished before the cancel");

    cr_assert_eq(request_cancel_worker(r, 2), 0);
    cr_assert(fires_within(request_worker_done(r, 2), NULL, 2 * TIME_SECOND),
              "worker 2 ignored its cancel");
    assert_worker(r, 2, ECANCELED, ECANCELED, "req-s");

    /* Cancellation is synchronous: had it spread to a sibling, the sibling's
     * context would say so already. */
    request_worker_result_t res;
    for (int w = 1; w <= 3; w += 2) {
        cr_assert_eq(ctx_err(request_worker_context(r, w)), 0, "worker %d was canceled too", w);
        cr_assert_eq(request_worker_result(r, w, &res), EAGAIN, "worker %d stopped", w);
    }
    cr_assert_eq(chan_try_recv(request_done(r), NULL), EAGAIN, "the request ended with worker 2");

    request_cancel(r);
    cr_assert(fires_within(request_done(r), NULL, 2 * TIME_SECOND), "the cancel did not reach");
    assert_worker(r, 1, ECANCELED, ECANCELED, "req-s");
    assert_worker(r, 3, ECANCELED, ECANCELED, "req-s");
    request_free(r);
    support_end();
}

Test(tree, parent_deadline_reaches_every_worker_as_etimedout, .timeout = 10)
{
    support_begin();
    int64_t    start = time_now();
    ctx_t     *parent = ctx_with_timeout(NULL, 20 * MS);
    request_t *r = request_start(parent, "req-d", 3, LONG_WORK, NULL);
    cr_assert_not_null(r);
    cr_assert(fires_within(request_done(r), NULL, 5 * TIME_SECOND), "the deadline did not reach");
    cr_assert_geq(time_now() - start, 20 * MS, "stopped before the deadline");
    for (int w = 1; w <= 3; w++)
        assert_worker(r, w, ETIMEDOUT, ETIMEDOUT, "req-d");
    request_free(r);
    ctx_release(parent);
    support_end();
}

Test(tree, free_while_running_cancels_and_waits, .timeout = 10)
{
    support_begin();
    request_t *r = request_start(NULL, "req-f", 3, LONG_WORK, NULL);
    cr_assert_not_null(r);
    int64_t start = time_now();
    request_free(r); /* Go's defer cancel(), plus waiting for the goroutines */
    cr_assert_lt(time_now() - start, 2 * TIME_SECOND);
    support_end();
}

Test(tree, bad_arguments_are_einval, .timeout = 10)
{
    support_begin();
    const char *bad_ids[] = {NULL, "", "a-request-id-far-too-long-to-be-kept"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        errno = 0;
        cr_assert_null(request_start(NULL, bad_ids[i], 3, MS, NULL));
        cr_assert_eq(errno, EINVAL);
    }
    const int bad_counts[] = {0, -1, 65};
    for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++) {
        errno = 0;
        cr_assert_null(request_start(NULL, "req", bad_counts[i], MS, NULL));
        cr_assert_eq(errno, EINVAL);
    }
    errno = 0;
    cr_assert_null(request_start(NULL, "req", 3, -1, NULL));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(request_with_id(NULL, NULL));
    cr_assert_eq(errno, EINVAL);

    request_t *r = request_start(NULL, "req", 2, LONG_WORK, NULL);
    cr_assert_not_null(r);
    request_worker_result_t res;
    cr_assert_eq(request_cancel_worker(r, 0), EINVAL);
    cr_assert_eq(request_cancel_worker(r, 3), EINVAL);
    cr_assert_null(request_worker_context(r, 3));
    cr_assert_null(request_worker_done(r, 0));
    cr_assert_eq(request_worker_result(r, 1, NULL), EINVAL);
    cr_assert_eq(request_worker_result(r, 3, &res), EINVAL);
    cr_assert_eq(ctx_err(request_worker_context(r, 1)), 0, "misuse changed nothing");
    cr_assert_eq(ctx_err(request_worker_context(r, 2)), 0, "misuse changed nothing");
    request_free(r);
    request_free(NULL);
    request_cancel(NULL);
    support_end();
}

/* The n-th allocation fails, and every one after it until the whole request
 * is over, for n = 0, 1, 2, ...: request_start fails cleanly, or the workers
 * hit the failure themselves (a context, a channel, a goroutine, a timer)
 * and must still finish, report it, and leave nothing behind. */
Test(tree, survives_allocation_failures, .timeout = 30)
{
    support_begin();
    bool   all_ran = false;
    size_t failed_start = 0, failed_inside = 0;
    for (int64_t n = 0; n < 400 && !all_ran; n++) {
        chan_t *limit = time_after(5 * TIME_SECOND); /* made while memory is still there */
        cr_assert_not_null(limit);
        alloc_fail_after(n);
        request_t *r = request_start(NULL, "req-m", 3, MS, NULL);
        int        err = errno;
        if (r == NULL) {
            alloc_fail_reset();
            chan_release(limit);
            cr_assert_eq(err, ENOMEM, "after %lld allocations: %s", (long long)n,
                         task_err_text(err));
            failed_start++;
            continue;
        }
        chan_case_t cases[2] = {chan_case_recv(request_done(r), NULL), chan_case_recv(limit, NULL)};
        bool        finished = chan_select(cases, 2) == 0;
        alloc_fail_reset();
        chan_release(limit);
        cr_assert(finished, "after %lld allocations a worker hung", (long long)n);
        all_ran = true;
        for (int w = 1; w <= 3; w++) {
            request_worker_result_t res;
            cr_assert_eq(request_worker_result(r, w, &res), 0);
            int errs[2] = {res.task_err, res.subtask_err};
            for (int k = 0; k < 2; k++) {
                cr_assert(errs[k] == 0 || errs[k] == ENOMEM || errs[k] == EAGAIN, "worker %d: %s",
                          w, task_err_text(errs[k]));
                all_ran = all_ran && errs[k] == 0;
            }
        }
        failed_inside += !all_ran;
        request_free(r);
    }
    cr_assert(all_ran, "never got a request through with enough memory");
    cr_assert_gt(failed_start, 0);
    cr_assert_gt(failed_inside, 0, "no failure ever reached a worker");
    cr_log_info("%zu failed starts, %zu runs with failures inside", failed_start, failed_inside);
    support_end();
}
