/*
 * test_03_semaphore.c - lesson 03: the limiter (both forms) and the program.
 *
 * What is proved, and how it is made deterministic:
 *   - the limit is reached and never exceeded: tasks run a gated work
 *     function that counts itself in with an atomic counter (the peak is
 *     kept independently of the module's own count) and then waits for the
 *     test to let it go, so the test knows exactly when `limit` tasks are
 *     inside, instead of hoping the timing lines up;
 *   - both forms behave the same for unit weights: the same gated run gives
 *     the same sequence of in-use counts;
 *   - FIFO: a big request is served while small ones keep arriving, and a
 *     small request behind a big one waits for it;
 *   - a context ends waiting with ETIMEDOUT / ECANCELED, holding nothing;
 *   - misuse is EINVAL and changes nothing;
 *   - every test ends with support_end(): no goroutine, allocation or timer
 *     left behind;
 *   - the program end to end: exit status, each task once, the printed
 *     counts within the limit, bad flags.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "03-semaphore/limiter.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/support/support.h"

#define MAX_TASKS 16

static void raise_peak(atomic_llong *peak, long long now)
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

static void gated_work(void *arg, int task, int64_t weight)
{
    harness_t *h = arg;
    raise_peak(&h->peak, atomic_fetch_add(&h->inside, weight) + weight);
    chan_send(h->entered, &task);
    chan_recv(h->proceed, NULL);
    atomic_fetch_sub(&h->inside, weight);
}

static void sleepy_work(void *arg, int task, int64_t weight)
{
    harness_t *h = arg;
    (void)task;
    raise_peak(&h->peak, atomic_fetch_add(&h->inside, weight) + weight);
    time_sleep(h->job.work);
    atomic_fetch_sub(&h->inside, weight);
}

static void record_event(void *arg, const limiter_event_t *ev)
{
    harness_t *h = arg;
    if (h->n_events < (int)(sizeof h->events / sizeof h->events[0]))
        h->events[h->n_events++] = *ev;
    int signed_task = ev->kind == LIMITER_GAVE_UP ? -ev->task : ev->task;
    if (ev->kind == LIMITER_STARTED || ev->kind == LIMITER_GAVE_UP)
        chan_send(h->outcome, &signed_task); /* cap MAX_TASKS: never blocks */
}

static harness_t *harness_new(limiter_kind_t kind, int64_t limit, int tasks)
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

static void run_goroutine(void *arg)
{
    harness_t *h = arg;
    chan_t    *done = h->done; /* h may be freed as soon as done is closed */
    h->rc = limiter_run(h->limiter, &h->job, &h->stats);
    chan_close(done);
    chan_release(done); /* the reference harness_start took for us */
}

static void harness_start(harness_t *h)
{
    chan_retain(h->done);
    cr_assert_eq(go_named("limiter_run", run_goroutine, h), 0);
}

static void harness_wait(harness_t *h)
{
    cr_assert_eq(chan_recv(h->done, NULL), EPIPE, "limiter_run returned");
    cr_assert_eq(h->rc, 0);
}

static void harness_free(harness_t *h)
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
static int count_events(const harness_t *h, limiter_event_kind_t kind, int task)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++)
        n += h->events[i].kind == kind && h->events[i].task == task;
    return n;
}

/* The in-use count after every start (+) and finish (-), in order, packed
 * as 1000 + n or 2000 + n. Returns how many were written. */
static int start_finish_trace(const harness_t *h, int *trace)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++) {
        const limiter_event_t *ev = &h->events[i];
        if (ev->kind == LIMITER_STARTED)
            trace[n++] = 1000 + (int)ev->in_use;
        else if (ev->kind == LIMITER_FINISHED)
            trace[n++] = 2000 + (int)ev->in_use;
    }
    return n;
}

/* Drives a gated run: waits until `limit` tasks are inside (the limit is
 * reached), then lets one finish at a time and checks that exactly one
 * other takes its place, never more. */
