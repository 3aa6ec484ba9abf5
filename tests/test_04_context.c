/*
 * test_04_context.c - lesson 04: long_running_task, the request tree, values,
 * deadlines, and the program end to end.
 *
 * What is proved, and how it stays deterministic:
 *   - a task shorter than its timeout succeeds; a longer one returns
 *     ETIMEDOUT no earlier than the timeout and well before its own end;
 *     a manual cancel returns ECANCELED. Tasks that must be stopped take
 *     10 s, so "it stopped early" can never be luck.
 *   - the task leaves no timer armed, checked right after it returns (not
 *     polled): its 10 s timer was canceled, not left to run out.
 *   - in the request tree, canceling the request (or its parent) stops every
 *     worker and sub-task; canceling one worker leaves its siblings running,
 *     which the test reads from their contexts (cancellation is synchronous,
 *     so a wrongly canceled sibling would already say so).
 *   - the earlier deadline wins, whichever of parent and child has it, and
 *     a child's timeout never touches its parent.
 *   - values are found from any depth, the nearest wins, none flows up.
 *   - every test ends with support_end(): no goroutine, allocation or timer
 *     left behind.
 *   - the program: exit status, the lines each example must print, the final
 *     clean-shutdown line; bad flags exit 2; --help exits 0.
 * Waits are on channels with a time bound (fires_within), never bare sleeps.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND
#define LONG_WORK (10 * TIME_SECOND) /* work that must never get to finish in a test */

