/*
 * producer.h - lesson 01's producer: the goroutine that submits the tasks
 * to the pool while main reads the results (see producer.c).
 */
#ifndef LESSON01_PRODUCER_H
#define LESSON01_PRODUCER_H

#include <stdint.h>

#include "01-worker-pool/worker_pool.h"

/* The caller's record for one task: the input the article calls Data, and
 * room for the output its Result carries. */
struct job {
    char input[32];
    char output[64];
};

typedef struct producer producer_t;

/* Starts the goroutine "producer", which submits tasks 1..tasks to pool in
 * order, task id's data being jobs[id - 1] with its input filled in
 * ("Task-<id>-Data"), then stops the pool: with no context, the pool
 * finishes every task queued and then closes its results. It stops
 * submitting at the first error. pool and jobs are borrowed until
 * producer_wait. Returns the producer, or NULL with errno ENOMEM or
 * go_named's error and nothing started: then nobody stops the pool. */
producer_t *producer_start(worker_pool_t *pool, struct job *jobs, int64_t tasks);

/* Waits until the producer has returned (it has stopped the pool by then),
 * frees it, and returns the first submit error, or 0 if every task was
 * submitted. NULL is ignored (returns 0). */
int producer_wait(producer_t *producer);

#endif
