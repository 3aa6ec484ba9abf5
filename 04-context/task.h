/*
 * task.h - lesson 04: work that stops when its context says so.
 *
 * Two pieces, both driven by the tests and by the program (examples.c):
 *
 *   long_running_task()  one unit of work that takes `duration`, unless its
 *                        context becomes done first (canceled by hand, or a
 *                        deadline passed, its own or an ancestor's).
 *
 *   request_*            one request served by a tree of goroutines: the
 *                        request's context, n workers each on a child context,
 *                        and under each worker a sub-task on a grandchild
 *                        context. Canceling the request stops the whole tree;
 *                        canceling one worker stops only that worker's
 *                        subtree. The request id travels down the tree as a
 *                        context value and every log line carries it.
 *
 * Invariants the tests rely on:
 *   - long_running_task never leaves a timer armed: whichever way it returns,
 *     its time_after channel has been released, which cancels the timer.
 *   - request_free() returns only when every goroutine of the request has
 *     returned and every context and channel of the request is released.
 *
 * Errors are returned, never fatal: 0 or a positive errno value (ECANCELED,
 * ETIMEDOUT, EINVAL, ENOMEM, EAGAIN); constructors return NULL.
 */
#ifndef LESSON04_TASK_H
#define LESSON04_TASK_H

#include <stdio.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/timer.h"

/* Longest request id kept (longer ids are refused with EINVAL). */
#define REQUEST_ID_MAX 32

/* Does `duration` of (simulated) work, or stops early when ctx is done.
 * ctx may be NULL (never done). If log is not NULL, writes one line when it
 * starts and one when it ends, prefixed with the request id found in ctx
 * (see request_with_id), e.g. "[req-1] Task 20: starting, will take 1500 ms".
 * Returns 0 if the work finished, ctx_err(ctx) (ECANCELED or ETIMEDOUT) if
 * the context was done first or already done when called (then no work
 * starts), EINVAL if duration < 0, ENOMEM if the timer could not be made.
 * Whatever it returns, it leaves no timer pending. */
int long_running_task(ctx_t *ctx, int id, duration_t duration, FILE *log);

/* Go's err.Error() for the errors above: "context canceled",
 * "context deadline exceeded", "no error" for 0, and a short phrase for
 * EINVAL, ENOMEM and EAGAIN. The string is static. */
const char *task_err_text(int err);

/* A child of parent that carries the request id `id`, under a key private
 * to this module (Go's unexported key type), so no other package can read
 * or overwrite it by accident. The id is borrowed: it must outlive the
 * context. NULL with errno EINVAL (id NULL) or ENOMEM. The caller owns the
 * returned reference. */
ctx_t *request_with_id(ctx_t *parent, const char *id);

/* The request id carried by ctx or its nearest ancestor that has one, or
 * NULL. Borrowed, valid while ctx is. */
const char *request_id_from(ctx_t *ctx);

typedef struct request request_t;

/* What one worker of a request ended with; valid once its done channel is
 * closed (see request_worker_done). */
typedef struct {
    int  task_err;                   /* the worker's own task */
    int  subtask_err;                /* its sub-task */
    char request_id[REQUEST_ID_MAX]; /* the id the worker read from its context */
} request_worker_result_t;

/* Starts serving request `id` under parent (NULL: background) with
 * `workers` workers (1..64), numbered 1..workers as in the log lines.
 * Worker i runs task 10*i on its own context and sub-task 10*i+1 on a child
 * of it, each taking `work`, and ends when both have returned. Log lines go
 * to log (NULL: silent). Returns the request, or NULL with errno EINVAL
 * (bad count, id NULL, empty or too long, work < 0) or ENOMEM; nothing is
 * left running on failure. A worker whose goroutine cannot be started ends
 * at once with go_named's error (EAGAIN or ENOMEM) for both its task and
 * its sub-task; a sub-task that cannot be started reports the same way.
 * The caller frees the request with request_free. */
request_t *request_start(ctx_t *parent, const char *id, int workers, duration_t work, FILE *log);

/* Cancels the request: every worker and sub-task stops with ECANCELED
 * (those already finished keep their result). Idempotent. */
void request_cancel(request_t *r);

/* Cancels worker `worker` and, through it, its sub-task; the other workers
 * are not touched. Returns 0, or EINVAL for a number out of range. */
int request_cancel_worker(request_t *r, int worker);

/* The context worker `worker` runs on (borrowed, valid until request_free),
 * or NULL for a number out of range. Lets a caller see that canceling one
 * worker left its siblings alone (ctx_err stays 0). */
ctx_t *request_worker_context(request_t *r, int worker);

/* A signal channel closed when worker `worker` and its sub-task have both
 * returned (borrowed, valid until request_free), or NULL for a number out of
 * range. */
chan_t *request_worker_done(request_t *r, int worker);

/* A signal channel closed when every worker has returned (borrowed, valid
 * until request_free). */
chan_t *request_done(request_t *r);

/* Copies worker `worker`'s result into *out. Returns 0, EAGAIN if that
 * worker is still running, EINVAL for a bad number or NULL out. */
int request_worker_result(request_t *r, int worker, request_worker_result_t *out);

/* Go's `defer cancel()` plus the wait for the goroutines: cancels whatever
 * still runs, waits until every worker has returned, then releases the
 * request's contexts and channels and frees it. NULL is ignored. */
void request_free(request_t *r);

#endif