static void drive_gated(harness_t *h, int64_t limit, int tasks)
{
    harness_start(h);
    int task;
    for (int64_t i = 0; i < limit; i++)
        cr_assert_eq(chan_recv(h->entered, &task), 0);
    cr_assert_eq(atomic_load(&h->inside), limit, "the limit is reached");
    cr_assert_eq(limiter_held(h->limiter), limit);
    cr_assert_not(limiter_try_acquire(h->limiter, 1), "no token is free");
    for (int i = (int)limit; i < tasks; i++) {
        cr_assert_eq(chan_send(h->proceed, NULL), 0);
        cr_assert_eq(chan_recv(h->entered, &task), 0);
        cr_assert_eq(atomic_load(&h->inside), limit, "one out, one in");
    }
    for (int64_t i = 0; i < limit; i++)
        cr_assert_eq(chan_send(h->proceed, NULL), 0);
    harness_wait(h);
    cr_assert_eq(chan_try_recv(h->entered, &task), EAGAIN, "no task entered twice");

    cr_assert_eq(atomic_load(&h->peak), limit, "never more than the limit inside");
    cr_assert_eq(h->stats.peak, limit);
    cr_assert_eq(h->stats.started, tasks);
    cr_assert_eq(h->stats.gave_up, 0);
    for (int t = 1; t <= tasks; t++) {
        cr_assert_eq(count_events(h, LIMITER_STARTED, t), 1, "task %d started once", t);
        cr_assert_eq(count_events(h, LIMITER_FINISHED, t), 1, "task %d finished once", t);
    }
    for (int i = 0; i < h->n_events; i++)
        cr_assert_leq(h->events[i].in_use, limit, "every reported count within the limit");
}

Test(semaphore, weighted_form_reaches_and_keeps_the_limit, .timeout = 20)
{
    support_begin();
    harness_t *h = harness_new(LIMITER_SEMA, 3, 10);
    drive_gated(h, 3, 10);
    harness_free(h);
    support_end();
}

Test(semaphore, channel_form_reaches_and_keeps_the_limit, .timeout = 20)
{
    support_begin();
    harness_t *h = harness_new(LIMITER_CHAN, 3, 10);
    drive_gated(h, 3, 10);
    harness_free(h);
    support_end();
}

Test(semaphore, channel_and_weighted_forms_agree, .timeout = 20)
{
    support_begin();
    int            trace[2][4 * MAX_TASKS], len[2];
    limiter_kind_t kinds[2] = {LIMITER_SEMA, LIMITER_CHAN};
    for (int k = 0; k < 2; k++) {
        harness_t *h = harness_new(kinds[k], 2, 7);
        drive_gated(h, 2, 7);
        len[k] = start_finish_trace(h, trace[k]);
        harness_free(h);
    }
    cr_assert_eq(len[0], 14);
    cr_assert_eq(len[1], len[0]);
    for (int i = 0; i < len[0]; i++)
        cr_assert_eq(trace[1][i], trace[0][i], "step %d: same in-use count in both forms", i);

    /* With real work too: the limit costs the same time in both forms. Six
     * tasks of 20 ms, two at a time, cannot finish in less than 60 ms. */
    for (int k = 0; k < 2; k++) {
        harness_t *h = harness_new(kinds[k], 2, 6);
        h->job.work_fn = sleepy_work;
        h->job.work = 20 * TIME_MILLISECOND;
        harness_start(h);
        harness_wait(h);
        cr_assert_eq(h->stats.started, 6);
        cr_assert_leq(atomic_load(&h->peak), 2);
        cr_assert_geq(h->stats.elapsed_ns, 60 * TIME_MILLISECOND);
        cr_assert_lt(h->stats.elapsed_ns, 5 * TIME_SECOND);
        harness_free(h);
    }
    support_end();
}

/* ---- FIFO: the big job ---- */

typedef struct {
    limiter_t   *limiter;
    atomic_bool  stop;
    atomic_llong inside, peak;
    chan_t      *first_round; /* signal, one per small worker */
    waitgroup_t  wg;
} stream_t;

static void small_worker(void *arg)
{
    stream_t *s = arg;
    bool      announced = false;
    while (!atomic_load(&s->stop)) {
        if (limiter_acquire(s->limiter, NULL, 1) != 0)
            break;
        raise_peak(&s->peak, atomic_fetch_add(&s->inside, 1) + 1);
        time_sleep(TIME_MILLISECOND); /* the small job's work */
        atomic_fetch_sub(&s->inside, 1);
        limiter_release(s->limiter, 1);
        if (!announced) {
            chan_send(s->first_round, NULL);
            announced = true;
        }
    }
    waitgroup_done(&s->wg);
}

