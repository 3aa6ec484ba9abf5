/*
 * test_02_fan_cancel.c - lesson 02: canceling a fan-out / fan-in group.
 * After a cancel, producer, workers and merger all return, whether the
 * consumer reads on (the merged channel must then close) or never reads
 * again (the classic leak); backpressure bounds how far the producer got;
 * work that would take seconds is interrupted promptly.
 *
 * The shared producer, workers and drain are in tests/fan_helpers.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/context.h"
#include "common/timer.h"
#include "tests/fan_helpers.h"
#include "tests/support/support.h"

/* The consumer takes k items and cancels, while the producer still has
 * thousands to send: producer, workers and merger are all blocked on sends.
 * If `keep_reading`, it reads on and the merged channel must close; if not,
 * nobody reads again (the classic leak) and they must return anyway. */
static void cancel_midway(bool ordered, bool keep_reading)
{
    support_begin();
    const int64_t jobs = 100000, k = 5;
    const size_t  workers = 4;
    bool         *seen = calloc((size_t)jobs, sizeof *seen);
    ctx_t        *ctx = ctx_with_cancel(NULL);
    chan_t       *report;
    chan_t       *merged = start_all(ctx, jobs, workers, square, NULL, ordered, &report);

    fan_item_t item;
    for (int64_t i = 0; i < k; i++)
        cr_assert_eq(chan_recv(merged, &item), 0);
    ctx_cancel(ctx);
    if (keep_reading)
        cr_assert_lt(drain(merged, jobs, ordered, seen), jobs);
    chan_release(merged);
    ctx_release(ctx);

    /* Backpressure bounds what was taken from the producer: k read, at most
     * one item per worker and `workers` in the merger held when canceled,
     * and at most one more per worker racing the cancellation. */
    int64_t sent = producer_sent(report);
    cr_assert_geq(sent, k);
    cr_assert_leq(sent, k + 3 * (int64_t)workers + 1, "the producer sent %" PRId64, sent);
    free(seen);
    support_end();
}

Test(fan, cancel_with_no_reader_left_stops_everything, .timeout = 10)
{
    cancel_midway(false, false);
}

Test(fan, cancel_with_no_reader_left_stops_everything_ordered, .timeout = 10)
{
    cancel_midway(true, false);
}

Test(fan, cancel_closes_the_merged_channel, .timeout = 10)
{
    cancel_midway(false, true);
}

Test(fan, cancel_closes_the_merged_channel_ordered, .timeout = 10)
{
    cancel_midway(true, true);
}

Test(fan, cancel_interrupts_long_work_promptly, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *report;
    chan_t *merged = start_all(ctx, 1000, 3, stuck_until_canceled, NULL, false, &report);
    int64_t start = time_now();
    ctx_cancel(ctx);
    fan_item_t item;
    cr_assert_eq(chan_recv(merged, &item), EPIPE, "a result of canceled work came out");
    cr_assert_lt(time_now() - start, 2 * TIME_SECOND, "cancellation took too long");
    chan_release(merged);
    ctx_release(ctx);
    cr_assert_leq(producer_sent(report), 3 + 3); /* one per worker, one more per worker racing */
    support_end();
}
