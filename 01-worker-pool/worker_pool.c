/*
 * worker_pool.c - the dispatcher, the workers, and how they shut down.
 *
 * Channels and who does what with them:
 *
 *   queue         tasks, cap queue_cap   submit sends; stop closes; the dispatcher receives
 *   free_workers  chan_t *, cap workers  each idle worker sends its own task channel;
 *                                        the dispatcher receives; never closed
 *   w->tasks      tasks, unbuffered      the dispatcher sends and, at the end, closes;
 *                                        worker w receives
 *   results       results, cap workers   workers and the dispatcher send; the dispatcher
 *                                        closes it once every worker has returned
 *   stopping      signal                 stop closes it: "look at stop_ctx now"
 *   abort         signal                 free closes it: "cancel what has not started"
 *
 * Invariants:
 *   - A worker offers its channel only when it is about to receive on it, and
 *     at most once per idle period, so free_workers never holds more than
 *     `workers` offers: offering never blocks, and the dispatcher's send to
 *     a worker it took from the pool completes at once.
 *   - A task is in exactly one place: the queue, the dispatcher's hand, a
 *     worker, or a result. Only the dispatcher moves tasks out of the queue,
 *     so it alone decides between "run it" and "return it canceled".
 *   - Each close has one owner: stop closes queue and stopping, free closes
 *     abort, the dispatcher closes the worker channels and then results.
 *     A channel is never closed while someone may still send on it.
 */
#include "01-worker-pool/worker_pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/trace.h"

struct worker {
    int                 id; /* 1..workers */
    chan_t             *tasks;
    struct worker_pool *pool;
};

struct worker_pool {
    worker_pool_fn fn;
    void          *env;
    chan_t        *queue;
    chan_t        *free_workers;
    chan_t        *results;
    chan_t        *stopping;
    chan_t        *abort;
    atomic_bool    stopped;
    ctx_t         *stop_ctx;           /* written by stop before it closes `stopping` */
    waitgroup_t    workers_running;    /* the dispatcher waits on it before closing results */
    waitgroup_t    dispatcher_running; /* free waits on it before freeing anything */
    int            nworkers;
    struct worker  workers[];
};

/* ------------------------------------------------------------------ workers */

static void worker_main(void *arg)
{
    struct worker      *self = arg;
    struct worker_pool *pool = self->pool;

#ifdef EXERCISE_STARTER
    /* EXERCISE 1: the worker's loop, the step the article leaves out.
     *
     * As it stands this worker returns at once, so the dispatcher waits for
     * a free worker for ever and most tests time out. Write the loop:
     *
     *   1. Say "I am free": send this worker's own task channel into
     *      pool->free_workers. The element of free_workers is a chan_t *,
     *      so pass the address of the pointer: &self->tasks.
     *   2. Receive one task (a worker_pool_task_t) from self->tasks.
     *   3. Run it: err = pool->fn(pool->env, self->id, &task).
     *   4. Send a worker_pool_result_t on pool->results: the task's id and
     *      data, that err, and worker = self->id.
     *   Then go back to 1. Leave the loop as soon as a send or receive
     *   fails: chan_recv on self->tasks returns EPIPE once the dispatcher
     *   has closed it (stop_workers), which means "no more tasks for you".
     *
     * Hints:
     *   - Offer again after EVERY task. Offering once, before the loop, is
     *     the article's bug: each worker then gets one task and is never
     *     seen again.
     *   - Offer right before you receive, never twice in a row: that is what
     *     keeps free_workers within its capacity (one slot per worker), so
     *     the offer never blocks.
     *   - The results send cannot fail here (results is closed only after
     *     every worker has returned); it may wait until the caller reads.
     *   - Keep the waitgroup_done below as the very last step: the
     *     dispatcher waits for it before it closes results. */

#else
    worker_pool_task_t task;

    /* The step the article leaves out: a worker that never offers its channel
     * is never given anything. It offers again after every task. (The
     * trace_* lines record spans for --trace and --timeline; see trace.h.) */
    trace_wait("wait for task");
    while (chan_send(pool->free_workers, &self->tasks) == 0 && chan_recv(self->tasks, &task) == 0) {
        trace_end();
        worker_pool_result_t result = {.id = task.id, .data = task.data, .worker = self->id};
        trace_begin("task %" PRId64, task.id);
        result.err = pool->fn(pool->env, self->id, &task);
        trace_end();
        /* results is closed only after every worker has returned, so this
         * delivers, as soon as the caller reads. */
        trace_wait("send result %" PRId64, task.id);
        chan_send(pool->results, &result);
        trace_end();
        trace_wait("wait for task");
    }
    trace_end();
    /* Our channel was closed: the dispatcher has nothing more for anyone. */
#endif /* EXERCISE_STARTER */
    waitgroup_done(&pool->workers_running);
}