Test(semaphore, big_job_is_served_while_small_ones_keep_arriving, .timeout = 20)
{
    support_begin();
    enum { LIMIT = 3, SMALL = 4 };
    stream_t s = {.limiter = limiter_new(LIMITER_SEMA, LIMIT)};
    cr_assert_not_null(s.limiter);
    s.first_round = chan_make(0, SMALL);
    waitgroup_init(&s.wg);
    waitgroup_add(&s.wg, SMALL);
    for (int i = 0; i < SMALL; i++)
        cr_assert_eq(go_named("small", small_worker, &s), 0);
    /* More small workers than tokens: somebody always wants a token, so an
     * unfair semaphore would never have all three free at once. */
    for (int i = 0; i < SMALL; i++)
        cr_assert_eq(chan_recv(s.first_round, NULL), 0);

    ctx_t *ctx = ctx_with_timeout(NULL, 5 * TIME_SECOND);
    int    rc = limiter_acquire(s.limiter, ctx, LIMIT);
    cr_assert_eq(rc, 0, "the big job got every token (not starved): %d", rc);
    cr_assert_eq(atomic_load(&s.inside), 0, "no small job runs beside the big one");
    cr_assert_eq(limiter_held(s.limiter), LIMIT);
    cr_assert_eq(limiter_release(s.limiter, LIMIT), 0);

    atomic_store(&s.stop, true);
    waitgroup_wait(&s.wg);
    cr_assert_leq(atomic_load(&s.peak), LIMIT);
    cr_assert_eq(limiter_held(s.limiter), 0);
    ctx_cancel(ctx);
    ctx_release(ctx);
    waitgroup_destroy(&s.wg);
    chan_release(s.first_round);
    limiter_free(s.limiter);
    support_end();
}

Test(semaphore, big_task_runs_alone_in_a_weighted_run, .timeout = 20)
{
    support_begin();
    harness_t *h = harness_new(LIMITER_SEMA, 3, 8);
    int64_t    weights[8] = {1, 1, 1, 3, 1, 1, 1, 1};
    h->job.weights = weights;
    h->job.work_fn = sleepy_work;
    h->job.work = 5 * TIME_MILLISECOND;
    h->job.arrival_gap = TIME_MILLISECOND;
    harness_start(h);
    harness_wait(h);
    cr_assert_eq(h->stats.started, 8);
    cr_assert_eq(h->stats.peak, 3);
    cr_assert_leq(atomic_load(&h->peak), 3);
    int big_start = -1, big_finish = -1;
    for (int i = 0; i < h->n_events; i++) {
        const limiter_event_t *ev = &h->events[i];
        if (ev->task == 4 && ev->kind == LIMITER_STARTED) {
            big_start = i;
            cr_assert_eq(ev->in_use, 3, "the big task holds every slot");
        }
        if (ev->task == 4 && ev->kind == LIMITER_FINISHED)
            big_finish = i;
    }
    cr_assert(big_start >= 0 && big_finish > big_start);
    for (int i = big_start + 1; i < big_finish; i++)
        cr_assert_neq(h->events[i].kind, LIMITER_STARTED, "nothing starts beside the big task");
    for (int t = 1; t <= 8; t++)
        cr_assert_eq(count_events(h, LIMITER_FINISHED, t), 1, "task %d finished once", t);
    harness_free(h);
    support_end();
}

/* ---- contexts ---- */

typedef struct {
    limiter_t   *limiter;
    ctx_t       *ctx;
    int64_t      weight;
    int          rc;
    waitgroup_t *wg;
} waiter_t;

static void waiter_main(void *arg)
{
    waiter_t *w = arg;
    w->rc = limiter_acquire(w->limiter, w->ctx, w->weight);
    if (w->rc == 0)
        limiter_release(w->limiter, w->weight);
    waitgroup_done(w->wg);
}

