/*
 * test_04_faults.c - lesson 04's request tree when goroutines cannot be
 * started (go_fail_after: pthread_create failing).
 *
 * test_04_context.c already fails every allocation of a request; here the
 * n-th goroutine fails to start, for every n. request_start starts the
 * workers and each worker starts its sub-task, so which ones fail depends
 * on the interleaving; what must hold whatever it is:
 *   - a worker that could not start reports EAGAIN for its task and its
 *     sub-task, and one that started but could not start its sub-task
 *     reports EAGAIN for the sub-task only;
 *   - exactly n goroutines ran (the ones allowed), the request still
 *     finishes, and request_free leaves nothing running or allocated.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/support/support.h"

enum { WORKERS = 3 };

Test(request_faults, every_goroutine_that_cannot_start, .timeout = 30)
{
    support_begin();
    for (int64_t n = 0; n <= 2 * WORKERS; n++) {
        chan_t *limit = time_after(5 * TIME_SECOND);
        go_fail_after(n);
        request_t *r = request_start(NULL, "req-f", WORKERS, TIME_MILLISECOND, NULL);
        cr_assert_not_null(r, "n = %lld: a failed goroutine is reported per worker, not here",
                           (long long)n);
        /* Every start is attempted before the request is done: only then
         * may goroutines be made again. */
        chan_case_t cases[2] = {chan_case_recv(request_done(r), NULL), chan_case_recv(limit, NULL)};
        int         chosen = chan_select(cases, 2);
        go_fail_reset();
        chan_release(limit);
        cr_assert_eq(chosen, 0, "n = %lld: the request never finished", (long long)n);

        int64_t ran = 0;
        for (int w = 1; w <= WORKERS; w++) {
            request_worker_result_t res;
            cr_assert_eq(request_worker_result(r, w, &res), 0);
            if (res.task_err == EAGAIN) {
                cr_assert_eq(res.subtask_err, EAGAIN, "worker %d never started", w);
                continue;
            }
            cr_assert_eq(res.task_err, 0, "worker %d: %s", w, task_err_text(res.task_err));
            cr_assert(res.subtask_err == 0 || res.subtask_err == EAGAIN, "worker %d: %s", w,
                      task_err_text(res.subtask_err));
            ran += 1 + (res.subtask_err == 0);
        }
        cr_assert_eq(ran, n, "%lld goroutines were allowed, %lld ran", (long long)n,
                     (long long)ran);
        request_free(r);
    }
    support_end();
}
