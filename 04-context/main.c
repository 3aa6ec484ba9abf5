/*
 * main.c - lesson 04 as a command-line tool: four short runs that show a
 * context stopping work.
 *
 *   1. a task canceled by hand            (the article's example 1)
 *   2. a task stopped by a timeout        (the article's example 2)
 *   3. one request, three workers, each with a sub-task: cancel one worker,
 *      then the whole request; every log line carries the request id
 *   4. a child whose own timeout is later than its parent's: the parent's
 *      deadline wins
 *
 * The article draws each task's duration at random (1-5 s). Here durations
 * come from the flags, so every run tells the same story; the defaults make
 * the cancel and the timeouts land in the middle of the work.
 *
 * main never sleeps to "give a goroutine time to print": it waits for each
 * task's result on a channel, and for the request's workers on their done
 * channels. At the end the harness (common/lesson.h) proves that every
 * goroutine returned, every timer was disarmed and every allocation was
 * freed. --leak runs two classic context mistakes instead (article.c).
 */
#include <errno.h>
#include <stdio.h>

#include "04-context/article.h"
#include "04-context/task.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/lesson.h"
#include "common/trace.h"

struct config {
    duration_t task;         /* how long every task takes if left alone */
    duration_t cancel_after; /* when main cancels (examples 1 and 3) */
    duration_t timeout;      /* the timeout of examples 2 and 4 */
};

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

static int example_manual_cancel(const struct config *cfg)
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

static int example_timeout(const struct config *cfg)
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

static int example_request_tree(const struct config *cfg)
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

static int example_inherited_deadline(const struct config *cfg)
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

int main(int argc, char **argv)
{
    /* The article's numbers (a 1-5 s task, cancel and timeout at 2 s) scaled
     * down, and made fixed so that every cancel lands mid-task. */
    int64_t               task_ms = 1500, cancel_after_ms = 600, timeout_ms = 600;
    const lesson_option_t options[] = {
        LESSON_INT("task-ms", 0, "N", &task_ms, 1, 600000,
                   "how long each task takes if left alone, in ms"),
        LESSON_INT("cancel-after-ms", 0, "N", &cancel_after_ms, 1, 600000,
                   "when main cancels in examples 1 and 3, in ms"),
        LESSON_INT("timeout-ms", 0, "N", &timeout_ms, 1, 600000,
                   "the timeout of examples 2 and 4, in ms"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "04-context",
        .about = "Shows a context stopping work, in four examples:\n"
                 "  1. a task canceled by hand after --cancel-after-ms\n"
                 "  2. a task given a timeout of --timeout-ms\n"
                 "  3. request req-1: three workers, each with a sub-task; main cancels worker 2\n"
                 "     after --cancel-after-ms, then the whole request --cancel-after-ms later\n"
                 "  4. a child context asking for twice --timeout-ms under a parent with\n"
                 "     --timeout-ms: the parent's earlier deadline wins\n"
                 "Durations are fixed, not random, so every run tells the same story.\n",
        .options = options,
        .leak_help = "instead of the examples, forget a cancel and a timer,\n"
                     "to see the leak check name what is left behind",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;

    const struct config cfg = {task_ms * TIME_MILLISECOND, cancel_after_ms * TIME_MILLISECOND,
                               timeout_ms * TIME_MILLISECOND};
    int (*const examples[])(const struct config *) = {
        example_manual_cancel,
        example_timeout,
        example_request_tree,
        example_inherited_deadline,
    };
    int err = lesson.leak ? article_context_leaks(cfg.task, cfg.timeout) : 0;
    for (size_t i = 0; !lesson.leak && i < sizeof examples / sizeof examples[0] && err == 0; i++)
        err = examples[i](&cfg);
    return lesson_end(&lesson, err);
}
