/*
 * main.c - lesson 05: the article's pipeline as a command-line tool.
 *
 *     generate 0..n-1 -> square -> keep odd -> Sink1 [and Sink2]
 *
 * Each stage is a goroutine; the stages are linked by unbuffered channels.
 * With two sinks the program shows what really happens when two goroutines
 * range over one channel (they share the values: each value goes to exactly
 * one of them), or, with --tee, a broadcast stage that gives both every
 * value. --take shows early exit: the sink cancels the context and every
 * stage upstream returns. At exit the harness (common/lesson.h) proves that
 * every goroutine returned and everything was freed.
 *
 * The article's n = 10; its sinks do no work, so the pipeline would finish
 * in a blink. Here each sink pauses 200 ms per value (--sink-ms), so a run
 * takes about a second and two competing sinks visibly take turns.
 *
 * --leak runs a sink that stops early WITHOUT canceling (article.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "05-pipeline/article.h"
#include "05-pipeline/pipeline.h"
#include "05-pipeline/report.h"
#include "common/lesson.h"
#include "common/trace.h"

typedef struct {
    int64_t n, take, sinks, workers, sink_ms;
    bool    tee;
} options_t;

static void print_value(void *arg, const char *name, int64_t value)
{
    (void)arg;
    printf("%s received: %" PRId64 "\n", name, value);
}

/* The square stage's function, counting its calls so the summary can show
 * how far the cancel let the pipeline run. The count is static: nothing
 * waits for a canceled stage (as in Go), which may write it after run(). */
static atomic_llong squared_count;

static int64_t square_counted(void *arg, int64_t value)
{
    atomic_fetch_add((atomic_llong *)arg, 1);
    return value * value;
}

/* Builds the pipeline and starts the sinks. Returns 0 or the error. */
static int start(ctx_t *ctx, const options_t *opt, atomic_llong *squared, pipeline_sink_t sinks[2],
                 waitgroup_t *wg)
{
    chan_t *numbers = pipeline_generate(ctx, opt->n);
    chan_t *squares = opt->workers > 1
                          ? pipeline_parallel_map(ctx, numbers, "square", (int)opt->workers,
                                                  square_counted, squared)
                          : pipeline_map(ctx, numbers, "square", square_counted, squared);
    chan_t *odd = pipeline_keep_odd(ctx, squares);
    if (odd == NULL)
        return errno;

    if (opt->sinks == 1)
        return pipeline_sink_go(ctx, odd, &sinks[0], wg);

    chan_t *in1 = odd, *in2 = NULL;
    if (opt->tee) {
        int rc = pipeline_tee(ctx, odd, &in1, &in2);
        if (rc != 0)
            return rc;
    } else {
        in2 = chan_retain(odd); /* the second reader of the same channel */
    }
    int rc = pipeline_sink_go(ctx, in1, &sinks[0], wg);
    int rc2 = pipeline_sink_go(ctx, in2, &sinks[1], wg);
    return rc != 0 ? rc : rc2;
}

/* The story: builds the pipeline, waits for its sinks, reports (report.c).
 * Returns 0 or the errno of what could not be started. */
static int run(ctx_t *ctx, const options_t *opt)
{
    pipeline_sink_t sinks[2];
    for (int i = 0; i < 2; i++)
        sinks[i] = (pipeline_sink_t){.name = i == 0 ? "Sink1" : "Sink2",
                                     .take = opt->take,
                                     .delay = opt->sink_ms * TIME_MILLISECOND,
                                     .visit = print_value};
    waitgroup_t wg;
    waitgroup_init(&wg);
    report_pipeline(opt->n, opt->workers, (int)opt->sinks, opt->tee);
    int err = start(ctx, opt, &squared_count, sinks, &wg);
    if (err != 0)
        ctx_cancel(ctx); /* the shutdown signal for whatever did start */
    trace_wait("wait for the sinks");
    waitgroup_wait(&wg);
    trace_end();
    waitgroup_destroy(&wg);
    if (err == 0)
        report_sinks(sinks, (int)opt->sinks, opt->tee, opt->n, atomic_load(&squared_count));
    return err;
}

int main(int argc, char **argv)
{
    options_t             opt = {.n = 10, .take = 0, .sinks = 2, .workers = 1, .sink_ms = 200};
    const lesson_option_t options[] = {
        /* The largest n keeps every square within int64_t. */
        LESSON_INT("n", 0, "N", &opt.n, 1, 1000000000, "generate the numbers 0..N-1"),
        LESSON_INT("take", 0, "K", &opt.take, 0, 1000000000,
                   "a sink stops after K values and cancels the pipeline\n(0: take everything)"),
        LESSON_INT("sinks", 0, "1|2", &opt.sinks, 1, 2,
                   "one sink, or two sinks on the same channel"),
        LESSON_FLAG("tee", 0, &opt.tee, "broadcast: each of the two sinks gets every value"),
        LESSON_INT("workers", 'w', "W", &opt.workers, 1, 64,
                   "square on W goroutines at once; the order of the\nvalues is then not kept"),
        LESSON_INT("sink-ms", 0, "MS", &opt.sink_ms, 0, 10000,
                   "a sink pauses MS milliseconds after each value, to play a\n"
                   "slow consumer (0 runs flat out)"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "05-pipeline",
        .about = "Runs generate -> square -> keep odd -> sink(s), each stage a goroutine and\n"
                 "each link an unbuffered channel: Go's pipeline pattern, in C.\n",
        .options = options,
        .leak_help = "one sink that stops after --take values (default 3)\n"
                     "WITHOUT canceling, to see the leak check name the stages",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;
    if (opt.tee && opt.sinks == 1)
        return lesson_usage_error(&lesson, "--tee needs two sinks");

    ctx_t *ctx = ctx_with_cancel(NULL);
    int    err = ctx == NULL ? ENOMEM
                 : lesson.leak
                     ? article_walk_away(ctx, opt.n, opt.take > 0 ? opt.take : 3, opt.sink_ms)
                     : run(ctx, &opt);
    /* Go's `defer cancel()`: harmless after a full run, vital after an early
     * exit; the leak demo is the early exit that forgets it. */
    if (!lesson.leak)
        ctx_cancel(ctx);
    ctx_release(ctx);
    return lesson_end(&lesson, err);
}