/* Fills l, lets three waiters give up on ctx, checks they hold nothing. */
static void waiters_give_up(limiter_kind_t kind, bool use_timeout)
{
    limiter_t *l = limiter_new(kind, 2);
    cr_assert_not_null(l);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(limiter_acquire(l, NULL, 1), 0);

    int64_t t0 = time_now();
    ctx_t  *ctx =
        use_timeout ? ctx_with_timeout(NULL, 20 * TIME_MILLISECOND) : ctx_with_cancel(NULL);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waiter_t waiters[3];
    for (int i = 0; i < 3; i++) {
        waiters[i] = (waiter_t){l, ctx, 1, -1, &wg};
        waitgroup_add(&wg, 1);
        cr_assert_eq(go_named("waiter", waiter_main, &waiters[i]), 0);
    }
    if (!use_timeout)
        ctx_cancel(ctx);
    waitgroup_wait(&wg);
    int want = use_timeout ? ETIMEDOUT : ECANCELED;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(waiters[i].rc, want, "waiter %d: %d", i, waiters[i].rc);
    if (use_timeout)
        cr_assert_geq(time_now() - t0, 20 * TIME_MILLISECOND, "they waited for the deadline");
    cr_assert_eq(limiter_held(l), 2, "the count is exactly where it was");

    /* Nothing was left reserved or queued by the waiters that gave up. */
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_held(l), 0);
    cr_assert(limiter_try_acquire(l, 1), "the queue is empty");
    cr_assert(limiter_try_acquire(l, 1));
    cr_assert_eq(limiter_held(l), 2);
    cr_assert_eq(limiter_release(l, 1), 0);
    cr_assert_eq(limiter_release(l, 1), 0);

    ctx_release(ctx);
    waitgroup_destroy(&wg);
    limiter_free(l);
}

Test(semaphore, waiters_time_out_holding_nothing, .timeout = 20)
{
    support_begin();
    waiters_give_up(LIMITER_SEMA, true);
    waiters_give_up(LIMITER_CHAN, true);
    support_end();
}

Test(semaphore, waiters_canceled_holding_nothing, .timeout = 20)
{
    support_begin();
    waiters_give_up(LIMITER_SEMA, false);
    waiters_give_up(LIMITER_CHAN, false);
    support_end();
}

Test(semaphore, done_context_wins_over_free_tokens, .timeout = 10)
{
    support_begin();
    limiter_kind_t kinds[2] = {LIMITER_SEMA, LIMITER_CHAN};
    for (int k = 0; k < 2; k++) {
        limiter_t *l = limiter_new(kinds[k], 2);
        ctx_t     *ctx = ctx_with_cancel(NULL);
        ctx_cancel(ctx);
        for (int i = 0; i < 50; i++)
            cr_assert_eq(limiter_acquire(l, ctx, 1), ECANCELED);
        cr_assert_eq(limiter_held(l), 0);
        ctx_release(ctx);
        limiter_free(l);
    }
    support_end();
}

/* Polls until somebody is queued on l (weight 0 succeeds only while the
 * queue is empty); false if that does not happen within 5 s. */
static bool wait_until_queued(limiter_t *l)
{
    int64_t    deadline = time_now() + 5 * TIME_SECOND;
    duration_t pause = TIME_MICROSECOND;
    while (limiter_try_acquire(l, 0)) {
        if (time_now() > deadline)
            return false;
        time_sleep(pause);
        if (pause < TIME_MILLISECOND)
            pause *= 2;
    }
    return true;
}

typedef struct {
    ctx_t       *ctx;
    duration_t   after;
    waitgroup_t *wg;
} canceler_t;

static void canceler_main(void *arg)
{
    canceler_t *c = arg;
    chan_t     *timer = time_after(c->after);
    chan_recv(timer, NULL);
    chan_release(timer);
    ctx_cancel(c->ctx);
    waitgroup_done(c->wg);
}

Test(semaphore, small_waits_behind_big_until_big_gives_up, .timeout = 20)
{
    support_begin();
    limiter_t *l = limiter_new(LIMITER_SEMA, 3);
    cr_assert_eq(limiter_acquire(l, NULL, 2), 0); /* one token stays free */

    /* The big job's context has no deadline of its own, so it cannot give
     * up before the test has seen it queued. */
    ctx_t      *ctx = ctx_with_cancel(NULL);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 2); /* the big job and the canceler */
    waiter_t big = {l, ctx, 3, -1, &wg};
    cr_assert_eq(go_named("big job", waiter_main, &big), 0);
    cr_assert(wait_until_queued(l), "the big job queued");

    /* A token is free, but the big job is ahead: FIFO makes the small
     * request wait until the big one leaves the head of the queue, which
     * the canceler makes happen no earlier than 30 ms from now. */
    int64_t    earliest_cancel = time_now() + 30 * TIME_MILLISECOND;
    canceler_t canceler = {ctx, 30 * TIME_MILLISECOND, &wg};
    cr_assert_eq(go_named("canceler", canceler_main, &canceler), 0);
    cr_assert_eq(limiter_acquire(l, NULL, 1), 0);
    cr_assert_geq(time_now(), earliest_cancel, "the small request waited behind the big one");
    waitgroup_wait(&wg);
    cr_assert_eq(big.rc, ECANCELED);
    cr_assert_eq(limiter_held(l), 3, "the big job left holding nothing");
    cr_assert_eq(limiter_release(l, 3), 0);

    ctx_release(ctx);
    waitgroup_destroy(&wg);
    limiter_free(l);
    support_end();
}

