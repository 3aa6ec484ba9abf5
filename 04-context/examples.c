/*
 * examples.c - lesson 04's four examples (examples.h lists them), each a
 * short run that main.c calls in turn. They live here, not in main.c, so
 * that main.c reads as the program's story (the options, then the four runs)
 * and each example reads on its own, from the context it makes to the
 * cancel and release it owes.
 *
 * main never sleeps to "give a goroutine time to print": each example waits
 * for its task's result on a channel (start_task), and for the request's
 * workers on their done channels; a wait that may end early is a select on
 * the event and a timer (wait_for), never a sleep. When an example returns,
 * every goroutine it started has returned and every timer it armed is
 * disarmed.
 */
#include "04-context/examples.h"

#include <errno.h>
#include <stdio.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

static long long to_ms(duration_t d)
{
    return (long long)(d / TIME_MILLISECOND);
}

/* ---------------------------------------------------------------- tasks */

struct task_run {
    ctx_t     *ctx; /* the goroutine's own reference */
    int        id;
    duration_t duration;
    chan_t    *result; /* cap 1, int; the goroutine's own reference */
};

static void task_goroutine(void *arg)
{
    struct task_run *run = arg;
    int              err = long_running_task(run->ctx, run->id, run->duration, stdout);
    chan_send(run->result, &err); /* never blocks: cap 1 and one send */
    chan_release(run->result);
    ctx_release(run->ctx);
    goc_free(run);
}

/* Go: done := make(chan error, 1); go func() { done <- longRunningTask(ctx, id) }()
 * Returns done, or NULL if the goroutine could not be started. */
static chan_t *start_task(ctx_t *ctx, int id, duration_t duration)
{
    chan_t          *done = chan_make(sizeof(int), 1);
    struct task_run *run = goc_malloc(sizeof *run);
    if (done == NULL || run == NULL) {
        chan_release(done);
        goc_free(run);
        return NULL;
    }
    *run = (struct task_run){ctx_retain(ctx), id, duration, chan_retain(done)};
    char name[32];
    snprintf(name, sizeof name, "task %d", id);
    if (go_named(name, task_goroutine, run) != 0) {
        ctx_release(run->ctx);
        chan_release(run->result);
        goc_free(run);
        chan_release(done);
        return NULL;
    }
    return done;
}

/* Waits until event delivers (into out) or d has passed; true if the event
 * came first. A main that has nothing to do until then waits like this, not
 * with a sleep: it stops waiting the moment the event happens. */
static bool wait_for(chan_t *event, void *out, duration_t d)
{
    chan_t     *timer = time_after(d); /* NULL (no memory): wait for the event alone */
    chan_case_t cases[2] = {chan_case_recv(event, out), chan_case_recv(timer, NULL)};
    trace_wait("wait, at most %lld ms", to_ms(d));
    int chosen = chan_select(cases, 2);
    trace_end();
    chan_release(timer);
    return chosen == 0;
}

/* ---------------------------------------------------------------- examples */

int example_manual_cancel(const example_config_t *cfg)
{
    printf("--- Example 1: cancel by hand ---\n");
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *done = ctx ? start_task(ctx, 1, cfg->task) : NULL;
    if (done == NULL) {
        ctx_release(ctx);
        return ENOMEM;
    }
    int err = 0;
    if (wait_for(done, &err, cfg->cancel_after)) {
        printf("Main: task 1 ended before the cancel\n");
    } else {
        printf("Main: canceling task 1 after %lld ms\n", to_ms(cfg->cancel_after));
        ctx_cancel(ctx);
        trace_wait("wait for task 1");
        chan_recv(done, &err); /* wait for its answer; no sleep needed */
        trace_end();
    }
    printf("Main: task 1 returned: %s\n", task_err_text(err));
    chan_release(done);
    ctx_cancel(ctx); /* Go: defer cancel1() */
    ctx_release(ctx);
    return 0;
}

int example_timeout(const example_config_t *cfg)
{
    printf("\n--- Example 2: timeout ---\n");
    printf("Main: task 2 gets %lld ms\n", to_ms(cfg->timeout));
    int64_t start = time_now();
    ctx_t  *ctx = ctx_with_timeout(NULL, cfg->timeout);
    chan_t *done = ctx ? start_task(ctx, 2, cfg->task) : NULL;
    if (done == NULL) {
        ctx_release(ctx);
        return ENOMEM;
    }
    int err = 0;
    trace_wait("wait for task 2");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 2 returned after %lld ms: %s\n", to_ms(time_now() - start),
           task_err_text(err));
    chan_release(done);
    ctx_cancel(ctx); /* Go: defer cancel2(); it also disarms the timer early */
    ctx_release(ctx);
    return 0;
}

static void print_sibling(request_t *req, int worker)
{
    request_worker_result_t result;
    if (request_worker_result(req, worker, &result) == EAGAIN)
        printf("Main: worker %d is still running, its context: %s\n", worker,
               task_err_text(ctx_err(request_worker_context(req, worker))));
    else
        printf("Main: worker %d has already finished\n", worker);
}

int example_request_tree(const example_config_t *cfg)
{
    printf("\n--- Example 3: one request, a tree of goroutines ---\n");
    request_t *req = request_start(NULL, "req-1", 3, cfg->task, stdout);
    if (req == NULL)
        return errno;

    if (wait_for(request_worker_done(req, 2), NULL, cfg->cancel_after)) {
        printf("Main: worker 2 finished before the cancel\n");
    } else {
        printf("Main: canceling worker 2 only\n");
        request_cancel_worker(req, 2);
        chan_recv(request_worker_done(req, 2), NULL); /* returns once worker 2 is out */
    }
    print_sibling(req, 1);
    print_sibling(req, 3);

    if (wait_for(request_done(req), NULL, cfg->cancel_after)) {
        printf("Main: the request finished before the cancel\n");
    } else {
        printf("Main: canceling request req-1\n");
        request_cancel(req);
        chan_recv(request_done(req), NULL);
    }
    for (int worker = 1; worker <= 3; worker++) {
        request_worker_result_t r = {0};
        request_worker_result(req, worker, &r);
        printf("Main: worker %d of request %s: task %s, sub-task %s\n", worker, r.request_id,
               task_err_text(r.task_err), task_err_text(r.subtask_err));
    }
    request_free(req);
    return 0;
}

int example_inherited_deadline(const example_config_t *cfg)
{
    printf("\n--- Example 4: the earlier deadline wins ---\n");
    int64_t start = time_now();
    ctx_t  *parent = ctx_with_timeout(NULL, cfg->timeout);
    ctx_t  *child = parent ? ctx_with_timeout(parent, 2 * cfg->timeout) : NULL;
    if (child == NULL) {
        ctx_release(parent);
        return ENOMEM;
    }
    int64_t parent_deadline = 0, child_deadline = 0;
    ctx_deadline(parent, &parent_deadline);
    ctx_deadline(child, &child_deadline);
    printf("Main: parent has %lld ms, child asked for %lld ms: the child's deadline is %s\n",
           to_ms(cfg->timeout), to_ms(2 * cfg->timeout),
           child_deadline == parent_deadline ? "its parent's" : "its own");
    chan_t *done = start_task(child, 4, cfg->task);
    if (done == NULL) {
        ctx_release(child);
        ctx_release(parent);
        return ENOMEM;
    }
    int err = 0;
    trace_wait("wait for task 4");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 4 returned after %lld ms: %s\n", to_ms(time_now() - start),
           task_err_text(err));
    chan_release(done);
    ctx_cancel(child);
    ctx_release(child);
    ctx_cancel(parent);
    ctx_release(parent);
    return 0;
}