/* True if c delivers (into out, which may be NULL) or is closed within d. */
static bool fires_within(chan_t *c, void *out, duration_t d)
{
    chan_t *timer = time_after(d);
    cr_assert_not_null(timer, "time_after failed");
    chan_case_t cases[2] = {chan_case_recv(c, out), chan_case_recv(timer, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0;
}

/* ---- long_running_task on a goroutine, as main.c runs it ---- */

typedef struct {
    ctx_t     *ctx;
    duration_t work;
    chan_t    *result; /* cap 1, int */
} task_arg_t;

static void task_goroutine(void *arg)
{
    task_arg_t *t = arg;
    int         err = long_running_task(t->ctx, 1, t->work, NULL);
    chan_send(t->result, &err);
    chan_release(t->result);
    ctx_release(t->ctx);
    goc_free(t);
}

static chan_t *start_task(ctx_t *ctx, duration_t work)
{
    chan_t     *result = chan_make(sizeof(int), 1);
    task_arg_t *t = goc_malloc(sizeof *t);
    cr_assert(result && t, "out of memory");
    *t = (task_arg_t){ctx_retain(ctx), work, chan_retain(result)};
    cr_assert_eq(go_named("task", task_goroutine, t), 0);
    return result;
}

/* ---------------------------------------------------------------- task */

Test(task, finishes_when_shorter_than_its_timeout, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = ctx_with_timeout(NULL, 5 * TIME_SECOND);
    int64_t start = time_now();
    int     err = long_running_task(ctx, 1, 10 * MS, NULL);
    int64_t elapsed = time_now() - start;
    cr_assert_eq(err, 0, "got %s", task_err_text(err));
    cr_assert_geq(elapsed, 10 * MS, "the work took its time");
    cr_assert_lt(elapsed, 5 * TIME_SECOND);
    cr_assert_eq(ctx_err(ctx), 0, "finishing the work does not touch the context");
    ctx_cancel(ctx);
    ctx_release(ctx);
    support_end();
}

Test(task, times_out_no_earlier_than_the_timeout, .timeout = 10)
{
    support_begin();
    size_t  timers = time_pending_timers();
    int64_t start = time_now();
    ctx_t  *ctx = ctx_with_timeout(NULL, 20 * MS);
    int     err = long_running_task(ctx, 2, LONG_WORK, NULL);
    int64_t elapsed = time_now() - start;
    cr_assert_eq(err, ETIMEDOUT, "got %s", task_err_text(err));
    cr_assert_geq(elapsed, 20 * MS, "returned %lld ns before the deadline",
                  (long long)(20 * MS - elapsed));
    cr_assert_lt(elapsed, 2 * TIME_SECOND, "took %lld ms", (long long)(elapsed / MS));
    ctx_cancel(ctx);
    ctx_release(ctx);
    cr_assert_eq(time_pending_timers(), timers, "the task's 10 s timer is still armed");
    support_end();
}

Test(task, manual_cancel_returns_ecanceled, .timeout = 10)
{
    support_begin();
    size_t  timers = time_pending_timers();
    int64_t start = time_now();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *result = start_task(ctx, LONG_WORK);
    int     err = -1;
    cr_assert_not(fires_within(result, &err, 20 * MS), "the task ended before the cancel");
    ctx_cancel(ctx);
    cr_assert(fires_within(result, &err, 2 * TIME_SECOND), "the task ignored the cancel");
    int64_t elapsed = time_now() - start;
    chan_release(result);
    ctx_release(ctx);
    cr_assert_eq(err, ECANCELED, "got %s", task_err_text(err));
    cr_assert_geq(elapsed, 20 * MS);
    cr_assert_eq(time_pending_timers(), timers, "the task's 10 s timer is still armed");
    support_end();
}

Test(task, done_context_starts_no_work, .timeout = 10)
{
    support_begin();
    size_t timers = time_pending_timers();
    ctx_t *canceled = ctx_with_cancel(NULL);
    ctx_cancel(canceled);
    ctx_t *expired = ctx_with_timeout(NULL, 0);

    int64_t start = time_now();
    cr_assert_eq(long_running_task(canceled, 3, LONG_WORK, NULL), ECANCELED);
    cr_assert_eq(long_running_task(expired, 4, LONG_WORK, NULL), ETIMEDOUT);
    cr_assert_lt(time_now() - start, TIME_SECOND, "a done context must not wait for the work");
    cr_assert_eq(time_pending_timers(), timers, "no timer may be armed for work never started");

    ctx_release(canceled);
    ctx_release(expired);
    support_end();
}

Test(task, bad_arguments_and_null_context, .timeout = 10)
{
    support_begin();
    cr_assert_eq(long_running_task(NULL, 5, -1, NULL), EINVAL);
    cr_assert_eq(long_running_task(NULL, 6, 0, NULL), 0, "no work, no wait");
    cr_assert_eq(long_running_task(NULL, 7, 1 * MS, NULL), 0, "NULL is a context never done");
    cr_assert_eq(long_running_task(ctx_background(), 8, 1 * MS, NULL), 0);
    support_end();
}

Test(task, log_lines_carry_the_request_id, .timeout = 10)
{
    support_begin();
    char  *text = NULL;
    size_t size = 0;
    FILE  *log = open_memstream(&text, &size);
    cr_assert_not_null(log);

    ctx_t *with_id = request_with_id(NULL, "req-9");
    ctx_t *canceled = ctx_with_cancel(NULL);
    ctx_cancel(canceled);
    cr_assert_eq(long_running_task(with_id, 7, 1 * MS, log), 0);
    cr_assert_eq(long_running_task(canceled, 8, 1 * MS, log), ECANCELED);
    fclose(log);

    cr_assert_eq(count_lines_containing(text, "[req-9] Task 7: starting, will take 1 ms"), 1, "%s",
                 text);
    cr_assert_eq(count_lines_containing(text, "[req-9] Task 7: completed"), 1, "%s", text);
    cr_assert_eq(count_lines_containing(text, "Task 8: not started: context canceled"), 1, "%s",
                 text);
    cr_assert_eq(count_lines_containing(text, "["), 2, "only the request's lines have an id");
    free(text);
    ctx_release(with_id);
    ctx_release(canceled);
    support_end();
}

Test(task, err_text_speaks_go, .timeout = 10)
{
    cr_assert_str_eq(task_err_text(0), "no error");
    cr_assert_str_eq(task_err_text(ECANCELED), "context canceled");
    cr_assert_str_eq(task_err_text(ETIMEDOUT), "context deadline exceeded");
    cr_assert_not_null(task_err_text(12345));
}

/* ---------------------------------------------------------------- the request tree */

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

/* ---------------------------------------------------------------- values */

static char key_a, key_b; /* keys compare by address */

Test(values, are_found_from_any_depth, .timeout = 10)
{
    support_begin();
    ctx_t *top = ctx_with_value(NULL, &key_a, "a");
    ctx_t *cancelable = ctx_with_cancel(top);
    ctx_t *request = request_with_id(cancelable, "req-v");
    ctx_t *timed = ctx_with_timeout(request, LONG_WORK);
    ctx_t *with_b = ctx_with_value(timed, &key_b, "b");
    ctx_t *leaf = ctx_with_cancel(with_b);
    cr_assert(top && cancelable && request && timed && with_b && leaf);

    cr_assert_str_eq(ctx_value(leaf, &key_a), "a", "five levels up");
    cr_assert_str_eq(request_id_from(leaf), "req-v", "three levels up");
    cr_assert_str_eq(ctx_value(leaf, &key_b), "b");
    cr_assert_str_eq(request_id_from(request), "req-v", "the context itself counts");
    cr_assert_null(ctx_value(timed, &key_b), "values never flow up");
    cr_assert_null(request_id_from(cancelable), "values never flow up");
    cr_assert_null(request_id_from(ctx_background()));
    cr_assert_null(request_id_from(NULL));

    ctx_t *inner = request_with_id(leaf, "req-inner");
    cr_assert_str_eq(request_id_from(inner), "req-inner", "the nearest wins");
    cr_assert_str_eq(request_id_from(leaf), "req-v", "shadowing below changes nothing above");

    /* A value context adds a value and nothing else: same done, same reason. */
    cr_assert_eq(ctx_done(request), ctx_done(cancelable));
    ctx_cancel(cancelable);
    cr_assert_eq(ctx_err(inner), ECANCELED);
    cr_assert_eq(ctx_err(request), ECANCELED);
    cr_assert_eq(ctx_err(top), 0);

    ctx_t *all[] = {inner, leaf, with_b, timed, request, cancelable, top};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ctx_cancel(all[i]);
        ctx_release(all[i]);
    }
    support_end();
}

/* ---------------------------------------------------------------- deadlines */

Test(deadline, the_parents_earlier_deadline_wins, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    ctx_t  *parent = ctx_with_timeout(NULL, 20 * MS);
    ctx_t  *child = ctx_with_timeout(parent, LONG_WORK);
    int64_t parent_deadline = 0, child_deadline = 0;
    cr_assert(ctx_deadline(parent, &parent_deadline));
    cr_assert(ctx_deadline(child, &child_deadline));
    cr_assert_eq(child_deadline, parent_deadline, "the child kept its own, later deadline");

    int     err = long_running_task(child, 1, LONG_WORK, NULL);
    int64_t elapsed = time_now() - start;
    cr_assert_eq(err, ETIMEDOUT, "got %s", task_err_text(err));
    cr_assert_geq(elapsed, 20 * MS);
    cr_assert_lt(elapsed, 2 * TIME_SECOND);
    cr_assert_eq(ctx_err(child), ETIMEDOUT, "the parent's reason travels down");

    ctx_cancel(child);
    ctx_release(child);
    ctx_cancel(parent);
    ctx_release(parent);
    support_end();
}

Test(deadline, the_childs_earlier_deadline_wins_and_spares_the_parent, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    ctx_t  *parent = ctx_with_timeout(NULL, LONG_WORK);
    ctx_t  *child = ctx_with_timeout(parent, 20 * MS);
    int64_t parent_deadline = 0, child_deadline = 0;
    cr_assert(ctx_deadline(parent, &parent_deadline));
    cr_assert(ctx_deadline(child, &child_deadline));
    cr_assert_lt(child_deadline, parent_deadline);

    int     err = long_running_task(child, 1, LONG_WORK, NULL);
    int64_t elapsed = time_now() - start;
    cr_assert_eq(err, ETIMEDOUT, "got %s", task_err_text(err));
    cr_assert_geq(elapsed, 20 * MS);
    cr_assert_lt(elapsed, 2 * TIME_SECOND);
    cr_assert_eq(ctx_err(parent), 0, "a child's timeout never reaches its parent");

    ctx_cancel(child);
    ctx_release(child);
    ctx_cancel(parent); /* gives the parent's 10 s timer back: support_end checks */
    ctx_release(parent);
    support_end();
}

/* ---------------------------------------------------------------- the program */

/* Lines of text that contain both a and b. */
static size_t count_lines_with_both(const char *text, const char *a, const char *b)
{
    size_t count = 0;
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t      len = end ? (size_t)(end - text) : strlen(text);
        char       *line = strndup(text, len);
        cr_assert_not_null(line);
        if (strstr(line, a) && strstr(line, b))
            count++;
        free(line);
        text += len + (end ? 1 : 0);
    }
    return count;
}