/* Closes every worker's channel and waits until all of them have returned.
 * Idle workers leave at once; busy ones finish their task first. */
static void stop_workers(struct worker_pool *pool, int started)
{
    for (int i = 0; i < started; i++)
        chan_close(pool->workers[i].tasks);
    waitgroup_wait(&pool->workers_running);
}

/* --------------------------------------------------------------- dispatcher */

/* What the dispatcher knows about a stop: nothing yet (stopping is set), or
 * the stop context (stopping is NULL; ctx may be NULL: never done). */
struct stop_watch {
    chan_t *stopping;
    ctx_t  *ctx;
};

/* 0 while the dispatcher should keep handing out tasks; otherwise why not. */
static int stop_reason(struct worker_pool *pool, struct stop_watch *watch)
{
    if (watch->stopping != NULL && chan_try_recv(watch->stopping, NULL) == EPIPE) {
        watch->stopping = NULL;
        watch->ctx = pool->stop_ctx; /* safe: stop wrote it before closing stopping */
    }
    if (chan_try_recv(pool->abort, NULL) == EPIPE)
        return ECANCELED;
    return watch->ctx != NULL ? ctx_err(watch->ctx) : 0;
}

/* Receives from c into out unless the stop context ends first. Returns 0,
 * EPIPE (c closed and drained) or the stop reason. A stop already known
 * wins; one that becomes ready together with a value may lose the select's
 * coin toss, so the caller checks stop_reason again before acting. */
static int recv_unless_stopped(struct worker_pool *pool, struct stop_watch *watch, chan_t *c,
                               void *out)
{
    for (;;) {
        int reason = stop_reason(pool, watch);
        if (reason != 0)
            return reason;
        chan_case_t cases[] = {
            chan_case_recv(c, out),
            chan_case_recv(watch->stopping, NULL), /* NULL once seen: never fires */
            chan_case_recv(watch->ctx != NULL ? ctx_done(watch->ctx) : NULL, NULL),
            chan_case_recv(pool->abort, NULL),
        };
        /* Four valid cases: chan_select cannot fail here. Any case but the
         * first only means "ask stop_reason again". */
        if (chan_select(cases, sizeof cases / sizeof cases[0]) == 0)
            return cases[0].err;
    }
}

static void send_unstarted(struct worker_pool *pool, const worker_pool_task_t *task, int reason)
{
    worker_pool_result_t result = {.id = task->id, .data = task->data, .err = reason};
    chan_send(pool->results, &result);
}

/* Hands out tasks until the queue is closed and empty (returns EPIPE) or the
 * stop context ends (returns its reason, having returned the task in hand). */
static int dispatch(struct worker_pool *pool, struct stop_watch *watch)
{
    for (;;) {
        worker_pool_task_t task;
        trace_wait("wait for the queue");
        int err = recv_unless_stopped(pool, watch, pool->queue, &task);
        trace_end();
        if (err != 0)
            return err;

        chan_t *worker;
        trace_wait("wait for a free worker");
        err = recv_unless_stopped(pool, watch, pool->free_workers, &worker);
        trace_end();
        /* The select picks at random among ready cases, so it may have taken
         * this worker although the stop was ready too: the stop wins. */
        if (err == 0)
            err = stop_reason(pool, watch);
        if (err != 0) {
            send_unstarted(pool, &task, err);
            return err;
        }
        /* The worker offered this channel right before receiving on it. */
        trace_wait("hand out task %" PRId64, task.id);
        chan_send(worker, &task);
        trace_end();
    }
}

static void dispatcher_main(void *arg)
{
    struct worker_pool *pool = arg;
    struct stop_watch   watch = {.stopping = pool->stopping, .ctx = NULL};

    int reason = dispatch(pool, &watch);
    if (reason != EPIPE) {
#ifdef EXERCISE_STARTER
        /* EXERCISE 2: the draining stop.
         *
         * dispatch() returned early: the stop context ended (reason is
         * ECANCELED or ETIMEDOUT) or worker_pool_free aborted. The tasks
         * still in pool->queue were accepted (submit returned 0 for each),
         * so each one still owes the caller exactly one result. As it
         * stands they are silently dropped, the article's second bug.
         *
         * Take every task left in pool->queue and hand it back with
         * send_unstarted(pool, &task, reason) (err = reason, worker = 0).
         *
         * Hints:
         *   - The queue is already closed (worker_pool_stop closes it
         *     before `stopping`), so a plain chan_recv loop ends: it returns
         *     EPIPE once the queue is closed AND empty.
         *   - Only the dispatcher takes tasks out of the queue, so no task
         *     can be both run and returned. */
#else
        /* Stopped early. The queue is already closed (stop closes it before
         * `stopping`), so this loop ends: every task left in it is returned. */
        worker_pool_task_t task;
        while (chan_recv(pool->queue, &task) == 0)
            send_unstarted(pool, &task, reason);
#endif /* EXERCISE_STARTER */
    }
    stop_workers(pool, pool->nworkers);
    chan_close(pool->results); /* nobody can send a result any more */
    waitgroup_done(&pool->dispatcher_running);
}