Test(semaphore, run_with_deadline_gives_up_waiters, .timeout = 20)
{
    support_begin();
    enum { TASKS = 5, LIMIT = 2 };
    harness_t *h = harness_new(LIMITER_SEMA, LIMIT, TASKS);
    ctx_t     *ctx = ctx_with_timeout(NULL, 30 * TIME_MILLISECOND);
    h->job.ctx = ctx;
    harness_start(h);
    /* Every task reports exactly one outcome; gated tasks keep their tokens
     * until all five have, so at most LIMIT can start. */
    int started = 0, gave_up = 0, task;
    for (int i = 0; i < TASKS; i++) {
        cr_assert_eq(chan_recv(h->outcome, &task), 0);
        if (task > 0)
            started++;
        else
            gave_up++;
    }
    for (int i = 0; i < started; i++)
        cr_assert_eq(chan_send(h->proceed, NULL), 0);
    harness_wait(h);
    cr_assert_leq(started, LIMIT);
    cr_assert_geq(gave_up, TASKS - LIMIT);
    cr_assert_eq(h->stats.started, started);
    cr_assert_eq(h->stats.gave_up, gave_up);
    for (int i = 0; i < h->n_events; i++) {
        const limiter_event_t *ev = &h->events[i];
        if (ev->kind == LIMITER_GAVE_UP) {
            cr_assert_eq(ev->err, ETIMEDOUT, "task %d gave up at the deadline", ev->task);
            cr_assert_eq(count_events(h, LIMITER_STARTED, ev->task), 0);
        }
    }
    for (int t = 1; t <= TASKS; t++)
        cr_assert_eq(count_events(h, LIMITER_STARTED, t) + count_events(h, LIMITER_GAVE_UP, t), 1,
                     "task %d: exactly one outcome", t);
    ctx_release(ctx);
    harness_free(h);
    support_end();
}

/* ---- misuse ---- */

Test(semaphore, releasing_more_than_held_is_einval, .timeout = 10)
{
    support_begin();
    limiter_t *s = limiter_new(LIMITER_SEMA, 3);
    cr_assert_eq(limiter_acquire(s, NULL, 2), 0);
    cr_assert_eq(limiter_release(s, 3), EINVAL);
    cr_assert_eq(limiter_held(s), 2, "a refused release changes nothing");
    cr_assert_eq(limiter_release(s, 0), EINVAL);
    cr_assert_eq(limiter_release(s, -1), EINVAL);
    cr_assert_eq(limiter_held(s), 2);
    cr_assert(limiter_try_acquire(s, 1), "the third token is still free");
    cr_assert_not(limiter_try_acquire(s, 1), "and only that one");
    cr_assert_eq(limiter_release(s, 3), 0);
    cr_assert_eq(limiter_release(s, 1), EINVAL);
    cr_assert_eq(limiter_held(s), 0);
    limiter_free(s);

    limiter_t *c = limiter_new(LIMITER_CHAN, 3);
    cr_assert_eq(limiter_acquire(c, NULL, 1), 0);
    cr_assert_eq(limiter_acquire(c, NULL, 1), 0);
    cr_assert_eq(limiter_release(c, 2), EINVAL, "the channel form has no weights");
    cr_assert_eq(limiter_held(c), 2);
    cr_assert_eq(limiter_release(c, 1), 0);
    cr_assert_eq(limiter_release(c, 1), 0);
    cr_assert_eq(limiter_release(c, 1), EINVAL, "nothing is held");
    cr_assert_eq(limiter_held(c), 0);
    cr_assert(limiter_try_acquire(c, 1), "still usable after a refused release");
    cr_assert_eq(limiter_release(c, 1), 0);
    limiter_free(c);
    support_end();
}

