/*
 * test_01_worker_pool.c - lesson 01: the worker pool module and its program.
 *
 * The module tests steer timing with channels, never with sleeps: the task
 * function reports each start on `started` and, for the first `hold` ids,
 * waits at `gate` until the test closes it. Holding every worker busy makes
 * the pool's state exact (N tasks running, one in the dispatcher's hand, the
 * queue full), so each assertion below has one right answer.
 *
 * Every test ends with support_end(): goroutines, allocations and timers
 * back to where they were.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "01-worker-pool/worker_pool.h"
#include "common/alloc.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/support/support.h"

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

static void probe_init(struct probe *p, int64_t hold)
{
    memset(p, 0, sizeof *p);
    p->started = chan_make(sizeof(int), MAX_TASKS); /* room for every start: never blocks */
    p->gate = chan_make(0, 0);
    p->hold = hold;
    cr_assert(p->started && p->gate);
}

static void probe_destroy(struct probe *p)
{
    chan_release(p->started);
    chan_release(p->gate);
}

static int probe_task(void *env, int worker, const worker_pool_task_t *task)
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

static void submit_id(worker_pool_t *pool, int64_t id)
{
    worker_pool_task_t task = {.id = id};
    cr_assert_eq(worker_pool_submit(pool, &task), 0, "submit of task %lld failed", (long long)id);
}

/* Results as the test saw them, indexed by task id. */
struct tally {
    int count[MAX_TASKS], err[MAX_TASKS], worker[MAX_TASKS];
    int total;
};

static void take_result(struct tally *t, const worker_pool_result_t *r)
{
    cr_assert(r->id >= 0 && r->id < MAX_TASKS, "result for unknown task %lld", (long long)r->id);
    t->count[r->id]++;
    t->err[r->id] = r->err;
    t->worker[r->id] = r->worker;
    t->total++;
}

/* Reads exactly n results (the channel must not close before). */
static void read_results(worker_pool_t *pool, struct tally *t, int n)
{
    for (int i = 0; i < n; i++) {
        worker_pool_result_t r;
        cr_assert_eq(chan_recv(worker_pool_results(pool), &r), 0, "results closed early");
        take_result(t, &r);
    }
}

/* Reads until the pool closes the results channel. */
static void read_until_closed(worker_pool_t *pool, struct tally *t)
{
    worker_pool_result_t r;
    while (chan_recv(worker_pool_results(pool), &r) == 0)
        take_result(t, &r);
}

/* Brings the pool to an exact state: `workers` tasks (ids 0..workers-1,
 * all held at the gate) running, one task in the dispatcher's hand waiting
 * for a free worker, and the queue full with `queue` more. Returns the
 * number of tasks submitted. */
static int64_t fill_pool(worker_pool_t *pool, struct probe *p, int workers, int queue)
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

static void produce(void *arg)
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

static void start_producer(struct producer *pr)
{
    waitgroup_init(&pr->done);
    waitgroup_add(&pr->done, 1);
    cr_assert_eq(go_named("producer", produce, pr), 0);
}

/* Waits for the producer; returns its first submit error. */
static int finish_producer(struct producer *pr)
{
    waitgroup_wait(&pr->done);
    waitgroup_destroy(&pr->done);
    return pr->err;
}

