/*
 * test_05_pipeline.c - lesson 05: pipeline stages and their sinks. A
 * single sink gets the odd squares in order, for any n (also none);
 * competing sinks on one channel share every value once; a tee gives each
 * sink every value in order and stops when canceled even if nobody reads;
 * the parallel stage yields every value exactly once with at most its
 * workers at once; bad arguments are refused and failed allocations leak
 * nothing.
 *
 * Early exit and backpressure are in test_05_pipeline_cancel.c, the
 * program in test_05_program.c; the shared record of values in
 * tests/pipeline_helpers.h. Every test checks the values (each exactly
 * once, in order where the stage promises order) and the shutdown:
 * support_end() fails the test if a stage goroutine is still running or a
 * channel or context was not freed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "05-pipeline/pipeline.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/pipeline_helpers.h"
#include "tests/support/support.h"

/* ------------------------------------------------------------ single sink */

Test(pipeline, single_sink_gets_the_odd_squares_in_order, .timeout = 20)
{
    support_begin();
    int64_t sizes[] = {10, 1, 2, 1001};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int64_t  n = sizes[i];
        ctx_t   *ctx = new_ctx();
        record_t got;
        record_init(&got, (size_t)n);
        pipeline_sink_t sink = {.name = "Sink1", .visit = record_value, .arg = &got};
        chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
        cr_assert_not_null(odd);
        cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0);
        cr_assert_eq(sink.err, 0, "the input should have been closed, not canceled");
        cr_assert_eq(sink.received, n / 2);
        assert_odd_squares_in_order(&got, n, "Sink1");
        cr_assert_eq(ctx_err(ctx), 0, "a full run must not cancel the context");
        free(got.values);
        end_ctx(ctx);
    }
    support_end();
}

Test(pipeline, empty_pipeline_closes_at_once, .timeout = 10)
{
    support_begin();
    ctx_t          *ctx = new_ctx();
    pipeline_sink_t sink = {.name = "Sink1"};
    chan_t         *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 0)));
    cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0);
    cr_assert_eq(sink.received, 0);
    end_ctx(ctx);
    support_end();
}

/* ------------------------------------------------------------ two sinks */

Test(pipeline, competing_sinks_share_every_value_once, .timeout = 20)
{
    support_begin();
    const int64_t   n = 2000;
    ctx_t          *ctx = new_ctx();
    record_t        got[2];
    pipeline_sink_t sinks[2];
    waitgroup_t     wg;
    waitgroup_init(&wg);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
    cr_assert_not_null(odd);
    for (int i = 0; i < 2; i++) {
        record_init(&got[i], (size_t)n);
        sinks[i] =
            (pipeline_sink_t){.name = i ? "Sink2" : "Sink1", .visit = record_value, .arg = &got[i]};
        /* Two readers of ONE channel: the article's two `range odds` loops. */
        cr_assert_eq(pipeline_sink_go(ctx, i ? odd : chan_retain(odd), &sinks[i], &wg), 0);
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);

    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sinks[i].err, 0, "Sink%d must finish because the channel closed", i + 1);
        cr_assert_eq((size_t)sinks[i].received, got[i].len);
        /* One channel is FIFO, so what each sink got is in sending order. */
        for (size_t k = 1; k < got[i].len; k++)
            cr_assert_lt(got[i].values[k - 1], got[i].values[k], "Sink%d out of order", i + 1);
    }
    cr_log_info("Sink1 got %zu values, Sink2 got %zu", got[0].len, got[1].len);

    /* The union is every odd square, and no value reached both. */
    assert_union_is_odd_squares(got, n, "Sink1 + Sink2");

    free(got[0].values);
    free(got[1].values);
    end_ctx(ctx);
    support_end();
}

