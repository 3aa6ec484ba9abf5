/*
 * semaphore_helpers.h - what the lesson 03 module tests share
 * (tests/test_03_semaphore*.c): a limiter_run in the background whose tasks
 * do gated work, and the peak counter.
 *
 * The gated work counts itself in with an atomic counter (its peak kept
 * independently of the module's own count), reports on `entered`, and
 * waits until the test sends on `proceed`: so the test knows exactly when
 * `limit` tasks are inside, instead of hoping the timing lines up. Every
 * event the run reports is recorded, and STARTED / GAVE_UP also sent on
 * `outcome`.
 *
 * Header-only (static inline): these call the lesson's module, which only
 * lesson 03's test binaries link, so they cannot live in tests/support/.
 */
#ifndef TESTS_SEMAPHORE_HELPERS_H
#define TESTS_SEMAPHORE_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "03-semaphore/limiter.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/timer.h"

#define MAX_TASKS 16

/* Raises *peak to now if now is higher. */
static inline void raise_peak(atomic_llong *peak, long long now)
{
    long long seen = atomic_load(peak);
    while (now > seen && !atomic_compare_exchange_weak(peak, &seen, now))
        ;
}

/* ---- a limiter_run in the background, with gated work ---- */

typedef struct {
    limiter_t      *limiter;
    limiter_job_t   job;
    limiter_stats_t stats;
    int             rc;
    chan_t         *done;    /* signal: closed when limiter_run has returned */
    chan_t         *entered; /* int: task number, sent when a task starts work */
    chan_t         *proceed; /* signal: lets one gated task finish */
    chan_t         *outcome; /* int: +task when it started, -task when it gave up */
    atomic_llong    inside;  /* tokens of tasks inside their work, counted by the work */
    atomic_llong    peak;
    /* Written by on_event under the limiter's report lock; read after done. */
    limiter_event_t events[4 * MAX_TASKS];
    int             n_events;
} harness_t;

static inline void gated_work(void *arg, int task, int64_t weight)
{
    harness_t *h = arg;
    raise_peak(&h->peak, atomic_fetch_add(&h->inside, weight) + weight);
    chan_send(h->entered, &task);
    chan_recv(h->proceed, NULL);
    atomic_fetch_sub(&h->inside, weight);
}

static inline void sleepy_work(void *arg, int task, int64_t weight)
{
    harness_t *h = arg;
    (void)task;
    raise_peak(&h->peak, atomic_fetch_add(&h->inside, weight) + weight);
    time_sleep(h->job.work);
    atomic_fetch_sub(&h->inside, weight);
}

static inline void record_event(void *arg, const limiter_event_t *ev)
{
    harness_t *h = arg;
    if (h->n_events < (int)(sizeof h->events / sizeof h->events[0]))
        h->events[h->n_events++] = *ev;
    int signed_task = ev->kind == LIMITER_GAVE_UP ? -ev->task : ev->task;
    if (ev->kind == LIMITER_STARTED || ev->kind == LIMITER_GAVE_UP)
        chan_send(h->outcome, &signed_task); /* cap MAX_TASKS: never blocks */
}

static inline harness_t *harness_new(limiter_kind_t kind, int64_t limit, int tasks)
{
    cr_assert_leq(tasks, MAX_TASKS);
    harness_t *h = calloc(1, sizeof *h);
    cr_assert_not_null(h);
    h->limiter = limiter_new(kind, limit);
    cr_assert_not_null(h->limiter);
    h->done = chan_make(0, 0);
    h->entered = chan_make(sizeof(int), MAX_TASKS);
    h->proceed = chan_make(0, MAX_TASKS);
    h->outcome = chan_make(sizeof(int), MAX_TASKS);
    cr_assert(h->done && h->entered && h->proceed && h->outcome);
    h->job =
        (limiter_job_t){.tasks = tasks, .work_fn = gated_work, .on_event = record_event, .arg = h};
    return h;
}

static inline void run_goroutine(void *arg)
{
    harness_t *h = arg;
    chan_t    *done = h->done; /* h may be freed as soon as done is closed */
    h->rc = limiter_run(h->limiter, &h->job, &h->stats);
    chan_close(done);
    chan_release(done); /* the reference harness_start took for us */
}

static inline void harness_start(harness_t *h)
{
    chan_retain(h->done);
    cr_assert_eq(go_named("limiter_run", run_goroutine, h), 0);
}

static inline void harness_wait(harness_t *h)
{
    cr_assert_eq(chan_recv(h->done, NULL), EPIPE, "limiter_run returned");
    cr_assert_eq(h->rc, 0);
}

static inline void harness_free(harness_t *h)
{
    cr_assert_eq(limiter_held(h->limiter), 0, "every token was given back");
    limiter_free(h->limiter);
    chan_release(h->done);
    chan_release(h->entered);
    chan_release(h->proceed);
    chan_release(h->outcome);
    free(h);
}

/* Events of one kind for one task. */
static inline int count_events(const harness_t *h, limiter_event_kind_t kind, int task)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++)
        n += h->events[i].kind == kind && h->events[i].task == task;
    return n;
}

#endif