Test(worker_pool, every_result_exactly_once, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(4, 8, probe_task, &p);
    cr_assert_not_null(pool);

    struct producer pr = {.pool = pool, .count = 200, .stop = true};
    start_producer(&pr);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(finish_producer(&pr), 0);

    cr_assert_eq(t.total, 200);
    for (int id = 0; id < 200; id++) {
        cr_assert_eq(t.count[id], 1, "task %d: %d results", id, t.count[id]);
        cr_assert_eq(atomic_load(&p.runs[id]), 1, "task %d ran %d times", id, p.runs[id]);
        cr_assert_eq(t.err[id], 0);
        cr_assert(t.worker[id] >= 1 && t.worker[id] <= 4, "task %d: worker %d", id, t.worker[id]);
    }
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, at_most_n_at_once_and_every_worker_used, .timeout = 20)
{
    support_begin();
    enum { WORKERS = 4, TASKS = 40 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, 16, probe_task, &p);
    cr_assert_not_null(pool);
    struct producer pr = {.pool = pool, .count = TASKS, .stop = true};
    start_producer(&pr);

    /* The first WORKERS tasks are held, so they run at the same time: one
     * on each worker. */
    bool busy[WORKERS + 1] = {false};
    for (int i = 0; i < WORKERS; i++) {
        int worker = 0;
        cr_assert_eq(chan_recv(p.started, &worker), 0);
        cr_assert(worker >= 1 && worker <= WORKERS && !busy[worker], "worker %d twice", worker);
        busy[worker] = true;
    }
    /* With every worker held, no further task may start. Absence can only be
     * checked for a while: 20 ms is ample for a pool that breaks its bound. */
    chan_t     *timeout = time_after(20 * TIME_MILLISECOND);
    chan_case_t cases[] = {chan_case_recv(p.started, NULL), chan_case_recv(timeout, NULL)};
    cr_assert_eq(chan_select(cases, 2), 1, "a task started while every worker was busy");
    chan_release(timeout);

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(finish_producer(&pr), 0);
    cr_assert_eq(t.total, TASKS);
    cr_assert_eq(atomic_load(&p.peak), WORKERS, "peak concurrency %d", p.peak);
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, full_queue_then_graceful_stop_runs_everything, .timeout = 20)
{
    support_begin();
    enum { WORKERS = 2, QUEUE = 4 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, QUEUE, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, WORKERS, QUEUE);

    worker_pool_task_t extra = {.id = submitted};
    cr_assert_eq(worker_pool_try_submit(pool, &extra), EAGAIN, "the queue should be full");
    cr_assert_eq(worker_pool_stop(pool, NULL), 0);

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted);
    for (int64_t id = 0; id < submitted; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "task %lld", (long long)id);
    cr_assert_eq(t.count[submitted], 0, "the refused task must yield no result");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, submit_after_stop_is_epipe, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 1);
    worker_pool_t *pool = worker_pool_new(1, 1, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, 1, 1);

    /* This submit waits for room (or has not begun yet); either way the stop
     * must turn it into EPIPE, and its task into no result at all. */
    struct producer late = {.pool = pool, .first = submitted, .count = 1};
    start_producer(&late);
    cr_assert_eq(worker_pool_stop(pool, NULL), 0);
    cr_assert_eq(finish_producer(&late), EPIPE);
    worker_pool_task_t task = {.id = submitted + 1};
    cr_assert_eq(worker_pool_submit(pool, &task), EPIPE);
    cr_assert_eq(worker_pool_try_submit(pool, &task), EPIPE);
    cr_assert_eq(worker_pool_stop(pool, NULL), EPIPE, "a second stop changes nothing");

    chan_close(p.gate);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted, "only the accepted tasks yield results");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

/* Fills a pool, stops it under ctx, and checks that every task not yet
 * started comes back with `want` before the running ones are let go. */
static void check_early_stop(ctx_t *ctx, int want, int64_t not_before)
{
    enum { WORKERS = 3, QUEUE = 5 };
    struct probe p;
    probe_init(&p, WORKERS);
    worker_pool_t *pool = worker_pool_new(WORKERS, QUEUE, probe_task, &p);
    cr_assert_not_null(pool);
    int64_t submitted = fill_pool(pool, &p, WORKERS, QUEUE);
    cr_assert_eq(worker_pool_stop(pool, ctx), 0);
    ctx_release(ctx); /* the pool holds its own reference */

    struct tally t = {0};
    read_results(pool, &t, QUEUE + 1); /* the workers are still held */
    cr_assert_geq(time_now(), not_before, "tasks returned before the deadline");
    for (int64_t id = WORKERS; id < submitted; id++) {
        cr_assert_eq(t.count[id], 1, "unstarted task %lld: %d results", (long long)id, t.count[id]);
        cr_assert_eq(t.err[id], want, "task %lld: err %d", (long long)id, t.err[id]);
        cr_assert_eq(t.worker[id], 0);
        cr_assert_eq(atomic_load(&p.runs[id]), 0, "a returned task must not run");
    }
    chan_close(p.gate);
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, submitted);
    for (int64_t id = 0; id < WORKERS; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "running task %lld", (long long)id);
    worker_pool_free(pool);
    probe_destroy(&p);
}

