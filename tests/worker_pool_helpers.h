/*
 * worker_pool_helpers.h - the harness the lesson 01 module tests share
 * (tests/test_01_worker_pool*.c): a task function the test steers through
 * channels, a tally of the results, and a producer goroutine.
 *
 * Timing is steered with channels, never with sleeps: probe_task reports
 * each start on `started` and, for the first `hold` ids, waits at `gate`
 * until the test closes it. Holding every worker busy makes the pool's
 * state exact (N tasks running, one in the dispatcher's hand, the queue
 * full), so each assertion has one right answer.
 *
 * Header-only (static inline): these call the lesson's module, which only
 * lesson 01's test binaries link, so they cannot live in tests/support/.
 */
#ifndef TESTS_WORKER_POOL_HELPERS_H
#define TESTS_WORKER_POOL_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "01-worker-pool/worker_pool.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"

#define MAX_TASKS 256

/* The env of probe_task: what the test controls and what the tasks report. */
struct probe {
    chan_t    *started; /* int: each task sends its worker number as it begins */
    chan_t    *gate;    /* signal: tasks with id < hold wait until it is closed */
    int64_t    hold;
    bool       fail_odd; /* odd ids fail with EIO */
    atomic_int running, peak;
    atomic_int runs[MAX_TASKS];
};

static inline void probe_init(struct probe *p, int64_t hold)
{
    memset(p, 0, sizeof *p);
    p->started = chan_make(sizeof(int), MAX_TASKS); /* room for every start: never blocks */
    p->gate = chan_make(0, 0);
    p->hold = hold;
    cr_assert(p->started && p->gate);
}

static inline void probe_destroy(struct probe *p)
{
    chan_release(p->started);
    chan_release(p->gate);
}

static inline int probe_task(void *env, int worker, const worker_pool_task_t *task)
{
    struct probe *p = env;
    int           now = atomic_fetch_add(&p->running, 1) + 1;
    int           peak = atomic_load(&p->peak);
    while (now > peak && !atomic_compare_exchange_weak(&p->peak, &peak, now))
        ;
    atomic_fetch_add(&p->runs[task->id], 1);
    chan_send(p->started, &worker);
    if (task->id < p->hold)
        chan_recv(p->gate, NULL); /* EPIPE once the test opens the gate */
    atomic_fetch_sub(&p->running, 1);
    return p->fail_odd && task->id % 2 == 1 ? EIO : 0;
}

static inline void submit_id(worker_pool_t *pool, int64_t id)
{
    worker_pool_task_t task = {.id = id};
    cr_assert_eq(worker_pool_submit(pool, &task), 0, "submit of task %lld failed", (long long)id);
}

/* Results as the test saw them, indexed by task id. */
struct tally {
    int count[MAX_TASKS], err[MAX_TASKS], worker[MAX_TASKS];
    int total;
};

static inline void take_result(struct tally *t, const worker_pool_result_t *r)
{
    cr_assert(r->id >= 0 && r->id < MAX_TASKS, "result for unknown task %lld", (long long)r->id);
    t->count[r->id]++;
    t->err[r->id] = r->err;
    t->worker[r->id] = r->worker;
    t->total++;
}

/* Reads exactly n results (the channel must not close before). */
static inline void read_results(worker_pool_t *pool, struct tally *t, int n)
{
    for (int i = 0; i < n; i++) {
        worker_pool_result_t r;
        cr_assert_eq(chan_recv(worker_pool_results(pool), &r), 0, "results closed early");
        take_result(t, &r);
    }
}

/* Reads until the pool closes the results channel. */
static inline void read_until_closed(worker_pool_t *pool, struct tally *t)
{
    worker_pool_result_t r;
    while (chan_recv(worker_pool_results(pool), &r) == 0)
        take_result(t, &r);
}

/* Brings the pool to an exact state: `workers` tasks (ids 0..workers-1,
 * all held at the gate) running, one task in the dispatcher's hand waiting
 * for a free worker, and the queue full with `queue` more. Returns the
 * number of tasks submitted. */
static inline int64_t fill_pool(worker_pool_t *pool, struct probe *p, int workers, int queue)
{
    int64_t id = 0;
    for (; id < workers; id++)
        submit_id(pool, id);
    for (int i = 0; i < workers; i++)
        cr_assert_eq(chan_recv(p->started, NULL), 0);
    /* The last of these waits until the dispatcher has taken one from the
     * queue; after that it cannot take another, since no worker is free. */
    for (; id < workers + queue + 1; id++)
        submit_id(pool, id);
    return id;
}

/* Submits ids first..first+count-1 from its own goroutine, so the test can
 * read results meanwhile; then, if asked to, stops the pool. */
struct producer {
    worker_pool_t *pool;
    int64_t        first, count;
    bool           stop;
    int            err; /* the first submit error */
    waitgroup_t    done;
};

static inline void produce(void *arg)
{
    struct producer *pr = arg;
    for (int64_t id = pr->first; id < pr->first + pr->count && pr->err == 0; id++) {
        worker_pool_task_t task = {.id = id};
        pr->err = worker_pool_submit(pr->pool, &task);
    }
    if (pr->stop)
        worker_pool_stop(pr->pool, NULL);
    waitgroup_done(&pr->done);
}

static inline void start_producer(struct producer *pr)
{
    waitgroup_init(&pr->done);
    waitgroup_add(&pr->done, 1);
    cr_assert_eq(go_named("producer", produce, pr), 0);
}

/* Waits for the producer; returns its first submit error. */
static inline int finish_producer(struct producer *pr)
{
    waitgroup_wait(&pr->done);
    waitgroup_destroy(&pr->done);
    return pr->err;
}

#endif