Test(pipeline, tee_gives_each_sink_every_value_in_order, .timeout = 20)
{
    support_begin();
    const int64_t   n = 400;
    ctx_t          *ctx = new_ctx();
    record_t        got[2];
    pipeline_sink_t sinks[2];
    waitgroup_t     wg;
    waitgroup_init(&wg);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
    chan_t *out[2];
    cr_assert_eq(pipeline_tee(ctx, odd, &out[0], &out[1]), 0);
    for (int i = 0; i < 2; i++) {
        record_init(&got[i], (size_t)n);
        /* Sink2 is slower, so the tee must wait for it without losing a value. */
        sinks[i] = (pipeline_sink_t){.name = i ? "Sink2" : "Sink1",
                                     .delay = i ? 20 * TIME_MICROSECOND : 0,
                                     .visit = record_value,
                                     .arg = &got[i]};
        cr_assert_eq(pipeline_sink_go(ctx, out[i], &sinks[i], &wg), 0);
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sinks[i].err, 0);
        assert_odd_squares_in_order(&got[i], n, i ? "Sink2" : "Sink1");
        free(got[i].values);
    }
    end_ctx(ctx);
    support_end();
}

Test(pipeline, tee_stops_when_canceled_even_if_no_one_reads, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = new_ctx();
    chan_t *a, *b;
    cr_assert_eq(pipeline_tee(ctx, pipeline_generate(ctx, 1000000), &a, &b), 0);
    int64_t value = -1;
    cr_assert_eq(chan_recv(a, &value), 0);
    cr_assert_eq(value, 0);
    /* b is never read: the tee is stuck on its second send until the cancel. */
    end_ctx(ctx);
    int64_t extra = 0;
    while (chan_recv(a, NULL) == 0)
        extra++;
    cr_assert_leq(extra, 1, "the tee went on sending %lld values after the cancel",
                  (long long)extra);
    chan_release(a);
    chan_release(b);
    support_end();
}

/* ------------------------------------------------------------ parallel stage */

typedef struct {
    atomic_int active, max_active;
} crowd_t;

static int64_t square_in_a_crowd(void *arg, int64_t value)
{
    crowd_t *c = arg;
    int      now = atomic_fetch_add(&c->active, 1) + 1;
    int      max = atomic_load(&c->max_active);
    while (now > max && !atomic_compare_exchange_weak(&c->max_active, &max, now))
        ;
    if (value % 50 == 0)
        time_sleep(200 * TIME_MICROSECOND); /* a slow item lets the others overlap it */
    atomic_fetch_sub(&c->active, 1);
    return value * value;
}

Test(pipeline, parallel_stage_yields_every_value_exactly_once, .timeout = 20)
{
    support_begin();
    const int64_t n = 2000;
    const int     workers = 4;
    ctx_t        *ctx = new_ctx();
    crowd_t       crowd = {0, 0};
    record_t      got;
    record_init(&got, (size_t)n);
    pipeline_sink_t sink = {.name = "Sink1", .visit = record_value, .arg = &got};
    chan_t *squares = pipeline_parallel_map(ctx, pipeline_generate(ctx, n), "square", workers,
                                            square_in_a_crowd, &crowd);
    cr_assert_not_null(squares);
    cr_assert_eq(pipeline_sink_run(ctx, pipeline_keep_odd(ctx, squares), &sink), 0);
    cr_assert_eq(got.len, (size_t)(n / 2));
    qsort(got.values, got.len, sizeof *got.values, compare_int64);
    assert_odd_squares_in_order(&got, n, "after sorting");
    int max = atomic_load(&crowd.max_active);
    cr_log_info("at most %d squares at once", max);
    cr_assert_leq(max, workers, "more calls at once than workers");
    cr_assert_geq(max, 1);
    free(got.values);
    end_ctx(ctx);
    support_end();
}

Test(pipeline, parallel_stage_stops_on_take, .timeout = 10)
{
    support_begin();
    ctx_t          *ctx = new_ctx();
    crowd_t         crowd = {0, 0};
    pipeline_sink_t sink = {.name = "Sink1", .take = 10};
    chan_t *squares = pipeline_parallel_map(ctx, pipeline_generate(ctx, 1000000), "square", 8,
                                            square_in_a_crowd, &crowd);
    cr_assert_eq(pipeline_sink_run(ctx, squares, &sink), 0);
    cr_assert_eq(sink.received, 10);
    ctx_release(ctx);
    support_end(); /* all eight workers returned and the last one freed the crew */
}

