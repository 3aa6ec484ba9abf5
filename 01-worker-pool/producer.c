/*
 * producer.c - lesson 01's producer (see producer.h): the goroutine that
 * feeds the pool, submitting every task in order and then stopping the
 * pool. Why a goroutine at all is main.c's story (main reads the results,
 * and submit waits while the queue is full); this file is the goroutine's
 * own bookkeeping, its argument on the heap and a WaitGroup that tells main
 * when it has returned, so that main may free the pool.
 */
#include "01-worker-pool/producer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/trace.h"

struct producer {
    worker_pool_t *pool;
    struct job    *jobs;
    int64_t        tasks;
    int            err; /* the first submit error, read after `done` */
    waitgroup_t    done;
};

/* Submits tasks 1..tasks in order, then stops the pool: with no context,
 * the pool finishes everything queued before it closes the results. */
static void produce(void *arg)
{
    producer_t *p = arg;
    for (int64_t id = 1; id <= p->tasks && p->err == 0; id++) {
        struct job *job = &p->jobs[id - 1];
        snprintf(job->input, sizeof job->input, "Task-%" PRId64 "-Data", id);
        worker_pool_task_t task = {.id = id, .data = job};
        trace_wait("submit task %" PRId64, id);
        p->err = worker_pool_submit(p->pool, &task);
        trace_end();
    }
    worker_pool_stop(p->pool, NULL);
    waitgroup_done(&p->done);
}

producer_t *producer_start(worker_pool_t *pool, struct job *jobs, int64_t tasks)
{
    producer_t *p = goc_malloc(sizeof *p);
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    *p = (producer_t){.pool = pool, .jobs = jobs, .tasks = tasks};
    waitgroup_init(&p->done);
    waitgroup_add(&p->done, 1);
    int err = go_named("producer", produce, p);
    if (err != 0) {
        waitgroup_destroy(&p->done);
        goc_free(p);
        errno = err;
        return NULL;
    }
    return p;
}

int producer_wait(producer_t *p)
{
    if (p == NULL)
        return 0;
    waitgroup_wait(&p->done);
    waitgroup_destroy(&p->done);
    int err = p->err;
    goc_free(p);
    return err;
}
