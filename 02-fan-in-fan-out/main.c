/*
 * main.c - lesson 02: fan-out / fan-in as a command-line program.
 *
 * A producer (producer.c) numbers the jobs 1..N and sends them on one
 * channel; a group of workers (fan-out) squares them, each worker sending on
 * its own channel; a merger (fan-in) turns those channels into one, which
 * main reads until it is closed. Every sender closes the channel it sends on
 * when it is done, so the loop in main ends by itself: no counting of
 * results, no deadlock. At the end the harness (common/lesson.h) proves that
 * every goroutine returned and every allocation was freed.
 *
 * --leak and --article-bug run the article's program instead (article.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "02-fan-in-fan-out/article.h"
#include "02-fan-in-fan-out/fan.h"
#include "02-fan-in-fan-out/producer.h"
#include "common/alloc.h"
#include "common/lesson.h"
#include "common/timer.h"
#include "common/trace.h"

/* The work on one job: announce it, "work" for work_ms (giving up if the
 * context is canceled meanwhile), and square it. */
static int square_job(ctx_t *ctx, size_t worker, int64_t job, int64_t *result, void *arg)
{
    const duration_t *work = arg;
    printf("Worker %zu processing job %" PRId64 "\n", worker, job);
    if (*work > 0) {
        chan_t *timer = time_after(*work);
        if (timer == NULL)
            return ENOMEM;
        chan_case_t cases[2] = {chan_case_recv(timer, NULL), chan_case_recv(ctx_done(ctx), NULL)};
        int         chosen = chan_select(cases, 2);
        chan_release(timer); /* also cancels the timer if it has not fired */
        if (chosen != 0)
            return ECANCELED;
    }
    *result = job * job;
    return 0;
}

/* The story. Returns 0, or an errno if something could not be started
 * (whatever was started is canceled and shut down first). */
static int run(int64_t workers, int64_t jobs, int64_t work_ms, bool ordered)
{
    duration_t work = work_ms * TIME_MILLISECOND;
    ctx_t     *ctx = ctx_with_cancel(NULL);
    chan_t    *input = fan_chan_make(0);
    chan_t   **outs = goc_calloc((size_t)workers, sizeof *outs);
    chan_t    *merged = NULL;
    int        err = ctx && input && outs ? 0 : ENOMEM;

    if (err == 0)
        err = producer_start(ctx, input, jobs);
    if (err == 0)
        err = fan_out(ctx, input, (size_t)workers, square_job, &work, outs);
    if (err == 0) {
        merged = ordered ? fan_in_ordered(ctx, outs, (size_t)workers)
                         : fan_in(ctx, outs, (size_t)workers);
        if (merged == NULL)
            err = errno;
    }
    /* main neither sends on the jobs nor reads the workers' outputs: the
     * producer, the workers and the merger hold their own references. */
    chan_release(input);
    for (int64_t i = 0; outs && i < workers; i++)
        chan_release(outs[i]);
    goc_free(outs);

    if (err == 0) {
        printf("Collecting results...\n");
        fan_item_t item;
        for (;;) {
            trace_wait("wait for a result");
            int rc = chan_recv(merged, &item);
            trace_end();
            if (rc != 0)
                break;
            printf("Result: %" PRId64 " (job %" PRIu64 ")\n", item.value, item.seq + 1);
        }
        /* merged closes only after every worker has closed its output, which
         * a worker does on its way out. */
        printf("All workers finished.\n");
    }

    ctx_cancel(ctx); /* stops everything if we got here early; harmless otherwise */
    ctx_release(ctx);
    chan_release(merged);
    return err;
}

int main(int argc, char **argv)
{
    int64_t               workers = 3, jobs = 10, work_ms = 250;
    bool                  ordered = false, article_bug = false;
    const lesson_option_t options[] = {
        LESSON_INT("workers", 'w', "N", &workers, 1, 1000, "workers reading the job channel"),
        LESSON_INT("jobs", 'j', "N", &jobs, 1, 1000000, "jobs to send"),
        LESSON_INT("work-ms", 'm', "MS", &work_ms, 0, 60000,
                   "simulated work per job, in milliseconds"),
        LESSON_FLAG("ordered", 'o', &ordered,
                    "print results in job order (default: as they finish)"),
        LESSON_FLAG("article-bug", 0, &article_bug,
                    "the article's program exactly: main ranges over the merged\n"
                    "channel for ever; the runtime reports the deadlock (exit 2)"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "02-fan-in-fan-out",
        .about = "Fan-out: workers take jobs 1..N from one channel and square them.\n"
                 "Fan-in: their result channels are merged into one, which closes when\n"
                 "every worker has closed its own; every result is printed once.\n",
        .options = options,
        .leak_help = "run the article's workers, which never close their result\n"
                     "channels, to see the leak check name what is stuck",
        .epilogue = "Exit status: 0 every job done and the shutdown was clean; 1 otherwise\n"
                    "(always with --leak); 2 bad command line, or the deadlock of --article-bug.\n",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;

    printf("Fan-out: %" PRId64 " workers, %" PRId64 " jobs, %" PRId64
           " ms of work each; fan-in: %s\n",
           workers, jobs, work_ms, ordered ? "ordered" : "as they finish");
    int err = lesson.leak || article_bug ? article_fan(workers, jobs, work_ms, article_bug)
                                         : run(workers, jobs, work_ms, ordered);
    return lesson_end(&lesson, err);
}
