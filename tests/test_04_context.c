/*
 * test_04_context.c - lesson 04: long_running_task, values and deadlines.
 *
 * What is proved, and how it stays deterministic:
 *   - a task shorter than its timeout succeeds; a longer one returns
 *     ETIMEDOUT no earlier than the timeout and well before its own end;
 *     a manual cancel returns ECANCELED. Tasks that must be stopped take
 *     10 s, so "it stopped early" can never be luck.
 *   - the task leaves no timer armed, checked right after it returns (not
 *     polled): its 10 s timer was canceled, not left to run out.
 *   - the earlier deadline wins, whichever of parent and child has it, and
 *     a child's timeout never touches its parent.
 *   - values are found from any depth, the nearest wins, none flows up.
 *   - every test ends with support_end(): no goroutine, allocation or timer
 *     left behind.
 * Waits are on channels with a time bound (fires_within, in
 * tests/context_helpers.h), never bare sleeps.
 *
 * The request tree is in test_04_context_tree.c, the program in
 * test_04_program.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/context_helpers.h"
#include "tests/support/support.h"

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
