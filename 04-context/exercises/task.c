/*
 * exercises/task.c - the STARTER of lesson 04's exercise (see README.md
 * beside this file): ../task.c with the parts marked EXERCISE left for you.
 * Until you write them, `make exercise-04` fails; when it passes, compare
 * your file with the solution, ../task.c. (`make exercises` writes this
 * file from the EXERCISE regions of ../task.c.)
 */
/*
 * task.c - lesson 04: a task that honours its context, and a request served
 * by a tree of goroutines (see task.h for the contracts).
 *
 * The shape of the request tree, and who owns what:
 *
 *   parent (the caller's)
 *     cancel_ctx        request_cancel() cancels this one
 *       ctx             cancel_ctx + the request id (a value context)
 *         worker[i].ctx       worker i's task runs here; owned by the request
 *           sub_ctx           worker i's sub-task runs here; owned by worker i
 *
 * A context can only be canceled from above (or by itself), never from a
 * sibling or a child: that is the whole point of the tree.
 *
 * Shutdown invariant: each worker closes its own done channel, then counts
 * itself out of `running`; the one that takes `running` to zero closes
 * all_done. request_free() waits for all_done before releasing anything, so
 * no worker ever touches a freed request. Each worker holds its own
 * reference on all_done across that last step, since the request (and its
 * reference) may be gone the moment `running` reaches zero.
 */
#include "04-context/task.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

/* The key for the request id. Only its address matters, and since it is
 * static no other file can name it: the C form of Go's unexported key type.
 * Not const, so the compiler cannot merge it with another constant. */
static char request_id_key;

/* Writes one line to log, prefixed with the request id if ctx carries one.
 * One fprintf per line: stdio locks the stream per call, so lines written
 * by different goroutines never interleave mid-line. */