/* ---------------------------------------------------------------- the API */

/* Releases what new made; NULL members (a half-built pool) are skipped. */
static void destroy(struct worker_pool *pool)
{
    for (int i = 0; i < pool->nworkers; i++)
        chan_release(pool->workers[i].tasks);
    chan_release(pool->queue);
    chan_release(pool->free_workers);
    chan_release(pool->results);
    chan_release(pool->stopping);
    chan_release(pool->abort);
    ctx_release(pool->stop_ctx);
    waitgroup_destroy(&pool->workers_running);
    waitgroup_destroy(&pool->dispatcher_running);
    goc_free(pool);
}

/* Starts the workers, then the dispatcher. 0 or go()'s error, with nothing
 * left running. */
static int start_goroutines(struct worker_pool *pool)
{
    for (int i = 0; i < pool->nworkers; i++) {
        char name[32];
        snprintf(name, sizeof name, "worker %d", i + 1);
        waitgroup_add(&pool->workers_running, 1);
        int err = go_named(name, worker_main, &pool->workers[i]);
        if (err != 0) {
            waitgroup_done(&pool->workers_running);
            stop_workers(pool, i);
            return err;
        }
    }
    waitgroup_add(&pool->dispatcher_running, 1);
    int err = go_named("dispatcher", dispatcher_main, pool);
    if (err != 0) {
        waitgroup_done(&pool->dispatcher_running);
        stop_workers(pool, pool->nworkers);
    }
    return err;
}

worker_pool_t *worker_pool_new(int workers, size_t queue_cap, worker_pool_fn fn, void *env)
{
    if (workers < 1 || fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    struct worker_pool *pool =
        goc_calloc(1, sizeof *pool + (size_t)workers * sizeof pool->workers[0]);
    if (pool == NULL)
        return NULL;
    pool->fn = fn;
    pool->env = env;
    pool->nworkers = workers;
    atomic_init(&pool->stopped, false);
    waitgroup_init(&pool->workers_running);
    waitgroup_init(&pool->dispatcher_running);

    pool->queue = chan_make(sizeof(worker_pool_task_t), queue_cap);
    pool->free_workers = chan_make(sizeof(chan_t *), (size_t)workers);
    pool->results = chan_make(sizeof(worker_pool_result_t), (size_t)workers);
    pool->stopping = chan_make(0, 0);
    pool->abort = chan_make(0, 0);
    bool made = pool->queue && pool->free_workers && pool->results && pool->stopping && pool->abort;
    for (int i = 0; i < workers; i++) {
        pool->workers[i] = (struct worker){.id = i + 1, .pool = pool};
        if (made && (pool->workers[i].tasks = chan_make(sizeof(worker_pool_task_t), 0)) == NULL)
            made = false;
    }
    int err = made ? start_goroutines(pool) : ENOMEM;
    if (err != 0) {
        destroy(pool);
        errno = err;
        return NULL;
    }
    return pool;
}

int worker_pool_submit(worker_pool_t *pool, const worker_pool_task_t *task)
{
    if (pool == NULL || task == NULL)
        return EINVAL;
    return chan_send(pool->queue, task);
}

int worker_pool_try_submit(worker_pool_t *pool, const worker_pool_task_t *task)
{
    if (pool == NULL || task == NULL)
        return EINVAL;
    return chan_try_send(pool->queue, task);
}

chan_t *worker_pool_results(worker_pool_t *pool)
{
    return pool != NULL ? pool->results : NULL;
}

int worker_pool_stop(worker_pool_t *pool, ctx_t *ctx)
{
    if (pool == NULL)
        return EINVAL;
    if (atomic_exchange(&pool->stopped, true))
        return EPIPE;
    pool->stop_ctx = ctx != NULL ? ctx_retain(ctx) : NULL;
    /* Queue first: once the dispatcher sees `stopping`, the queue is closed,
     * so draining it after an early stop is sure to end. */
    chan_close(pool->queue);
    chan_close(pool->stopping);
    return 0;
}

void worker_pool_free(worker_pool_t *pool)
{
    if (pool == NULL)
        return;
    worker_pool_stop(pool, NULL); /* EPIPE if the caller already stopped it: fine */
    chan_close(pool->abort);
    /* Be the reader of last resort, so workers and the dispatcher can finish
     * sending; once the caller has drained the channel this ends at once. */
    while (chan_recv(pool->results, NULL) == 0)
        ;
    waitgroup_wait(&pool->dispatcher_running);
    destroy(pool);
}