Test(semaphore, bad_arguments_are_einval, .timeout = 10)
{
    support_begin();
    errno = 0;
    cr_assert_null(limiter_new(LIMITER_SEMA, 0));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(limiter_new((limiter_kind_t)99, 3));
    cr_assert_eq(limiter_acquire(NULL, NULL, 1), EINVAL);
    cr_assert_eq(limiter_release(NULL, 1), EINVAL);
    cr_assert_not(limiter_try_acquire(NULL, 1));
    cr_assert_eq(limiter_held(NULL), 0);
    limiter_free(NULL);

    limiter_t *s = limiter_new(LIMITER_SEMA, 3);
    limiter_t *c = limiter_new(LIMITER_CHAN, 3);
    cr_assert_eq(limiter_acquire(s, NULL, 0), EINVAL);
    cr_assert_eq(limiter_acquire(s, NULL, 4), EINVAL, "more than the limit, waiting forever");
    cr_assert_eq(limiter_acquire(c, NULL, 2), EINVAL, "weights need the weighted form");
    cr_assert_eq(limiter_held(s), 0);
    cr_assert_eq(limiter_held(c), 0);

    int64_t       too_big[2] = {1, 4};
    limiter_job_t job = {.tasks = 2, .weights = too_big};
    cr_assert_eq(limiter_run(s, &job, NULL), EINVAL, "a weight above the limit");
    job.weights = NULL;
    job.tasks = 0;
    cr_assert_eq(limiter_run(s, &job, NULL), EINVAL);
    cr_assert_eq(limiter_run(NULL, &job, NULL), EINVAL);
    cr_assert_eq(limiter_run(s, NULL, NULL), EINVAL);
    int64_t twos[1] = {2};
    job = (limiter_job_t){.tasks = 1, .weights = twos};
    cr_assert_eq(limiter_run(c, &job, NULL), EINVAL);
    limiter_free(s);
    limiter_free(c);
    support_end();
}

/* ---- the program, end to end ---- */

/* Checks every "(n/limit slots in use)" in out: 0 <= n <= limit. Returns
 * the largest n and how many there were. */
static int64_t check_counts(const char *out, int64_t limit, int *seen)
{
    int64_t     most = 0;
    const char *p = out;
    *seen = 0;
    while ((p = strstr(p, " slots in use)")) != NULL) {
        const char *open = p;
        while (open > out && *open != '(' && *open != '\n')
            open--;
        long long n = -1, lim = -1;
        cr_assert_eq(sscanf(open, "(%lld/%lld", &n, &lim), 2, "a count like (2/3 ...)");
        cr_assert_eq(lim, limit);
        cr_assert(n >= 0 && n <= limit, "printed count %lld within the limit %lld", n, lim);
        if (n > most)
            most = n;
        (*seen)++;
        p++;
    }
    return most;
}

static void check_each_task_once(const char *out, int tasks)
{
    char needle[64];
    for (int t = 1; t <= tasks; t++) {
        snprintf(needle, sizeof needle, "Task %d: start (", t);
        cr_assert_eq(count_lines_containing(out, needle), 1, "task %d started once", t);
        snprintf(needle, sizeof needle, "Task %d: finish (", t);
        cr_assert_eq(count_lines_containing(out, needle), 1, "task %d finished once", t);
    }
}

static void check_clean_end(const run_result_t *r)
{
    const char *last = "Clean shutdown: every goroutine returned, every allocation freed.\n";
    size_t      len = strlen(r->out), n = strlen(last);
    cr_assert(len >= n && strcmp(r->out + len - n, last) == 0, "ends with the clean line:\n%s",
              r->out);
}

Test(semaphore_program, runs_every_task_within_the_limit, .timeout = 30)
{
    const char *const forms[2][8] = {
        {"--tasks", "6", "--limit", "2", "--work-ms", "20", NULL},
        {"--tasks", "6", "--limit", "2", "--work-ms", "20", "--channel", NULL},
    };
    for (int k = 0; k < 2; k++) {
        run_result_t r = run_program("03-semaphore", forms[k]);
        cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
        check_each_task_once(r.out, 6);
        int seen = 0;
        check_counts(r.out, 2, &seen);
        cr_assert_geq(seen, 12, "a count on every start and finish");
        cr_assert_eq(count_lines_containing(r.out, "Done in"), 1);
        cr_assert_eq(count_lines_containing(r.out, "6 of 6 tasks finished, 0 gave up"), 1);
        check_clean_end(&r);
        run_result_free(&r);
    }
}