Test(worker_pool, stop_with_canceled_context_returns_unstarted, .timeout = 20)
{
    support_begin();
    ctx_t *ctx = ctx_with_cancel(NULL);
    cr_assert_not_null(ctx);
    ctx_cancel(ctx);
    check_early_stop(ctx, ECANCELED, 0);
    support_end();
}

Test(worker_pool, stop_with_deadline_returns_unstarted, .timeout = 20)
{
    support_begin();
    int64_t deadline = time_now() + 20 * TIME_MILLISECOND;
    ctx_t  *ctx = ctx_with_deadline(NULL, deadline);
    cr_assert_not_null(ctx);
    check_early_stop(ctx, ETIMEDOUT, deadline);
    support_end();
}

Test(worker_pool, stop_with_distant_deadline_runs_everything, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(3, 4, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 5; id++)
        submit_id(pool, id);
    ctx_t *ctx = ctx_with_timeout(NULL, 60 * TIME_SECOND);
    cr_assert_eq(worker_pool_stop(pool, ctx), 0);
    ctx_release(ctx);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, 5);
    for (int64_t id = 0; id < 5; id++)
        cr_assert(t.count[id] == 1 && t.err[id] == 0, "task %lld", (long long)id);
    worker_pool_free(pool); /* releases the context, and with it its timer */
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, failing_task_reports_error_and_worker_goes_on, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    p.fail_odd = true;
    worker_pool_t *pool = worker_pool_new(1, 16, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 10; id++)
        submit_id(pool, id);
    worker_pool_stop(pool, NULL);
    struct tally t = {0};
    read_until_closed(pool, &t);
    cr_assert_eq(t.total, 10);
    for (int id = 0; id < 10; id++) {
        cr_assert_eq(t.count[id], 1);
        cr_assert_eq(t.err[id], id % 2 == 1 ? EIO : 0, "task %d: err %d", id, t.err[id]);
        cr_assert_eq(t.worker[id], 1, "the only worker ran every task");
    }
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, free_without_reading_results_leaves_nothing, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    worker_pool_t *pool = worker_pool_new(2, 32, probe_task, &p);
    cr_assert_not_null(pool);
    for (int64_t id = 0; id < 30; id++)
        submit_id(pool, id); /* more than the results channel holds */
    chan_t *results = chan_retain(worker_pool_results(pool));
    worker_pool_free(pool); /* never stopped, nothing read: the emergency exit */
    cr_assert_eq(chan_recv(results, NULL), EPIPE, "free leaves the results channel closed");
    chan_release(results);
    for (int id = 0; id < 30; id++)
        cr_assert_leq(atomic_load(&p.runs[id]), 1, "task %d ran twice", id);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, bad_arguments_are_refused, .timeout = 10)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    errno = 0;
    cr_assert_null(worker_pool_new(0, 1, probe_task, &p));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(worker_pool_new(1, 1, NULL, &p));
    cr_assert_eq(errno, EINVAL);
    worker_pool_task_t task = {0};
    cr_assert_eq(worker_pool_submit(NULL, &task), EINVAL);
    cr_assert_eq(worker_pool_try_submit(NULL, &task), EINVAL);
    cr_assert_eq(worker_pool_stop(NULL, NULL), EINVAL);
    cr_assert_null(worker_pool_results(NULL));
    worker_pool_free(NULL);

    worker_pool_t *pool = worker_pool_new(1, 1, probe_task, &p);
    cr_assert_not_null(pool);
    cr_assert_eq(worker_pool_submit(pool, NULL), EINVAL);
    cr_assert_eq(worker_pool_try_submit(pool, NULL), EINVAL);
    worker_pool_stop(pool, NULL);
    cr_assert_eq(chan_recv(worker_pool_results(pool), NULL), EPIPE, "no task, no result");
    worker_pool_free(pool);
    probe_destroy(&p);
    support_end();
}

