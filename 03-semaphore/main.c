/*
 * main.c - lesson 03: ten tasks, at most three at a time.
 *
 * The article's semaphore scenario as a command-line tool. Every task is a
 * goroutine that waits for a slot, works, and gives the slot back (the
 * driver, limiter_run, is in limiter.c); each step is printed with the
 * number of slots in use, so the limit is visible in the output.
 * --weighted adds a big job that needs every slot, to show that a fair
 * (FIFO) semaphore does not starve it; --timeout-ms bounds the waiting with
 * a context; --channel uses the buffered-channel semaphore. The event lines
 * and the summary are printed by report.c.
 *
 * Tasks that gave up at a deadline are a normal outcome, not an error.
 * --leak runs tasks whose error path keeps its slot instead (article.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "03-semaphore/article.h"
#include "03-semaphore/limiter.h"
#include "03-semaphore/report.h"
#include "common/alloc.h"
#include "common/context.h"
#include "common/lesson.h"
#include "common/timer.h"

typedef struct {
    int64_t tasks, limit, work_ms;
    int64_t timeout_ms; /* 0: no timeout, as in the article */
    bool    weighted, channel;
} options_t;

/* The story. Returns 0 or an errno value. */
static int run(const options_t *opt)
{
    limiter_t *limiter = limiter_new(opt->channel ? LIMITER_CHAN : LIMITER_SEMA, opt->limit);
    if (limiter == NULL)
        return errno;
    int      tasks = (int)opt->tasks;
    int64_t *weights = goc_calloc((size_t)tasks, sizeof *weights);
    ctx_t   *ctx = opt->timeout_ms > 0 ? ctx_with_timeout(NULL, opt->timeout_ms * TIME_MILLISECOND)
                                       : ctx_background();
    if (weights == NULL || ctx == NULL) {
        int err = errno ? errno : ENOMEM;
        goc_free(weights);
        ctx_release(ctx);
        limiter_free(limiter);
        return err;
    }

    limiter_job_t job = {
        .tasks = tasks,
        .weights = weights,
        .work = opt->work_ms * TIME_MILLISECOND,
        .ctx = ctx,
        .on_event = report_event,
    };
    for (int i = 0; i < tasks; i++)
        weights[i] = 1;
    /* The big job comes right after the first wave has filled every slot,
     * and the rest arrive behind it, one after another, so the order in
     * which they queue is the order of their numbers. */
    int big = tasks < opt->limit + 1 ? tasks : (int)opt->limit + 1;
    if (opt->weighted) {
        weights[big - 1] = opt->limit;
        job.arrival_gap = job.work / 20;
    }

    printf("%d tasks, at most %" PRId64 " at a time, %" PRId64 " ms of work each, using %s.\n",
           tasks, opt->limit, opt->work_ms,
           opt->channel ? "a buffered channel of tokens" : "the weighted semaphore");
    if (opt->weighted)
        printf("Task %d is a big job: it needs all %" PRId64 " slots at once.\n", big, opt->limit);
    if (opt->timeout_ms > 0)
        printf("Tasks give up waiting after %" PRId64 " ms (a context with a timeout).\n",
               opt->timeout_ms);

    limiter_stats_t stats;
    int             err = limiter_run(limiter, &job, &stats);
    if (err == 0)
        report_summary(&stats, tasks, opt->limit);

    ctx_cancel(ctx);
    ctx_release(ctx);
    goc_free(weights);
    limiter_free(limiter);
    return err;
}

int main(int argc, char **argv)
{
    /* The article: 10 tasks, 3 at a time, 2 s of work each (8 s in all).
     * Scaled: 500 ms of work, so the four rounds take about 2 s. */
    options_t             opt = {.tasks = 10, .limit = 3, .work_ms = 500};
    const lesson_option_t options[] = {
        LESSON_INT("tasks", 0, "N", &opt.tasks, 1, 1000, "number of tasks"),
        LESSON_INT("limit", 0, "N", &opt.limit, 1, 1000, "slots: tasks that may run at once"),
        LESSON_INT("work-ms", 0, "N", &opt.work_ms, 0, 60000, "how long each task works, in ms"),
        LESSON_INT("timeout-ms", 0, "N", &opt.timeout_ms, 1, 3600000,
                   "give up waiting for a slot after N ms (not given: wait for ever)"),
        LESSON_FLAG("weighted", 0, &opt.weighted,
                    "task LIMIT+1 is a big job that needs every slot at once"),
        LESSON_FLAG("channel", 0, &opt.channel,
                    "use a buffered channel as the semaphore (no weights)"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "03-semaphore",
        .about = "Run tasks concurrently, at most --limit at a time, through a semaphore.\n"
                 "Each task waits for a slot, works, and frees it; every step prints how\n"
                 "many slots are in use.\n",
        .options = options,
        .leak_help = "run tasks whose error path forgets to release the slot,\n"
                     "to see the leak check name the tasks left waiting",
        .epilogue = "Default: the weighted semaphore (golang.org/x/sync/semaphore's design).\n",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;
    if (opt.weighted && opt.channel)
        return lesson_usage_error(&lesson, "--weighted needs the weighted semaphore; a channel "
                                           "of tokens cannot take several slots atomically");

    int err = lesson.leak
                  ? article_forgotten_release(opt.tasks, opt.limit, opt.work_ms, opt.channel)
                  : run(&opt);
    return lesson_end(&lesson, err);
}
