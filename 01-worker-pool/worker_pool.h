/*
 * worker_pool.h - a fixed pool of workers fed by a dispatcher (lesson 01).
 *
 * The shape is the one Go programs use: callers submit tasks into a bounded
 * queue; one dispatcher goroutine takes each task and hands it to a free
 * worker; N worker goroutines run the caller's task function; every outcome
 * comes back on one results channel. A worker says "I am free" by sending
 * its own task channel into the pool of free workers (a channel whose values
 * are chan_t * pointers: Go's `chan chan Task`), and it does so every time it
 * finishes a task. The dispatcher takes a channel from that pool and sends
 * the next task on it.
 *
 * Promises (the tests check each one):
 *   - Every task that worker_pool_submit accepted (returned 0) yields
 *     exactly one result: run by a worker (err is the task function's
 *     return value) or, after a stop whose context ended, never started
 *     (err is ECANCELED or ETIMEDOUT, worker is 0). Nothing is dropped.
 *   - At most `workers` tasks run at the same time, each on its own worker.
 *   - A task function that fails only fails its task; the worker goes on.
 *   - The results channel is closed after the last result has been sent,
 *     and by then every worker has returned.
 *
 * The contract for the caller, the one rule that keeps this deadlock-free:
 * read the results channel until it is closed (chan_recv returns EPIPE).
 * Results are buffered for only `workers` values, so a caller that stops
 * reading stalls the workers, then the dispatcher, then worker_pool_submit:
 * that is backpressure, and it is deliberate. It also means the goroutine
 * that submits many tasks must not be the only one reading results unless
 * it interleaves the two (lesson 01's program submits from a "producer"
 * goroutine, producer.c). worker_pool_stop never waits, so it cannot
 * deadlock.
 *
 * Ownership: the pool never owns what a task's data pointer points to; it
 * carries the pointer to the task function and back in the task's result,
 * so whoever owns the data gets it back exactly once.
 */
#ifndef LESSON01_WORKER_POOL_H
#define LESSON01_WORKER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/context.h"

/* A unit of work. id is the caller's name for it (the pool never reads it);
 * data is the caller's record: the task function reads its input there and
 * writes its output there. */
typedef struct {
    int64_t id;
    void   *data;
} worker_pool_task_t;

/* The outcome of one task, as received from worker_pool_results(). */
typedef struct {
    int64_t id;     /* the task's id */
    void   *data;   /* the task's data pointer, handed back */
    int     err;    /* 0, the task function's error, or ECANCELED/ETIMEDOUT if never started */
    int     worker; /* the worker that ran it, 1..workers; 0 if it never started */
} worker_pool_result_t;

/* The caller's task function. It runs on worker `worker` (1..workers) with
 * the env given to worker_pool_new, and returns 0 or a positive errno value,
 * which becomes the result's err. It may block (that is the "work"); it must
 * return eventually, because stopping waits for tasks that have started. It
 * runs concurrently with itself on other workers, so what it shares through
 * env must be thread-safe. */
typedef int (*worker_pool_fn)(void *env, int worker, const worker_pool_task_t *task);

typedef struct worker_pool worker_pool_t;

/* Starts a pool: `workers` (>= 1) worker goroutines named "worker 1"...,
 * one goroutine named "dispatcher", and a task queue holding queue_cap
 * tasks (0: unbuffered, each submit waits for the dispatcher to take it).
 * Returns the pool, or NULL with errno EINVAL (workers < 1, fn NULL),
 * ENOMEM, or EAGAIN (a goroutine could not be started); on failure nothing
 * is left running or allocated. */
worker_pool_t *worker_pool_new(int workers, size_t queue_cap, worker_pool_fn fn, void *env);

/* Queues a task, waiting while the queue is full (backpressure). Returns 0
 * (the task will yield exactly one result), EPIPE if the pool is stopped
 * or is stopped while waiting (the task was not accepted: it yields no
 * result and its data stays the caller's), EINVAL if pool or task is NULL.
 * Safe to call from any number of goroutines. */
int worker_pool_submit(worker_pool_t *pool, const worker_pool_task_t *task);

/* Like worker_pool_submit, but never waits: EAGAIN if the queue is full. */
int worker_pool_try_submit(worker_pool_t *pool, const worker_pool_task_t *task);

/* The results channel (elements: worker_pool_result_t). Borrowed: valid
 * until worker_pool_free, or longer if the caller chan_retain()s it. Read
 * it until it is closed; see the contract at the top of this file. */
chan_t *worker_pool_results(worker_pool_t *pool);

/* Stops accepting tasks and returns at once, without waiting. Tasks already
 * accepted are still run, handed to workers in queue order, and the results
 * channel closes after the last one's result. If ctx (may be NULL: never
 * done) becomes done first, the pool stops handing out tasks: each one not
 * yet handed to a worker comes back as a result with err = ctx_err(ctx)
 * (ECANCELED or ETIMEDOUT) and worker 0; tasks already running finish
 * normally. The pool keeps its own reference to ctx. Returns 0, EPIPE if
 * the pool was already stopped (nothing changes, the first ctx stays in
 * force), EINVAL if pool is NULL. Never blocks, and cannot fail for lack of
 * memory. */
int worker_pool_stop(worker_pool_t *pool, ctx_t *ctx);

/* Frees the pool. The normal way to get here is worker_pool_stop, then read
 * results until the channel is closed: then this only waits for the
 * dispatcher goroutine to return. Called earlier, it is the emergency exit:
 * it stops the pool, cancels every task not yet started, waits for running
 * tasks to finish, and throws away every result nobody read (the data
 * pointers in them are not freed: the caller owns them). Either way, when
 * it returns no goroutine of the pool touches anything any more; each is
 * on its way out of its function, so go_count() is back to where it was a
 * moment later (leak checks poll for that moment). A caller that retained
 * the results channel finds it closed. NULL is ignored. */
void worker_pool_free(worker_pool_t *pool);

#endif
