/*
 * limiter.h - limit how many tasks run at once: the semaphore pattern.
 *
 * A limiter holds `limit` tokens. A task takes some before it starts its
 * work and gives them back when it is done, so the tokens held by running
 * tasks never exceed the limit. Two forms, side by side, behind one API:
 *
 *   LIMITER_SEMA  the weighted semaphore from the core (common/sema.h):
 *                 a task may take several tokens, and waiters are served
 *                 strictly in arrival order, so a big task is never starved
 *                 by a stream of small ones.
 *   LIMITER_CHAN  a buffered channel of capacity `limit` used as a
 *                 semaphore: sending a token takes a slot, receiving one
 *                 frees it. Only weight 1: taking several tokens one send at
 *                 a time is not atomic, and two tasks holding part of what
 *                 they need would wait for each other forever.
 *
 * Both forms wait under a context: a waiter whose context ends gives up and
 * holds nothing. Misuse (releasing more than is held, a weight that can
 * never fit) returns EINVAL and changes nothing.
 *
 * limiter_run() is the article's scenario as a reusable driver: one
 * goroutine per task, each waiting for its tokens, working, and giving them
 * back, with an event for every step so a program can print how many tokens
 * are in use.
 */
#ifndef LESSON03_LIMITER_H
#define LESSON03_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/context.h"

typedef enum {
    LIMITER_SEMA = 1, /* weighted, FIFO: sema_t */
    LIMITER_CHAN = 2, /* a buffered channel of tokens, weight 1 only */
} limiter_kind_t;

typedef struct limiter limiter_t;

/* A limiter of the given kind with `limit` tokens (limit >= 1).
 * NULL with errno EINVAL (bad kind or limit) or ENOMEM. Free with
 * limiter_free. */
limiter_t *limiter_new(limiter_kind_t kind, int64_t limit);

/* Takes `weight` tokens, waiting until they are free or ctx is done.
 * Returns 0 (holding them), ctx_err(ctx) (ETIMEDOUT or ECANCELED, holding
 * nothing; also when ctx is already done and tokens are free), or EINVAL
 * (NULL l, weight < 1, a weight other than 1 on a LIMITER_CHAN, or a weight
 * above the limit with a ctx that can never be done). ctx may be NULL,
 * meaning never done; it is borrowed for the duration of the call. */
int limiter_acquire(limiter_t *l, ctx_t *ctx, int64_t weight);

/* Takes `weight` tokens only if that needs no waiting (and, for
 * LIMITER_SEMA, nobody is queued ahead). Weight 0 takes nothing and, for
 * LIMITER_SEMA, reports whether the queue is empty. False for bad
 * arguments. */
bool limiter_try_acquire(limiter_t *l, int64_t weight);

/* Gives back `weight` tokens, waking waiters that now fit. Returns 0, or
 * EINVAL (NULL l, weight < 1, weight other than 1 on a LIMITER_CHAN, or more
 * than is held) changing nothing. */
int limiter_release(limiter_t *l, int64_t weight);

/* Tokens held right now (a snapshot: others may change it at once). */
int64_t limiter_held(limiter_t *l);

/* The limit given to limiter_new; 0 for NULL. */
int64_t limiter_limit(limiter_t *l);

/* The kind given to limiter_new. */
limiter_kind_t limiter_kind(limiter_t *l);

/* Frees l. Nobody may be holding tokens or waiting. NULL is ignored. */
void limiter_free(limiter_t *l);

/* ---- the scenario: N tasks through one limiter ---- */

typedef enum {
    LIMITER_WAITING = 1, /* tokens not free at once: the task queues */
    LIMITER_STARTED,     /* the task holds its tokens and starts work */
    LIMITER_FINISHED,    /* work done; tokens about to be given back */
    LIMITER_GAVE_UP,     /* ctx ended while waiting; the task holds nothing */
} limiter_event_kind_t;

typedef struct {
    limiter_event_kind_t kind;
    int                  task;   /* 1-based task number */
    int64_t              weight; /* tokens this task needs */
    int64_t              in_use; /* tokens held by running tasks, after this event */
    int64_t              limit;
    int                  err;        /* LIMITER_GAVE_UP: ETIMEDOUT or ECANCELED */
    int64_t              elapsed_ns; /* since limiter_run started */
} limiter_event_t;

typedef struct {
    int            tasks;       /* how many (>= 1) */
    const int64_t *weights;     /* tasks entries, each >= 1; NULL: all weigh 1 */
    duration_t     work;        /* how long a task holds its tokens (if work_fn is NULL) */
    duration_t     arrival_gap; /* between starting one task and the next; 0: all at once */
    ctx_t         *ctx;         /* bounds the waiting, not the work; NULL: never done */
    /* The work of one task, run while it holds its tokens. NULL: sleep for work. */
    void (*work_fn)(void *arg, int task, int64_t weight);
    /* Called for every event, one at a time and in order, under the limiter's
     * report lock: keep it short and do not call back into the limiter. */
    void (*on_event)(void *arg, const limiter_event_t *event);
    void *arg; /* passed to work_fn and on_event */
} limiter_job_t;

typedef struct {
    int     started; /* tasks that got their tokens (each also finished) */
    int     gave_up; /* tasks whose ctx ended while they waited */
    int64_t peak;    /* most tokens in use at once */
    int64_t elapsed_ns;
} limiter_stats_t;

/* Runs job->tasks tasks through l, one goroutine each ("task 4"), started
 * in order job->arrival_gap apart, and returns when every one has finished
 * or given up. Each task: take its weight, run its work, give the weight
 * back; if job->ctx ends first, it gives up holding nothing. Fills *stats
 * (may be NULL). Returns 0; EINVAL (bad arguments: NULL l or job, tasks <
 * 1, a weight the limiter can never grant) before starting anything;
 * ENOMEM or EAGAIN if memory or a goroutine ran out, after waiting for the
 * tasks already started (stats then count only those). The job and its ctx
 * are borrowed until this returns. */
int limiter_run(limiter_t *l, const limiter_job_t *job, limiter_stats_t *stats);

/* "deadline exceeded" for ETIMEDOUT, "canceled" for ECANCELED, else
 * strerror's text: the reason a waiter gave up, in words. */
const char *limiter_reason(int err);

#endif
