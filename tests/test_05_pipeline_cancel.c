/*
 * test_05_pipeline_cancel.c - lesson 05: stopping a pipeline early, and
 * backpressure. A sink that has taken enough cancels, and every stage
 * returns though the generator had almost everything left; a cancel from
 * outside closes every output; walking away without a cancel leaves the
 * stages blocked (the leak the cancel exists for); a slow sink holds the
 * whole pipeline back, with no value buffered beyond the links.
 *
 * Every test ends with support_end(): no stage goroutine, channel or
 * context left behind. The shared record of values is in
 * tests/pipeline_helpers.h.
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

/* ------------------------------------------------------------ early exit */

Test(pipeline, take_cancels_and_every_stage_returns, .timeout = 20)
{
    support_begin();
    const int64_t take = 5, n = 1000000;
    ctx_t        *ctx = new_ctx();
    atomic_llong  generated = 0;
    record_t      got;
    record_init(&got, (size_t)take + 10);
    pipeline_sink_t sink = {.name = "Sink1", .take = take, .visit = record_value, .arg = &got};

    chan_t *numbers = pipeline_map(ctx, pipeline_generate(ctx, n), "count", count_pass, &generated);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, numbers));
    cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0, "reaching take is a normal end");
    cr_assert_eq(sink.received, take);
    assert_odd_squares_in_order(&got, 2 * take, "Sink1");
    cr_assert_eq(ctx_err(ctx), ECANCELED, "the sink must cancel the context when it has enough");

    /* 2 * take numbers make take odd squares. Beyond those, each of the three
     * stages between the counter and the sink holds at most one value and may
     * finish one more operation after the cancel. */
    cr_assert_leq(atomic_load(&generated), 2 * take + 6, "upstream ran ahead: %lld numbers",
                  (long long)atomic_load(&generated));
    free(got.values);
    ctx_release(ctx);
    support_end(); /* every stage returned, though the generator had 999990 values left */
}

Test(pipeline, cancel_from_outside_closes_every_output, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = new_ctx();
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 1000000)));
    int64_t value;
    for (int64_t k = 0; k < 3; k++) {
        cr_assert_eq(chan_recv(odd, &value), 0);
        cr_assert_eq(value, (2 * k + 1) * (2 * k + 1));
    }
    ctx_cancel(ctx);
    /* A stage may finish the send it was blocked in; then it sees the cancel
     * before its next operation and closes its output. */
    int64_t extra = 0;
    while (chan_recv(odd, NULL) == 0)
        extra++;
    cr_assert_leq(extra, 1, "%lld values arrived after the cancel", (long long)extra);
    chan_release(odd);
    ctx_release(ctx);
    support_end();
}

Test(pipeline, walking_away_without_cancel_leaves_the_stages_blocked, .timeout = 10)
{
    support_begin();
    size_t  before = go_count();
    ctx_t  *ctx = new_ctx();
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 1000000)));
    cr_assert_eq(chan_recv(odd, NULL), 0);
    chan_release(odd);
    /* The leak the cancel exists for: nothing can ever unblock these three... */
    cr_assert_eq(go_count(), before + 3);
    /* ...until the context is canceled. */
    end_ctx(ctx);
    support_end();
}

/* ------------------------------------------------------------ backpressure */

typedef struct {
    atomic_llong *generated;
    int64_t       seen;
    int64_t       max_ahead; /* most values past the count stage not yet at the sink */
    int64_t       allocations_at_start;
    int64_t       max_allocation_growth;
} pace_t;

static void check_pace(void *arg, const char *name, int64_t value)
{
    (void)name;
    (void)value;
    pace_t *p = arg;
    p->seen++;
    int64_t ahead = atomic_load(p->generated) - p->seen;
    if (ahead > p->max_ahead)
        p->max_ahead = ahead;
    int64_t growth = alloc_live() - p->allocations_at_start;
    if (growth > p->max_allocation_growth)
        p->max_allocation_growth = growth;
}

Test(pipeline, slow_sink_holds_the_whole_pipeline_back, .timeout = 20)
{
    support_begin();
    ctx_t       *ctx = new_ctx();
    atomic_llong generated = 0;
    chan_t      *numbers =
        pipeline_map(ctx, pipeline_generate(ctx, 1000000), "count", count_pass, &generated);
    chan_t         *squares = pipeline_square(ctx, numbers);
    pace_t          pace = {.generated = &generated, .allocations_at_start = alloc_live()};
    pipeline_sink_t sink = {.name = "slow",
                            .take = 60,
                            .delay = 200 * TIME_MICROSECOND,
                            .visit = check_pace,
                            .arg = &pace};
    cr_assert_eq(pipeline_sink_run(ctx, squares, &sink), 0);
    cr_assert_eq(sink.received, 60);
    cr_log_info("at most %lld values ahead of the sink", (long long)pace.max_ahead);
    /* Unbuffered links: while the sink handles value k, square holds k + 1
     * (its send waits for the sink) and count holds k + 2 (its send waits for
     * square). Nothing else can have passed the counter. */
    cr_assert_leq(pace.max_ahead, 2, "the stages buffered %lld values", (long long)pace.max_ahead);
    cr_assert_leq(pace.max_allocation_growth, 0, "the pipeline allocated while running");
    ctx_release(ctx);
    support_end();
}
