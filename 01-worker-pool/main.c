/*
 * main.c - lesson 01 as a program: a dispatcher, a fixed pool of workers,
 * and a shutdown that loses nothing.
 *
 * The article's scenario: 3 workers, 10 tasks, a queue of 100; each task
 * "works" by sleeping (300 ms here, so a run takes about a second). A
 * producer goroutine submits the tasks and then stops the pool; main prints
 * every result until the results channel closes, frees the pool, and the
 * harness (common/lesson.h) proves that nothing is left running or
 * allocated.
 *
 * Why a producer goroutine (producer.c): submit blocks while the queue is
 * full, and the queue only empties if someone reads results. Submitting
 * everything from the thread that reads results deadlocks as soon as
 * --tasks exceeds what the queue and the results buffer hold together (try
 * --queue 1 with the submit loop moved into main).
 *
 * --leak and --article-bug run the article's pool instead (article.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "01-worker-pool/article.h"
#include "01-worker-pool/producer.h"
#include "01-worker-pool/worker_pool.h"
#include "common/alloc.h"
#include "common/lesson.h"
#include "common/timer.h"
#include "common/trace.h"

/* A task's work, run by a worker: the article "processes" by sleeping. The
 * input and the output live in the caller's record (struct job). */
static int process_task(void *env, int worker, const worker_pool_task_t *task)
{
    const int64_t *work_ms = env;
    struct job    *job = task->data;

    printf("Worker %d processing task %" PRId64 "\n", worker, task->id);
    time_sleep(*work_ms * TIME_MILLISECOND);
    snprintf(job->output, sizeof job->output, "processed %s", job->input);
    return 0;
}

/* Prints every result until the pool closes the channel. Returns how many
 * tasks completed; *err is the first task's error, if any. */
static int64_t print_results(worker_pool_t *pool, int *err)
{
    int64_t              completed = 0;
    worker_pool_result_t r;
    for (;;) {
        trace_wait("wait for a result");
        int rc = chan_recv(worker_pool_results(pool), &r);
        trace_end();
        if (rc != 0)
            return completed;
        if (r.err == 0) {
            const struct job *job = r.data;
            printf("Result for task %" PRId64 ": %s (worker %d)\n", r.id, job->output, r.worker);
            completed++;
        } else {
            printf("Result for task %" PRId64 ": error: %s\n", r.id, strerror(r.err));
            *err = *err ? *err : r.err;
        }
    }
}

/* The story. Returns 0 if every task completed, else the first error. */
static int run(int64_t workers, int64_t tasks, int64_t queue, int64_t *work_ms)
{
    struct job    *jobs = goc_calloc((size_t)tasks, sizeof jobs[0]);
    worker_pool_t *pool =
        jobs ? worker_pool_new((int)workers, (size_t)queue, process_task, work_ms) : NULL;
    if (pool == NULL) {
        goc_free(jobs);
        return errno ? errno : ENOMEM;
    }

    int64_t     completed = 0;
    int         err = 0;
    producer_t *producer = producer_start(pool, jobs, tasks);
    if (producer == NULL) /* nobody will stop the pool: worker_pool_free takes its emergency exit */
        err = errno;
    else
        completed = print_results(pool, &err);
    int submit_err = producer_wait(producer);
    worker_pool_free(pool);
    goc_free(jobs);

    if (completed != tasks) {
        printf("%" PRId64 " of %" PRId64 " tasks completed.\n", completed, tasks);
        return err ? err : submit_err ? submit_err : EIO;
    }
    printf("All tasks completed.\n");
    return 0;
}

int main(int argc, char **argv)
{
    int64_t               workers = 3, tasks = 10, queue = 100, work_ms = 300;
    bool                  article_bug = false;
    const lesson_option_t options[] = {
        LESSON_INT("workers", 'w', "N", &workers, 1, 1024, "worker goroutines"),
        LESSON_INT("tasks", 't', "N", &tasks, 1, 100000, "tasks to submit"),
        LESSON_INT("queue", 'q', "N", &queue, 0, 100000,
                   "task queue capacity; 0 hands each task over directly"),
        LESSON_INT("work-ms", 'm', "MS", &work_ms, 0, 60000,
                   "simulated work per task, in milliseconds"),
        LESSON_FLAG("article-bug", 0, &article_bug,
                    "the article's pool (see --leak), and a main that waits for ever,\n"
                    "as the article's does: the runtime reports the deadlock (exit 2)"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "01-worker-pool",
        .about = "Run tasks on a fixed pool of workers fed by a dispatcher, then shut down\n"
                 "gracefully: every task submitted is processed and reported exactly once.\n",
        .options = options,
        .leak_help = "run the article's pool, whose workers offer their channel\n"
                     "only once, to see the leak check name what is stuck",
        .epilogue = "Exit status: 0 all tasks completed and the shutdown was clean; 1 otherwise\n"
                    "(always with --leak); 2 bad command line, or the deadlock of --article-bug.\n",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;

    printf("Starting %" PRId64 " workers for %" PRId64 " tasks (queue %" PRId64 ", %" PRId64
           " ms of work each)\n",
           workers, tasks, queue, work_ms);
    int err = lesson.leak || article_bug ? article_pool(workers, tasks, queue, work_ms, article_bug)
                                         : run(workers, tasks, queue, &work_ms);
    return lesson_end(&lesson, err);
}