Test(worker_pool, out_of_memory_leaves_nothing_behind, .timeout = 20)
{
    support_begin();
    struct probe p;
    probe_init(&p, 0);
    bool made = false;
    /* Fail the 1st allocation, then the 2nd, ... until new succeeds: every
     * half-built pool (some workers already running) must unwind cleanly. */
    for (int64_t n = 0; n < 200 && !made; n++) {
        alloc_fail_after(n);
        errno = 0;
        worker_pool_t *pool = worker_pool_new(3, 2, probe_task, &p);
        int            err = errno;
        alloc_fail_reset();
        if (pool == NULL) {
            cr_assert(err == ENOMEM || err == EAGAIN, "errno %d after %lld allocations", err,
                      (long long)n);
            continue;
        }
        made = true;
        submit_id(pool, 0);
        worker_pool_stop(pool, NULL);
        struct tally t = {0};
        read_until_closed(pool, &t);
        cr_assert_eq(t.total, 1);
        worker_pool_free(pool);
    }
    cr_assert(made, "worker_pool_new never succeeded");
    probe_destroy(&p);
    support_end();
}

/* ------------------------------------------------------ the program, end to end */


/* Checks the invariants of a run's output (interleaving varies): each task
 * processed exactly once by a worker in range, each with exactly one
 * result, the summary line, and the clean-shutdown line last. */
static void check_run(const run_result_t *r, int workers, int tasks)
{
    cr_assert_eq(r->exit_code, 0, "exit %d; stderr:\n%s", r->exit_code, r->err);
    cr_assert_str_eq(r->err, "");
    int processed[MAX_TASKS + 1] = {0};
    for (const char *line = r->out; line && *line; line = strchr(line, '\n'), line += !!line) {
        int worker, task;
        if (sscanf(line, "Worker %d processing task %d", &worker, &task) == 2) {
            cr_assert(task >= 1 && task <= tasks, "unknown task %d", task);
            cr_assert(worker >= 1 && worker <= workers, "unknown worker %d", worker);
            processed[task]++;
        }
    }
    for (int task = 1; task <= tasks; task++) {
        char want[64];
        snprintf(want, sizeof want, "Result for task %d: processed Task-%d-Data (worker ", task,
                 task);
        cr_assert_eq(processed[task], 1, "task %d processed %d times", task, processed[task]);
        cr_assert_eq(count_lines_containing(r->out, want), 1, "task %d: not one result", task);
    }
    cr_assert_eq(count_lines_containing(r->out, "Result for task"), (size_t)tasks);
    cr_assert_eq(count_lines_containing(r->out, "All tasks completed."), 1);
    size_t len = strlen(r->out);
    cr_assert(len >= strlen(CLEAN_SHUTDOWN_LINE) &&
                  strcmp(r->out + len - strlen(CLEAN_SHUTDOWN_LINE), CLEAN_SHUTDOWN_LINE) == 0,
              "the clean-shutdown line must come last");
}

Test(program, runs_every_task_once, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "2", "--tasks", "6", "--work-ms", "5", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    check_run(&r, 2, 6);
    run_result_free(&r);
    support_end();
}

Test(program, tiny_queue_does_not_deadlock, .timeout = 60)
{
    support_begin();
    /* Far more tasks than the queue and the results buffer hold together:
     * the producer is throttled by backpressure, and nothing is lost. */
    const char  *argv[] = {"-w", "1", "-t", "50", "-q", "0", "-m", "0", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    check_run(&r, 1, 50);
    run_result_free(&r);
    support_end();
}

/* Eight program runs: under valgrind each start takes seconds, hence the
 * generous timeout. */
Test(program, bad_flags_exit_2_with_a_message, .timeout = 120)
{
    support_begin();
    static const char *const cases[][3] = {
        {"--bogus", NULL},
        {"--workers", "abc"},
        {"--workers", "0"},
        {"--tasks", "-3"},
        {"--workers", "99999999999999999999"},
        {"--work-ms", "5x"},
        {"--queue", NULL}, /* missing value */
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result_t r = run_program("01-worker-pool", cases[i]);
        cr_assert_eq(r.exit_code, 2, "%s %s: exit %d", cases[i][0], cases[i][1] ? cases[i][1] : "",
                     r.exit_code);
        cr_assert(strncmp(r.err, "01-worker-pool: ", 16) == 0, "no message first: %s", r.err);
        cr_assert(strstr(r.err, "Usage:") != NULL, "no usage on stderr: %s", r.err);
        cr_assert_str_eq(r.out, "");
        run_result_free(&r);
    }
    support_end();
}

Test(program, help_exits_0, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--help", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "Usage:") && strstr(r.out, "--workers") && strstr(r.out, "--work-ms"));
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
    support_end();
}