/* True if the last line of text is exactly line. */
static bool last_line_is(const char *text, const char *line)
{
    size_t len = strlen(text), want = strlen(line);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    return len >= want && strncmp(text + len - want, line, want) == 0 &&
           (len == want || text[len - want - 1] == '\n');
}

static const char clean_line[] =
    "Clean shutdown: every goroutine returned, every allocation freed.";

/* Under valgrind a goroutine may start after its context is already done;
 * the task then logs "not started: <reason>" instead of "starting" and
 * "stopped: <reason>". So each task is checked for exactly one line that
 * ends it with the expected reason, whichever of the two it is. */
Test(program, cancels_and_timeouts_stop_the_work, .timeout = 60)
{
    const char  *argv[] = {"--task-ms=5000", "--cancel-after-ms=50", "--timeout-ms=50", NULL};
    run_result_t r = run_program("04-context", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_str_eq(r.err, "", "nothing on stderr");
    const char *out = r.out;

    /* Examples 1 and 2. */
    cr_assert_eq(count_lines_containing(out, "Main: canceling task 1 after 50 ms"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Task 1: ", "context canceled"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: task 1 returned: context canceled"), 1);
    cr_assert_eq(count_lines_with_both(out, "Task 2: ", "context deadline exceeded"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Main: task 2 returned after", "deadline exceeded"), 1);

    /* Example 3: worker 2 alone first, then the rest; every line of the
     * tree carries the request id. */
    cr_assert_eq(count_lines_containing(out, "Main: canceling worker 2 only"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: worker 1 is still running"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: worker 3 is still running"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: canceling request req-1"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Worker "),
                 count_lines_containing(out, "[req-1] Worker "), "a worker line without the id");
    cr_assert_eq(count_lines_containing(out, "] Task "),
                 count_lines_containing(out, "[req-1] Task "), "a task line without the id");
    for (int w = 1; w <= 3; w++) {
        char needle[128];
        snprintf(needle, sizeof needle, "[req-1] Worker %d: started", w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s", needle);
        snprintf(needle, sizeof needle, "[req-1] Worker %d: finished", w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s", needle);
        for (int id = 10 * w; id <= 10 * w + 1; id++) {
            snprintf(needle, sizeof needle, "[req-1] Task %d: ", id);
            cr_assert_eq(count_lines_with_both(out, needle, "context canceled"), 1, "%s\n%s",
                         needle, out);
        }
        snprintf(needle, sizeof needle,
                 "Main: worker %d of request req-1: task context canceled, sub-task context "
                 "canceled",
                 w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s\n%s", needle, out);
    }

    /* Example 4. */
    cr_assert_eq(count_lines_containing(out, "the child's deadline is its parent's"), 1);
    cr_assert_eq(count_lines_with_both(out, "Task 4: ", "context deadline exceeded"), 1);
    cr_assert_eq(count_lines_containing(out, "completed"), 0, "no task may run to its end");

    cr_assert(last_line_is(out, clean_line), "%s", out);
    run_result_free(&r);
}

/* With cancels and timeouts far away, every task completes, and main does
 * not sit out those timers: it waits for the work, not for the clock. */
Test(program, work_that_fits_completes, .timeout = 60)
{
    const char  *argv[] = {"--task-ms=20", "--cancel-after-ms=30000", "--timeout-ms=30000", NULL};
    int64_t      start = time_now();
    run_result_t r = run_program("04-context", argv);
    cr_assert_lt(time_now() - start, 30 * TIME_SECOND, "main waited for timers, not for the work");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    const char *out = r.out;
    cr_assert_eq(count_lines_containing(out, "Main: task 1 ended before the cancel"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Main: task 2 returned after", "no error"), 1);
    cr_assert_eq(count_lines_containing(out, "Main: worker 2 finished before the cancel"), 1);
    cr_assert_eq(count_lines_containing(out, "Main: the request finished before the cancel"), 1);
    cr_assert_eq(count_lines_containing(out, "completed"), 9, "tasks 1, 2, 4 and six in the tree");
    cr_assert_eq(count_lines_containing(out, "context canceled"), 0, "%s", out);
    cr_assert_eq(count_lines_containing(out, "deadline exceeded"), 0, "%s", out);
    cr_assert(last_line_is(out, clean_line), "%s", out);
    run_result_free(&r);
}

Test(program, help_prints_usage, .timeout = 60)
{
    const char *forms[][2] = {{"--help", NULL}, {"-h", NULL}};
    for (size_t i = 0; i < 2; i++) {
        run_result_t r = run_program("04-context", forms[i]);
        cr_assert_eq(r.exit_code, 0);
        cr_assert(strstr(r.out, "Usage:"), "%s", r.out);
        cr_assert(strstr(r.out, "--task-ms") && strstr(r.out, "--cancel-after-ms") &&
                  strstr(r.out, "--timeout-ms"));
        cr_assert_str_eq(r.err, "");
        run_result_free(&r);
    }
}

Test(program, bad_flags_exit_2_with_a_message, .timeout = 120)
{
    const char *cases[][4] = {
        {"--bogus", NULL},
        {"--task-ms", "abc", NULL},
        {"--task-ms", "0", NULL},
        {"--timeout-ms", "-5", NULL},
        {"--cancel-after-ms", "99999999999999999999", NULL},
        {"--timeout-ms", "600001", NULL},
        {"--task-ms", NULL},
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result_t r = run_program("04-context", cases[i]);
        cr_assert_eq(r.exit_code, 2, "%s: exit %d", cases[i][0], r.exit_code);
        cr_assert(strstr(r.err, "04-context: "), "%s: no message: %s", cases[i][0], r.err);
        cr_assert(strstr(r.err, "Usage:"), "%s: no usage", cases[i][0]);
        cr_assert_str_eq(r.out, "", "%s: nothing on stdout", cases[i][0]);
        run_result_free(&r);
    }
}