static void log_line(FILE *log, ctx_t *ctx, const char *fmt, ...)
{
    if (log == NULL)
        return;
    char    text[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    const char *id = request_id_from(ctx);
    if (id != NULL)
        fprintf(log, "[%s] %s\n", id, text);
    else
        fprintf(log, "%s\n", text);
}

int long_running_task(ctx_t *ctx, int id, duration_t duration, FILE *log)
{
    if (duration < 0)
        return EINVAL;

    /* Work for a request nobody is waiting for any more is wasted work. */
    int err = ctx_err(ctx);
    if (err != 0) {
        log_line(log, ctx, "Task %d: not started: %s", id, task_err_text(err));
        return err;
    }

    /* EXERCISE: do `duration` of work, unless ctx is done first.
     *
     * The work is simulated by a timer: time_after(duration) returns a new
     * channel that receives one value when `duration` has passed (you own
     * it: chan_release it). Wait for whichever comes first, that channel or
     * ctx_done(ctx), then:
     *   - work finished: log "Task %d: completed" and return 0;
     *   - ctx done: err = ctx_err(ctx); log "Task %d: stopped: %s" with
     *     task_err_text(err), and return err (ECANCELED or ETIMEDOUT);
     *   - time_after returned NULL: return ENOMEM, logging nothing;
     *   - chan_select returned -1: return errno.
     * Log "Task %d: starting, will take %lld ms" once the timer is armed
     * (duration / TIME_MILLISECOND, cast to long long).
     *
     * As it stands the task finishes at once and never looks at ctx.
     *
     * Hints:
     *   - One chan_select over two receive cases. ctx_done(ctx) is NULL for
     *     a context that can never be done (or a NULL ctx), and a NULL case
     *     simply never fires: no special case needed.
     *   - Arm the timer once for the whole wait. A loop with time_after
     *     inside would restart the clock on every pass (the article's habit).
     *   - Release the timer channel on EVERY way out, before you return:
     *     releasing the last reference cancels a timer that has not fired.
     *     The tests check that no timer is left pending. One release right
     *     after the select covers every path.
     *   - Done says "stop"; ctx_err says why. */
    log_line(log, ctx, "Task %d: starting, will take %lld ms", id,
             (long long)(duration / TIME_MILLISECOND));
    log_line(log, ctx, "Task %d: completed", id);
    return 0;
}

const char *task_err_text(int err)
{
    switch (err) {
    case 0:
        return "no error";
    case ECANCELED:
        return "context canceled";
    case ETIMEDOUT:
        return "context deadline exceeded";
    case EINVAL:
        return "invalid argument";
    case ENOMEM:
        return "out of memory";
    case EAGAIN:
        return "cannot start a goroutine";
    default:
        return "unexpected error";
    }
}

ctx_t *request_with_id(ctx_t *parent, const char *id)
{
    if (id == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return ctx_with_value(parent, &request_id_key, (void *)id);
}

const char *request_id_from(ctx_t *ctx)
{
    return ctx == NULL ? NULL : ctx_value(ctx, &request_id_key);
}

/* ---------------------------------------------------------------- requests */

struct worker {
    request_t              *req;
    int                     number; /* 1-based, as printed */
    ctx_t                  *ctx;    /* child of req->ctx */
    chan_t                 *done;   /* closed once result is final */
    request_worker_result_t result; /* written only by the worker until done closes */
};

struct request {
    ctx_t        *cancel_ctx;
    ctx_t        *ctx;
    char          id[REQUEST_ID_MAX];
    duration_t    work;
    FILE         *log;
    int           workers;
    atomic_int    running; /* workers that have not finished */
    chan_t       *all_done;
    struct worker worker[];
};

#define REQUEST_WORKERS_MAX 64

/* What a sub-task goroutine needs. It lives on its worker's stack, and ctx
 * is borrowed from the worker: both are safe because the worker waits for
 * the result before it releases anything or returns. */
struct subtask {
    ctx_t     *ctx;
    int        id;
    duration_t work;
    FILE      *log;
    chan_t    *result; /* cap 1, int: the sub-task's own reference */
};

static void subtask_run(void *arg)
{
    struct subtask *s = arg;
    chan_t         *result = s->result; /* once we send, *s may be gone */
    int             err = long_running_task(s->ctx, s->id, s->work, s->log);
    chan_send(result, &err);
    chan_release(result);
}

static void worker_finished(struct worker *w)
{
    chan_t *all_done = chan_retain(w->req->all_done);
    chan_close(w->done);
    if (atomic_fetch_sub(&w->req->running, 1) == 1)
        chan_close(all_done);
    /* From here on the request may already be freed: touch only all_done. */
    chan_release(all_done);
}

static void worker_run(void *arg)
{
    struct worker *w = arg;
    request_t     *r = w->req;
    int            own_id = 10 * w->number, sub_id = own_id + 1;

    /* Read the request id the way any code deep in a call tree would: from
     * the context it was handed, not from a global or an extra parameter. */
    const char *request_id = request_id_from(w->ctx);
    snprintf(w->result.request_id, sizeof w->result.request_id, "%s", request_id ? request_id : "");
    log_line(r->log, w->ctx, "Worker %d: started, runs task %d and sub-task %d", w->number, own_id,
             sub_id);

    /* Go: subCtx, cancel := context.WithCancel(ctx); defer cancel() */
    ctx_t         *sub_ctx = ctx_with_cancel(w->ctx);
    chan_t        *result = chan_make(sizeof(int), 1);
    struct subtask sub = {sub_ctx, sub_id, r->work, r->log, NULL};
    bool           sub_started = false;
    if (sub_ctx == NULL || result == NULL) {
        w->result.subtask_err = ENOMEM;
    } else {
        char name[32];
        snprintf(name, sizeof name, "sub-task %d", sub_id);
        sub.result = chan_retain(result);
        int rc = go_named(name, subtask_run, &sub);
        if (rc != 0) {
            chan_release(sub.result);
            w->result.subtask_err = rc;
        } else {
            sub_started = true;
        }
    }

    w->result.task_err = long_running_task(w->ctx, own_id, r->work, r->log);

    /* A worker is not finished while its sub-task still runs. */
    if (sub_started) {
        trace_wait("wait for sub-task %d", sub_id);
        chan_recv(result, &w->result.subtask_err);
        trace_end();
    }
    chan_release(result);
    ctx_cancel(sub_ctx);
    ctx_release(sub_ctx);

    log_line(r->log, w->ctx, "Worker %d: finished (task %d: %s, sub-task %d: %s)", w->number,
             own_id, task_err_text(w->result.task_err), sub_id,
             task_err_text(w->result.subtask_err));
    worker_finished(w);
}

/* Releases everything request_start made; no worker may be running. */
static void request_destroy(request_t *r)
{
    for (int i = 0; i < r->workers; i++) {
        ctx_cancel(r->worker[i].ctx);
        ctx_release(r->worker[i].ctx);
        chan_release(r->worker[i].done);
    }
    ctx_release(r->ctx);
    ctx_cancel(r->cancel_ctx);
    ctx_release(r->cancel_ctx);
    chan_release(r->all_done);
    goc_free(r);
}

request_t *request_start(ctx_t *parent, const char *id, int workers, duration_t work, FILE *log)
{
    if (id == NULL || id[0] == '\0' || strlen(id) >= REQUEST_ID_MAX || workers < 1 ||
        workers > REQUEST_WORKERS_MAX || work < 0) {
        errno = EINVAL;
        return NULL;
    }
    request_t *r = goc_calloc(1, sizeof *r + (size_t)workers * sizeof r->worker[0]);
    if (r == NULL)
        return NULL;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->work = work;
    r->log = log;
    r->workers = workers;
    atomic_init(&r->running, workers);

    /* Build the whole tree of contexts before any goroutine starts, so a
     * failure here has nothing to stop. */
    r->cancel_ctx = ctx_with_cancel(parent);
    r->ctx = r->cancel_ctx ? request_with_id(r->cancel_ctx, r->id) : NULL;
    r->all_done = chan_make(0, 0);
    bool complete = r->ctx != NULL && r->all_done != NULL;
    for (int i = 0; i < workers; i++) {
        struct worker *w = &r->worker[i];
        w->req = r;
        w->number = i + 1;
        w->ctx = complete ? ctx_with_cancel(r->ctx) : NULL;
        w->done = complete ? chan_make(0, 0) : NULL;
        complete = complete && w->ctx != NULL && w->done != NULL;
    }
    if (!complete) {
        request_destroy(r);
        errno = ENOMEM;
        return NULL;
    }

    for (int i = 0; i < workers; i++) {
        struct worker *w = &r->worker[i];
        char           name[32];
        snprintf(name, sizeof name, "worker %d", w->number);
        int rc = go_named(name, worker_run, w);
        if (rc != 0) {
            w->result.task_err = w->result.subtask_err = rc;
            worker_finished(w);
        }
    }
    return r;
}

static struct worker *worker_at(request_t *r, int worker)
{
    return r != NULL && worker >= 1 && worker <= r->workers ? &r->worker[worker - 1] : NULL;
}

void request_cancel(request_t *r)
{
    if (r != NULL)
        ctx_cancel(r->cancel_ctx);
}

int request_cancel_worker(request_t *r, int worker)
{
    struct worker *w = worker_at(r, worker);
    if (w == NULL)
        return EINVAL;
    ctx_cancel(w->ctx);
    return 0;
}

ctx_t *request_worker_context(request_t *r, int worker)
{
    struct worker *w = worker_at(r, worker);
    return w ? w->ctx : NULL;
}

chan_t *request_worker_done(request_t *r, int worker)
{
    struct worker *w = worker_at(r, worker);
    return w ? w->done : NULL;
}

chan_t *request_done(request_t *r)
{
    return r ? r->all_done : NULL;
}

int request_worker_result(request_t *r, int worker, request_worker_result_t *out)
{
    struct worker *w = worker_at(r, worker);
    if (w == NULL || out == NULL)
        return EINVAL;
    /* The close of done is what publishes the result to this thread. */
    if (chan_try_recv(w->done, NULL) != EPIPE)
        return EAGAIN;
    *out = w->result;
    return 0;
}

void request_free(request_t *r)
{
    if (r == NULL)
        return;
    request_cancel(r);
    chan_recv(r->all_done, NULL); /* returns EPIPE once every worker is out */
    request_destroy(r);
}
