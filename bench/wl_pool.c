/*
 * wl_pool.c - the workloads with stages of goroutines: pool and pool16 (a
 * worker pool between two cap-1024 channels) and pipeline (four stages on
 * unbuffered channels).
 *
 * Squares are computed in uint64_t, so they and their sums wrap instead of
 * overflowing; the checks compare wrapped sums, which is all they need.
 */
#include <errno.h>
#include <stdio.h>

#include "bench/bench.h"
#include "common/timer.h"

/* --------------------------------------------------------- pool, pool16 */

enum { POOL_MAX_WORKERS = 16 };

typedef struct {
    bench_crew_t *crew;
    chan_t       *tasks;        /* int */
    chan_t       *results;      /* uint64_t */
    int64_t       count;        /* feeder: how many tasks */
    atomic_int   *workers_left; /* the worker that brings it to 0 closes results */
} pool_part_t;

static void pool_feeder(void *arg)
{
    pool_part_t *p = arg;
    if (crew_wait_start(p->crew)) {
        for (int64_t i = 0; i < p->count; i++) {
            int x = (int)i;
            if (chan_send(p->tasks, &x) != 0)
                break;
        }
        chan_close(p->tasks);
    }
    crew_leave(p->crew);
}

static void pool_worker(void *arg)
{
    pool_part_t *p = arg;
    if (crew_wait_start(p->crew)) {
        int x;
        while (chan_recv(p->tasks, &x) == 0) {
            uint64_t square = (uint64_t)x * (uint64_t)x;
            if (chan_send(p->results, &square) != 0)
                break;
        }
        if (atomic_fetch_sub(p->workers_left, 1) == 1)
            chan_close(p->results);
    }
    crew_leave(p->crew);
}

static int run_pool(const char *workload, int workers, int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail(workload, ENOMEM, "out of memory");
    chan_t     *tasks = chan_make(sizeof(int), 1024);
    chan_t     *results = chan_make(sizeof(uint64_t), 1024);
    atomic_int  workers_left = workers;
    pool_part_t part = {&crew, tasks, results, n, &workers_left};
    int         rc = tasks == NULL || results == NULL ? ENOMEM : 0;
    for (int i = 0; i < workers && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "worker %d", i);
        rc = crew_go(&crew, name, pool_worker, &part);
    }
    if (rc == 0)
        rc = crew_go(&crew, "feeder", pool_feeder, &part);
    if (rc != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        chan_release(tasks);
        chan_release(results);
        return bench_fail(workload, rc, "cannot set up the channels and threads");
    }

    int64_t  t0 = crew_start(&crew);
    int64_t  collected = 0;
    uint64_t sum = 0, square;
    while (chan_recv(results, &square) == 0) {
        collected++;
        sum += square;
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);
    chan_release(tasks);
    chan_release(results);

    *elapsed_ns = t1 - t0;
    uint64_t expected = 0;
    for (int64_t i = 0; i < n; i++)
        expected += (uint64_t)i * (uint64_t)i;
    if (collected != n || sum != expected)
        return bench_fail(workload, EPROTO, "collected %lld of %lld results, sum %s",
                          (long long)collected, (long long)n, sum == expected ? "ok" : "wrong");
    return 0;
}

int wl_pool(int64_t n, int64_t *elapsed_ns)
{
    return run_pool("pool", 4, n, elapsed_ns);
}

int wl_pool16(int64_t n, int64_t *elapsed_ns)
{
    return run_pool("pool16", POOL_MAX_WORKERS, n, elapsed_ns);
}

/* ------------------------------------------------------------ pipeline */

typedef enum { STAGE_GENERATE, STAGE_SQUARE, STAGE_KEEP_ODD, STAGE_SINK } stage_kind_t;

typedef struct {
    bench_crew_t *crew;
    stage_kind_t  kind;
    chan_t       *in, *out; /* uint64_t; generate has no in, sink no out */
    int64_t       count;    /* generate: how many; sink: how many arrived */
    uint64_t      sum;      /* sink: sum of what arrived */
} stage_t;

/* One stage: reads in until it is closed, writes out, closes out. */
static void stage_run(void *arg)
{
    stage_t *s = arg;
    if (crew_wait_start(s->crew)) {
        uint64_t x;
        switch (s->kind) {
        case STAGE_GENERATE:
            for (x = 0; x < (uint64_t)s->count; x++)
                if (chan_send(s->out, &x) != 0)
                    break;
            break;
        case STAGE_SQUARE:
            while (chan_recv(s->in, &x) == 0) {
                x *= x;
                if (chan_send(s->out, &x) != 0)
                    break;
            }
            break;
        case STAGE_KEEP_ODD:
            while (chan_recv(s->in, &x) == 0)
                if (x % 2 == 1 && chan_send(s->out, &x) != 0)
                    break;
            break;
        case STAGE_SINK: { /* locals: the stages share cache lines (see wl_chan.c) */
            int64_t count = 0, sum = 0;
            while (chan_recv(s->in, &x) == 0) {
                count++;
                sum += x;
            }
            s->count = count;
            s->sum = sum;
            break;
        }
        }
        if (s->out != NULL)
            chan_close(s->out);
    }
    crew_leave(s->crew);
}

int wl_pipeline(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("pipeline", ENOMEM, "out of memory");
    chan_t *links[3];
    int     rc = 0;
    for (int i = 0; i < 3; i++) {
        links[i] = chan_make(sizeof(uint64_t), 0);
        if (links[i] == NULL)
            rc = ENOMEM;
    }
    stage_t stages[4] = {
        {&crew, STAGE_GENERATE, NULL, links[0], n, 0},
        {&crew, STAGE_SQUARE, links[0], links[1], 0, 0},
        {&crew, STAGE_KEEP_ODD, links[1], links[2], 0, 0},
        {&crew, STAGE_SINK, links[2], NULL, 0, 0},
    };
    static const char *const names[4] = {"stage generate", "stage square", "stage keep odd",
                                         "stage sink"};
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = crew_go(&crew, names[i], stage_run, &stages[i]);
    if (rc != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        for (int i = 0; i < 3; i++)
            chan_release(links[i]);
        return bench_fail("pipeline", rc, "cannot set up the channels and stages");
    }

    int64_t t0 = crew_start(&crew);
    int64_t t1 = crew_join(&crew);
    crew_destroy(&crew);
    for (int i = 0; i < 3; i++)
        chan_release(links[i]);

    *elapsed_ns = t1 - t0;
    uint64_t expected = 0;
    for (uint64_t x = 1; x < (uint64_t)n; x += 2)
        expected += x * x;
    if (stages[3].count != n / 2 || stages[3].sum != expected)
        return bench_fail("pipeline", EPROTO, "sink got %lld of %lld odd squares, sum %s",
                          (long long)stages[3].count, (long long)(n / 2),
                          stages[3].sum == expected ? "ok" : "wrong");
    return 0;
}
