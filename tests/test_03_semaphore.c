/*
 * test_03_semaphore.c - lesson 03: the limiter (both forms) keeps its
 * limit, and is fair.
 *
 *   - the limit is reached and never exceeded: gated tasks (see
 *     tests/semaphore_helpers.h) let the test know exactly when `limit`
 *     tasks are inside, then it lets one out at a time and sees exactly one
 *     other take its place;
 *   - both forms behave the same for unit weights: the same gated run gives
 *     the same sequence of in-use counts, and real work costs the same time;
 *   - FIFO: a big request is served while small ones keep arriving, and a
 *     big task in a weighted run runs alone;
 *   - misuse is EINVAL and changes nothing.
 *
 * Contexts (timeouts, cancels, deadlines) are in test_03_semaphore_cancel.c,
 * the program in test_03_program.c. Every test ends with support_end(): no
 * goroutine, allocation or timer left behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "03-semaphore/limiter.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/semaphore_helpers.h"
#include "tests/support/support.h"

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
