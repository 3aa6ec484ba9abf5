/*
 * exercises/limiter.c - the STARTER of lesson 03's exercise (see README.md
 * beside this file): ../limiter.c with the parts marked EXERCISE left for you.
 * Until you write them, `make exercise-03` fails; when it passes, compare
 * your file with the solution, ../limiter.c. (`make exercises` writes this
 * file from the EXERCISE regions of ../limiter.c.)
 */
/*
 * limiter.c - the two semaphores of lesson 03 and the task driver.
 *
 * Invariants:
 *   - LIMITER_CHAN: a token is one value in the buffered channel `tokens`,
 *     so tokens held == chan_len(tokens) <= limit, enforced by the channel.
 *   - LIMITER_SEMA: the core's sema_t keeps held <= limit and serves
 *     waiters first come, first served.
 *   - limiter_run: `in_use` counts the tokens of tasks between their
 *     STARTED and FINISHED events. It goes up only after the tokens are
 *     taken and down before they are given back, so in_use <= held <= limit
 *     at every moment, and every printed count respects the limit.
 */
#include "03-semaphore/limiter.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/sync.h"
#include "common/timer.h"
#include "common/trace.h"

struct limiter {
    limiter_kind_t kind;
    int64_t        limit;
    sema_t        *sema;   /* LIMITER_SEMA */
    chan_t        *tokens; /* LIMITER_CHAN: elem_size 0, cap limit */
};

limiter_t *limiter_new(limiter_kind_t kind, int64_t limit)
{
    if ((kind != LIMITER_SEMA && kind != LIMITER_CHAN) || limit < 1) {
        errno = EINVAL;
        return NULL;
    }
    limiter_t *l = goc_calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->kind = kind;
    l->limit = limit;
    if (kind == LIMITER_SEMA)
        l->sema = sema_new(limit);
    else
        l->tokens = chan_make(0, (size_t)limit);
    if (l->sema == NULL && l->tokens == NULL) {
        int err = errno;
        goc_free(l);
        errno = err;
        return NULL;
    }
    return l;
}

void limiter_free(limiter_t *l)
{
    if (l == NULL)
        return;
    sema_free(l->sema);
    chan_release(l->tokens);
    goc_free(l);
}

int64_t limiter_limit(limiter_t *l)
{
    return l ? l->limit : 0;
}

limiter_kind_t limiter_kind(limiter_t *l)
{
    return l ? l->kind : 0;
}

int64_t limiter_held(limiter_t *l)
{
    if (l == NULL)
        return 0;
    return l->kind == LIMITER_SEMA ? sema_held(l->sema) : (int64_t)chan_len(l->tokens);
}

/* The channel semaphore. l->tokens is a channel of capacity l->limit whose
 * elements have no size (chan_make(0, limit)): sending a value into it
 * takes a token (a slot), receiving one gives a token back. The channel
 * itself enforces the limit: a send into a full channel waits. Weight is
 * always 1 here; limiter_acquire/_try_acquire/_release below have checked
 * it and l. Element size 0 means the value pointer may be NULL. */

/* EXERCISE 1: take a token, waiting until one is free or ctx is done. Go:
 *     select { case sem <- struct{}{}: return nil; case <-ctx.Done(): return ctx.Err() }
 * Returns 0 holding a token, or ctx_err(ctx) (ETIMEDOUT or ECANCELED)
 * holding nothing. ctx may be NULL: a context that is never done.
 *
 * As it stands it returns 0 without taking anything, so nothing is limited.
 *
 * Hints:
 *   - A select of two cases: chan_case_send(l->tokens, NULL) and a receive
 *     on ctx_done(ctx). For a NULL ctx use a NULL channel: that case never
 *     fires, so the select is a plain blocking send.
 *   - If ctx is already done AND a token is free, both cases are ready and
 *     chan_select picks one at random; the weighted form promises the ctx
 *     error in that case. Check ctx_err(ctx) first (it takes NULL).
 *   - chan_select returns the index of the case that proceeded, or -1 with
 *     errno set if it could not allocate. */
static int token_acquire(limiter_t *l, ctx_t *ctx)
{
    (void)l;
    (void)ctx;
    return 0;
}

/* EXERCISE 2: take a token only if one is free right now: true if taken.
 * Never waits. As it stands it claims success without taking anything.
 * Hint: chan_try_send returns 0, or EAGAIN when the channel is full. */
static bool token_try_acquire(limiter_t *l)
{
    (void)l;
    return true;
}

/* EXERCISE 3: give a token back. Returns 0, or EINVAL if nobody holds one
 * (the caller's bug: report it, changing nothing). As it stands it gives
 * nothing back, and never notices a release without an acquire.
 * Hints:
 *   - Giving back is taking one value out of the channel.
 *   - An empty channel means no token is held. A blocking receive would
 *     then wait until somebody acquires, hiding the bug: do not wait. */
static int token_release(limiter_t *l)
{
    (void)l;
    return 0;
}

int limiter_acquire(limiter_t *l, ctx_t *ctx, int64_t weight)
{
    if (l == NULL || weight < 1)
        return EINVAL;
    if (l->kind == LIMITER_SEMA)
        return sema_acquire(l->sema, ctx, weight);
    if (weight != 1)
        return EINVAL;
    return token_acquire(l, ctx);
}

bool limiter_try_acquire(limiter_t *l, int64_t weight)
{
    if (l == NULL || weight < 0)
        return false;
    if (l->kind == LIMITER_SEMA)
        return sema_try_acquire(l->sema, weight);
    if (weight == 0)
        return true;
    return weight == 1 && token_try_acquire(l);
}

