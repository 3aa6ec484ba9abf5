/*
 * article.c - lesson 04: two classic context mistakes, kept on purpose for
 * --leak, so that the leak check at exit can name what they leave behind.
 * Compare them with long_running_task in task.c (one chan_release on every
 * way out) and with examples.c (every ctx_with_* has its ctx_cancel).
 */
#include "04-context/article.h"

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

/* Mistake 1, a context never canceled. A goroutine that cleans up after a
 * request waits for the request's context to end (Go: go func() {
 * <-ctx.Done(); cleanup() }()). Whoever made the context with
 * ctx_with_cancel must cancel it (Go: defer cancel()); main "forgets", so
 * the watcher waits for ever, holding the context and its channel. */
struct watcher {
    ctx_t  *ctx;     /* the goroutine's own reference */
    chan_t *started; /* signal: closed once it is watching */
};

static void watch_request(void *arg)
{
    struct watcher *w = arg;
    trace_wait("wait for %s to end", request_id_from(w->ctx));
    printf("[%s] Watcher: waiting for the request to end\n", request_id_from(w->ctx));
    chan_close(w->started);
    chan_recv(ctx_done(w->ctx), NULL);
    trace_end();
    printf("[%s] Watcher: request over, cleaning up\n", request_id_from(w->ctx));
    chan_release(w->started);
    ctx_release(w->ctx);
    goc_free(w);
}

/* Mistake 2, a timer never released: long_running_task without its one
 * chan_release. When the context ends first, the timer stays armed until
 * it fires, and its channel is never freed. (Go's version is time.After in
 * a select: before Go 1.23 each one stayed in the runtime until it fired.) */
struct leaky_task {
    ctx_t     *ctx; /* the goroutine's own references */
    duration_t work;
    chan_t    *result; /* cap 1, int */
};

static void leaky_task(void *arg)
{
    struct leaky_task *t = arg;
    chan_t            *work_finished = time_after(t->work);
    printf("Task 5: starting, will take %lld ms\n", to_ms(t->work));
    chan_case_t cases[2] = {chan_case_recv(work_finished, NULL),
                            chan_case_recv(ctx_done(t->ctx), NULL)};
    trace_begin("task 5");
    int err = chan_select(cases, 2) == 0 ? 0 : ctx_err(t->ctx);
    trace_end();
    printf("Task 5: %s; returns WITHOUT releasing its timer\n",
           err ? task_err_text(err) : "completed");
    /* THE BUG: chan_release(work_finished) is missing here. */
    chan_send(t->result, &err);
    chan_release(t->result);
    ctx_release(t->ctx);
    goc_free(t);
}

int article_context_leaks(duration_t task_work, duration_t timeout)
{
    printf("--- Leak 1: a timer never released ---\n");
    printf("Main: task 5 gets %lld ms; its code forgets to release its timer\n", to_ms(timeout));
    ctx_t             *ctx = ctx_with_timeout(NULL, timeout);
    struct leaky_task *task = goc_malloc(sizeof *task);
    chan_t            *done = chan_make(sizeof(int), 1);
    if (ctx == NULL || task == NULL || done == NULL)
        return ENOMEM; /* this run leaks anyway */
    *task = (struct leaky_task){ctx_retain(ctx), task_work, chan_retain(done)};
    if (go_named("task 5", leaky_task, task) != 0)
        return EAGAIN;
    int err = 0;
    trace_wait("wait for task 5");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 5 returned: %s, but its %lld ms timer is still armed\n", task_err_text(err),
           to_ms(task_work));
    chan_release(done);
    ctx_cancel(ctx); /* main does its part right */
    ctx_release(ctx);

    printf("\n--- Leak 2: a context never canceled ---\n");
    ctx_t          *parent = ctx_with_cancel(NULL);
    ctx_t          *request = parent ? request_with_id(parent, "req-2") : NULL;
    struct watcher *watcher = goc_malloc(sizeof *watcher);
    chan_t         *started = chan_make(0, 0);
    if (request == NULL || watcher == NULL || started == NULL)
        return ENOMEM;
    *watcher = (struct watcher){ctx_retain(request), chan_retain(started)};
    if (go_named("watcher req-2", watch_request, watcher) != 0)
        return EAGAIN;
    chan_recv(started, NULL); /* so the output shows it waiting */
    chan_release(started);
    printf("Main: request req-2 served; returning without ctx_cancel (Go's missing "
           "`defer cancel()`)\n");
    /* THE BUG: ctx_cancel(parent) is missing; releasing is not canceling. */
    ctx_release(request);
    ctx_release(parent);
    return 0;
}
