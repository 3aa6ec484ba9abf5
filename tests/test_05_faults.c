/*
 * test_05_faults.c - lesson 05's pipeline stages when goroutines cannot be
 * started (go_fail_after: pthread_create failing).
 *
 * test_05_pipeline.c already fails every allocation of a whole pipeline;
 * here the goroutine of each kind of stage fails to start:
 *   - a stage returns NULL with errno EAGAIN and releases the input it was
 *     handed (canceling the context then ends what was started upstream);
 *   - a parallel stage that could start only some of its workers runs with
 *     those, and every value still comes out exactly once;
 *   - a tee sets both outputs to NULL; a sink started with pipeline_sink_go
 *     leaves the wait group as it was.
 * After each, nothing is left running or allocated.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "05-pipeline/pipeline.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

static int64_t same(void *arg, int64_t v)
{
    (void)arg;
    return v;
}

static bool all(void *arg, int64_t v)
{
    (void)arg;
    (void)v;
    return true;
}

Test(pipeline_faults, each_stage_when_its_goroutine_cannot_start, .timeout = 20)
{
    support_begin();
    for (int kind = 0; kind < 5; kind++) {
        ctx_t *ctx = ctx_with_cancel(NULL);
        /* The input (if any) is started first, while goroutines still can. */
        chan_t *in = kind == 0 ? NULL : pipeline_generate(ctx, 10);
        cr_assert(kind == 0 || in != NULL);
        go_fail_after(0);
        errno = 0;
        chan_t *out = NULL;
        switch (kind) {
        case 0:
            out = pipeline_generate(ctx, 10);
            break;
        case 1:
            out = pipeline_map(ctx, in, "same", same, NULL);
            break;
        case 2:
            out = pipeline_filter(ctx, in, "all", all, NULL);
            break;
        case 3:
            out = pipeline_square(ctx, in);
            break;
        default:
            out = pipeline_parallel_map(ctx, in, "same", 4, same, NULL);
            break;
        }
        int err = errno;
        go_fail_reset();
        cr_assert_null(out, "stage kind %d started with no goroutine", kind);
        cr_assert_eq(err, EAGAIN, "stage kind %d: errno %d", kind, err);
        /* Passing NULL on reports the first failure, as nested calls do. */
        cr_assert_null(pipeline_keep_odd(ctx, out));
        cr_assert_eq(errno, EAGAIN);
        ctx_cancel(ctx); /* the generator upstream, if any, returns */
        ctx_release(ctx);
        support_end(); /* the input was released: nothing left */
        support_begin();
    }
    support_end();
}

Test(pipeline_faults, parallel_stage_runs_with_the_workers_it_could_start, .timeout = 20)
{
    support_begin();
    enum { N = 200, WORKERS = 4 };
    for (int64_t started = 1; started <= WORKERS; started++) {
        ctx_t  *ctx = ctx_with_cancel(NULL);
        chan_t *in = pipeline_generate(ctx, N);
        go_fail_after(started);
        chan_t *out = pipeline_parallel_map(ctx, in, "same", WORKERS, same, NULL);
        go_fail_reset();
        cr_assert_not_null(out, "%lld of %d workers started: the stage must run",
                           (long long)started, WORKERS);
        char    seen[N] = {0};
        int64_t v;
        int     count = 0;
        while (chan_recv(out, &v) == 0) {
            cr_assert(v >= 0 && v < N && !seen[v], "value %lld lost its way", (long long)v);
            seen[v] = 1;
            count++;
        }
        cr_assert_eq(count, N, "%lld workers: %d of %d values", (long long)started, count, N);
        chan_release(out);
        ctx_cancel(ctx);
        ctx_release(ctx);
    }
    support_end();
}

Test(pipeline_faults, tee_and_sink_when_their_goroutine_cannot_start, .timeout = 20)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *a = (chan_t *)1, *b = (chan_t *)1;
    chan_t *in = pipeline_generate(ctx, 5);
    go_fail_after(0);
    int rc = pipeline_tee(ctx, in, &a, &b);
    go_fail_reset();
    cr_assert_eq(rc, EAGAIN);
    cr_assert_null(a);
    cr_assert_null(b);

    pipeline_sink_t sink = {.name = "Sink1"};
    waitgroup_t     wg;
    waitgroup_init(&wg);
    in = pipeline_generate(ctx, 5);
    go_fail_after(0);
    rc = pipeline_sink_go(ctx, in, &sink, &wg);
    go_fail_reset();
    cr_assert_eq(rc, EAGAIN);
    cr_assert_eq(wg.count, 0, "a sink that never started is not waited for");
    waitgroup_wait(&wg);
    cr_assert_eq(sink.received, 0);
    waitgroup_destroy(&wg);

    ctx_cancel(ctx); /* the two generators return */
    ctx_release(ctx);
    support_end();
}