int limiter_release(limiter_t *l, int64_t weight)
{
    if (l == NULL || weight < 1)
        return EINVAL;
    if (l->kind == LIMITER_SEMA)
        return sema_release(l->sema, weight);
    if (weight != 1)
        return EINVAL;
    return token_release(l);
}

const char *limiter_reason(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return "deadline exceeded";
    case ECANCELED:
        return "canceled";
    default:
        return strerror(err);
    }
}

/* ---- limiter_run ---- */

typedef struct run run_t;

typedef struct {
    run_t  *run;
    int     number; /* 1-based */
    int64_t weight;
} task_t;

struct run {
    limiter_t           *limiter;
    const limiter_job_t *job;
    waitgroup_t          done;
    int64_t              started_at;
    pthread_mutex_t      report_lock; /* guards everything below, and orders events */
    int64_t              in_use;
    limiter_stats_t      stats;
    int                  failure; /* the first error that was not the context's */
};

/* Updates the counts and reports the event as one step, so the sequence of
 * events a program prints adds up: each count is the previous one plus or
 * minus one task's weight. */
static void report(run_t *run, const task_t *task, limiter_event_kind_t kind, int err)
{
    pthread_mutex_lock(&run->report_lock);
    if (kind == LIMITER_STARTED) {
        run->in_use += task->weight;
        run->stats.started++;
        if (run->in_use > run->stats.peak)
            run->stats.peak = run->in_use;
    } else if (kind == LIMITER_FINISHED) {
        run->in_use -= task->weight;
    } else if (kind == LIMITER_GAVE_UP) {
        run->stats.gave_up++;
    }
    if (run->job->on_event != NULL) {
        limiter_event_t event = {
            .kind = kind,
            .task = task->number,
            .weight = task->weight,
            .in_use = run->in_use,
            .limit = run->limiter->limit,
            .err = err,
            .elapsed_ns = time_now() - run->started_at,
        };
        run->job->on_event(run->job->arg, &event);
    }
    pthread_mutex_unlock(&run->report_lock);
}

static void task_main(void *arg)
{
    task_t              *task = arg;
    run_t               *run = task->run;
    const limiter_job_t *job = run->job;

    /* Try without waiting first, only so the output can say who had to
     * queue; it takes nothing unless nobody is ahead, so it is still fair.
     * A context that is already done wins over free tokens, as it does in
     * limiter_acquire. */
    int err = ctx_err(job->ctx);
    if (err == 0 && !limiter_try_acquire(run->limiter, task->weight)) {
        report(run, task, LIMITER_WAITING, 0);
        /* Spans for --trace and --timeline: see common/trace.h. */
        trace_wait("wait for %" PRId64 " slot%s", task->weight, task->weight == 1 ? "" : "s");
        err = limiter_acquire(run->limiter, job->ctx, task->weight);
        trace_end();
    }
    if (err != 0 && err != ctx_err(job->ctx)) {
        /* Not a deadline or a cancel: the run failed (out of memory). */
        pthread_mutex_lock(&run->report_lock);
        if (run->failure == 0)
            run->failure = err;
        pthread_mutex_unlock(&run->report_lock);
    } else if (err != 0) {
        report(run, task, LIMITER_GAVE_UP, err);
    } else {
        report(run, task, LIMITER_STARTED, 0);
        trace_begin("hold %" PRId64 " slot%s", task->weight, task->weight == 1 ? "" : "s");
        if (job->work_fn != NULL)
            job->work_fn(job->arg, task->number, task->weight);
        else
            time_sleep(job->work);
        trace_end();
        /* Report before releasing: once the tokens are back another task
         * may start and report, and it must not see ours still counted. */
        report(run, task, LIMITER_FINISHED, 0);
        limiter_release(run->limiter, task->weight);
    }
    waitgroup_done(&run->done);
}

static int check_job(limiter_t *l, const limiter_job_t *job)
{
    if (l == NULL || job == NULL || job->tasks < 1 || job->work < 0 || job->arrival_gap < 0)
        return EINVAL;
    for (int i = 0; job->weights != NULL && i < job->tasks; i++) {
        int64_t w = job->weights[i];
        if (w < 1 || w > l->limit || (l->kind == LIMITER_CHAN && w != 1))
            return EINVAL;
    }
    return 0;
}

int limiter_run(limiter_t *l, const limiter_job_t *job, limiter_stats_t *stats)
{
    int err = check_job(l, job);
    if (err != 0)
        return err;
    task_t *tasks = goc_calloc((size_t)job->tasks, sizeof *tasks);
    if (tasks == NULL)
        return ENOMEM;

    run_t run = {.limiter = l, .job = job, .started_at = time_now()};
    waitgroup_init(&run.done);
    pthread_mutex_init(&run.report_lock, NULL);

    for (int i = 0; i < job->tasks; i++) {
        if (i > 0)
            time_sleep(job->arrival_gap);
        tasks[i] = (task_t){&run, i + 1, job->weights ? job->weights[i] : 1};
        char name[32];
        snprintf(name, sizeof name, "task %d", i + 1);
        waitgroup_add(&run.done, 1);
        err = go_named(name, task_main, &tasks[i]);
        if (err != 0) {
            waitgroup_done(&run.done);
            break; /* the tasks already running still finish below */
        }
    }
    trace_wait("wait for the tasks");
    waitgroup_wait(&run.done);
    trace_end();

    if (err == 0)
        err = run.failure;
    run.stats.elapsed_ns = time_now() - run.started_at;
    if (stats != NULL)
        *stats = run.stats;
    pthread_mutex_destroy(&run.report_lock);
    waitgroup_destroy(&run.done);
    goc_free(tasks);
    return err;
}
