/*
 * article.c - lesson 01: the article's worker pool, its first bug kept on
 * purpose, for --leak and --article-bug. Compare it with worker_pool.c, the
 * pool done right: the difference is one line in the worker's loop.
 *
 * The bug: each worker offers its task channel to the pool of free workers
 * once, before its loop, and never again. So each runs one task; then the
 * dispatcher waits for a free worker that will never come, and the workers
 * wait for tasks that will never come. Main does not wait for ever (that
 * would hide the lesson in a hang): it gives up once no result has come for
 * a while, and returns without shutting anything down, as the article's
 * main would if it could. The leak check at exit then names the goroutines
 * still running. With --article-bug main does wait for ever, and the
 * runtime's deadlock detector ends the program (exit 2).
 *
 * Nothing here is ever freed or closed: that is the leak on show.
 */
#include "01-worker-pool/article.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/timer.h"
#include "common/trace.h"

struct leaky_pool {
    chan_t    *queue;        /* task ids (int64_t), cap --queue */
    chan_t    *free_workers; /* chan_t *: a worker's own task channel */
    chan_t    *results;      /* task ids done, cap --tasks */
    duration_t work;
};

struct leaky_worker {
    struct leaky_pool *pool;
    int                id;
    chan_t            *tasks; /* int64_t, unbuffered */
};

static void leaky_worker_main(void *arg)
{
    struct leaky_worker *w = arg;
    int64_t              id;
    chan_send(w->pool->free_workers, &w->tasks); /* THE BUG: once, not after every task */
    trace_wait("wait for task");
    while (chan_recv(w->tasks, &id) == 0) {
        trace_end();
        printf("Worker %d processing task %" PRId64 "\n", w->id, id);
        trace_begin("task %" PRId64, id);
        time_sleep(w->pool->work);
        trace_end();
        chan_send(w->pool->results, &id); /* cap --tasks: never blocks */
        trace_wait("wait for task");      /* ...but nobody knows we are free */
    }
    trace_end();
}

static void leaky_dispatcher_main(void *arg)
{
    struct leaky_pool *pool = arg;
    int64_t            id;
    chan_t            *worker;
    for (;;) {
        trace_wait("wait for the queue");
        int err = chan_recv(pool->queue, &id);
        trace_end();
        if (err != 0)
            return;
        trace_wait("wait for a free worker");
        chan_recv(pool->free_workers, &worker); /* blocks for ever after the first round */
        trace_end();
        chan_send(worker, &id);
    }
}

/* Receives from c into out, or gives up after patience (< 0: never gives
 * up, like the article's main). True if received. */
static bool recv_within(chan_t *c, void *out, duration_t patience)
{
    if (patience < 0)
        return chan_recv(c, out) == 0;
    chan_t     *timer = time_after(patience);
    chan_case_t cases[2] = {chan_case_recv(c, out), chan_case_recv(timer, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0 && cases[0].err == 0;
}

int article_pool(int64_t workers, int64_t tasks, int64_t queue, int64_t work_ms, bool wait_forever)
{
    duration_t patience = 2 * work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    if (wait_forever) {
        patience = -1;
        printf("--article-bug: the article's pool, where each worker offers its channel only\n"
               "once, and a main that waits for its results for ever: expect the runtime's\n"
               "deadlock report once every goroutine is stuck.\n");
    } else
        printf("--leak: the article's pool, where each worker offers its channel only once.\n"
               "Expect %" PRId64 " tasks to run, then nothing: main gives up after %lld ms\n"
               "without a result and returns without shutting the pool down.\n",
               workers < tasks ? workers : tasks, (long long)(patience / TIME_MILLISECOND));

    struct leaky_pool   *pool = goc_calloc(1, sizeof *pool);
    struct leaky_worker *crew = goc_calloc((size_t)workers, sizeof *crew);
    if (pool == NULL || crew == NULL)
        return ENOMEM;
    pool->queue = chan_make(sizeof(int64_t), (size_t)queue);
    pool->free_workers = chan_make(sizeof(chan_t *), (size_t)workers);
    pool->results = chan_make(sizeof(int64_t), (size_t)tasks);
    pool->work = work_ms * TIME_MILLISECOND;
    for (int i = 0; i < workers; i++) {
        crew[i] = (struct leaky_worker){pool, i + 1, chan_make(sizeof(int64_t), 0)};
        char name[32];
        snprintf(name, sizeof name, "worker %d", i + 1);
        go_named(name, leaky_worker_main, &crew[i]);
    }
    go_named("dispatcher", leaky_dispatcher_main, pool);

    int64_t submitted = 0, received = 0, id;
    for (; submitted < tasks; submitted++) {
        int64_t task = submitted + 1;
        if (patience < 0) { /* the article's Submit: block until there is room */
            chan_send(pool->queue, &task);
            continue;
        }
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_send(pool->queue, &task), chan_case_recv(timer, NULL)};
        trace_wait("submit task %" PRId64, task);
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0)
            break; /* the queue stayed full: nobody takes tasks any more */
    }
    for (; received < submitted; received++) {
        trace_wait("wait for a result");
        bool got = recv_within(pool->results, &id, patience);
        trace_end();
        if (!got)
            break;
        printf("Result for task %" PRId64 "\n", id);
    }
    printf("Main: %" PRId64 " of %" PRId64 " tasks submitted, %" PRId64
           " results; nothing for %lld ms, giving up.\n",
           submitted, tasks, received, (long long)(patience / TIME_MILLISECOND));
    return 0;
}