/* ------------------------------------------------------------ misuse and failure */

Test(pipeline, bad_arguments_are_refused_without_leaks, .timeout = 10)
{
    support_begin();
    ctx_t *ctx = new_ctx();
    errno = 0;
    cr_assert_null(pipeline_generate(ctx, -1));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(pipeline_map(ctx, pipeline_generate(ctx, 3), "x", NULL, NULL));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(pipeline_filter(ctx, pipeline_generate(ctx, 3), "x", NULL, NULL));
    cr_assert_null(pipeline_parallel_map(ctx, pipeline_generate(ctx, 3), "x", 0, count_pass, NULL));
    cr_assert_null(
        pipeline_parallel_map(ctx, pipeline_generate(ctx, 3), "x", 65, count_pass, NULL));
    errno = ENOMEM; /* a NULL input passes the upstream failure on */
    cr_assert_null(pipeline_square(ctx, NULL));
    cr_assert_eq(errno, ENOMEM);
    chan_t *a = (chan_t *)1, *b = (chan_t *)1;
    cr_assert_eq(pipeline_tee(ctx, NULL, &a, &b), EINVAL);
    cr_assert_null(a);
    cr_assert_null(b);
    cr_assert_eq(pipeline_tee(ctx, pipeline_generate(ctx, 3), NULL, &b), EINVAL);
    cr_assert_eq(pipeline_sink_run(ctx, NULL, NULL), EINVAL);
    cr_assert_eq(pipeline_sink_run(ctx, pipeline_generate(ctx, 3), NULL), EINVAL);
    pipeline_sink_t sink = {.name = "Sink1"};
    cr_assert_eq(pipeline_sink_go(ctx, pipeline_generate(ctx, 3), &sink, NULL), EINVAL);
    /* The stages above were started and their outputs dropped: canceling ends them. */
    end_ctx(ctx);
    support_end();
}

Test(pipeline, allocation_failures_leak_nothing, .timeout = 30)
{
    support_begin();
    int          failures = 0;
    int64_t      completions = 0;
    atomic_llong counted = 0;
    for (int64_t allowed = 0; allowed < 40; allowed++) {
        ctx_t  *ctx = new_ctx();
        chan_t *a = NULL, *b = NULL;
        alloc_fail_after(allowed);
        chan_t *odd = pipeline_keep_odd(
            ctx, pipeline_parallel_map(ctx, pipeline_square(ctx, pipeline_generate(ctx, 20)),
                                       "count", 2, count_pass, &counted));
        int rc = pipeline_tee(ctx, odd, &a, &b);
        alloc_fail_reset();
        if (rc != 0) {
            cr_assert(rc == ENOMEM || rc == EAGAIN || rc == EINVAL, "unexpected error %d", rc);
            failures++;
        } else {
            /* A tee needs both outputs read at once: one goroutine per sink. */
            record_t        got[2];
            pipeline_sink_t sinks[2];
            waitgroup_t     wg;
            waitgroup_init(&wg);
            for (int i = 0; i < 2; i++) {
                record_init(&got[i], 20);
                sinks[i] = (pipeline_sink_t){.name = "Sink", .visit = record_value, .arg = &got[i]};
                cr_assert_eq(pipeline_sink_go(ctx, i ? b : a, &sinks[i], &wg), 0);
            }
            waitgroup_wait(&wg);
            waitgroup_destroy(&wg);
            for (int i = 0; i < 2; i++) {
                qsort(got[i].values, got[i].len, sizeof *got[i].values, compare_int64);
                assert_odd_squares_in_order(&got[i], 20, "after a survived failure");
                free(got[i].values);
            }
            completions++;
        }
        end_ctx(ctx); /* the shutdown signal for whatever stages had started */
    }
    cr_log_info("%d runs failed cleanly, %lld completed", failures, (long long)completions);
    cr_assert_gt(failures, 0, "fault injection never hit the pipeline");
    cr_assert_gt(completions, 0, "the pipeline never completed with enough memory");
    support_end();
}