Test(semaphore_program, weighted_big_job_runs_alone, .timeout = 30)
{
    const char *const argv[] = {"--tasks",   "6",  "--limit",    "2",
                                "--work-ms", "40", "--weighted", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    check_each_task_once(r.out, 6);
    cr_assert_eq(count_lines_containing(r.out, "Task 3 is a big job"), 1);
    int seen = 0;
    check_counts(r.out, 2, &seen);
    cr_assert_eq(count_lines_containing(r.out, "Task 3: start (2/2 slots in use)"), 1);
    const char *start = strstr(r.out, "Task 3: start");
    const char *finish = strstr(r.out, "Task 3: finish");
    cr_assert(start && finish && start < finish);
    for (const char *p = strstr(strchr(start, '\n'), ": start ("); p && p < finish;
         p = strstr(p + 1, ": start ("))
        cr_assert_fail("another task started beside the big job:\n%s", r.out);
    check_clean_end(&r);
    run_result_free(&r);
}

Test(semaphore_program, timeout_gives_up_waiting_tasks, .timeout = 30)
{
    /* One slot, held 300 ms; waiting ends at 30 ms: at most one task runs. */
    const char *const argv[] = {"--tasks",      "4",  "--limit", "1", "--work-ms", "300",
                                "--timeout-ms", "30", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    size_t gave_up = count_lines_containing(r.out, "gave up waiting: deadline exceeded");
    size_t started = count_lines_containing(r.out, ": start (");
    cr_assert_geq(gave_up, 3);
    cr_assert_eq(started + gave_up, 4);
    cr_assert_eq(count_lines_containing(r.out, ": finish ("), started);
    char needle[64];
    for (int t = 1; t <= 4; t++) {
        snprintf(needle, sizeof needle, "Task %d: start (", t);
        size_t s = count_lines_containing(r.out, needle);
        snprintf(needle, sizeof needle, "Task %d: gave up", t);
        cr_assert_eq(s + count_lines_containing(r.out, needle), 1, "task %d: one outcome", t);
    }
    int seen = 0;
    check_counts(r.out, 1, &seen);
    check_clean_end(&r);
    run_result_free(&r);
}

typedef struct {
    const char *argv[4];
    const char *says; /* expected in the message */
} bad_case_t;

/* Each case exits 2, names the problem on stderr, prints the usage there,
 * and nothing on stdout. */
static void check_bad_cases(const bad_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_result_t r = run_program("03-semaphore", cases[i].argv);
        cr_assert_eq(r.exit_code, 2, "%s: exit %d", cases[i].argv[0], r.exit_code);
        cr_assert(strstr(r.err, "03-semaphore: ") != NULL, "%s: %s", cases[i].argv[0], r.err);
        cr_assert(strstr(r.err, cases[i].says) != NULL, "%s: wanted '%s' in: %s", cases[i].argv[0],
                  cases[i].says, r.err);
        cr_assert(strstr(r.err, "Usage:") != NULL, "%s prints the usage", cases[i].argv[0]);
        cr_assert_str_eq(r.out, "", "%s: nothing on stdout", cases[i].argv[0]);
        run_result_free(&r);
    }
}

Test(semaphore_program, bad_numbers_exit_2, .timeout = 60)
{
    const bad_case_t cases[] = {
        {{"--tasks", "abc", NULL}, "is not a number"},
        {{"--limit", "0", NULL}, "must be between"},
        {{"--tasks", "-3", NULL}, "must be between"},
        {{"--work-ms", "99999999999999999999", NULL}, "must be between"},
        {{"--timeout-ms", "0", NULL}, "must be between"},
    };
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(semaphore_program, bad_usage_exits_2, .timeout = 60)
{
    const bad_case_t cases[] = {
        {{"--bogus", NULL}, "unknown option '--bogus'"},
        {{"-x", NULL}, "unknown option '-x'"},
        {{"--tasks", NULL}, "--tasks needs a value"},
        {{"--weighted", "--channel", NULL}, "--weighted needs the weighted semaphore"},
        {{"extra", NULL}, "unexpected argument 'extra'"},
    };
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(semaphore_program, help_prints_usage, .timeout = 10)
{
    const char *const argv[] = {"--help", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "Usage:") != NULL);
    cr_assert(strstr(r.out, "--timeout-ms") != NULL);
    cr_assert(strstr(r.out, "--channel") != NULL);
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
}
