/*
 * test_02_producer.c - lesson 02's producer (02-fan-in-fan-out/producer.h),
 * the head of the program's fan-out: jobs 1..N in order, numbered 0..N-1,
 * then the channel closed; on cancel it stops sending and still closes;
 * one that cannot start leaves the channel open and nothing behind. Every
 * test also proves the shutdown (support_end).
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "02-fan-in-fan-out/fan.h"
#include "02-fan-in-fan-out/producer.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

enum { JOBS = 25 };

Test(producer_02, sends_every_job_in_order_then_closes, .timeout = 20)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *jobs = fan_chan_make(0);
    cr_assert(ctx && jobs);
    cr_assert_eq(producer_start(ctx, jobs, JOBS), 0);
    fan_item_t item;
    for (int64_t job = 1; job <= JOBS; job++) {
        cr_assert_eq(chan_recv(jobs, &item), 0, "job %lld missing", (long long)job);
        cr_assert_eq(item.value, job);
        cr_assert_eq(item.seq, (uint64_t)(job - 1));
    }
    cr_assert_eq(chan_recv(jobs, &item), EPIPE, "the producer sent more, or did not close");
    chan_release(jobs);
    ctx_cancel(ctx);
    ctx_release(ctx);
    support_end();
}

Test(producer_02, stops_and_closes_when_canceled, .timeout = 20)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *jobs = fan_chan_make(0);
    cr_assert(ctx && jobs);
    size_t  running = go_count();
    int64_t live = alloc_live();
    cr_assert_eq(producer_start(ctx, jobs, JOBS), 0);
    fan_item_t item;
    cr_assert_eq(chan_recv(jobs, &item), 0);
    cr_assert_eq(item.value, 1);
    /* Nobody takes job 2, so the cancel is the only way out of its send. */
    ctx_cancel(ctx);
    support_wait_quiet(running, live);
    cr_assert_eq(chan_try_recv(jobs, &item), EPIPE, "the producer did not close the channel");
    chan_release(jobs);
    ctx_release(ctx);
    support_end();
}

Test(producer_02, that_cannot_start_leaves_nothing_behind, .timeout = 20)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *jobs = fan_chan_make(1);
    cr_assert(ctx && jobs);
    size_t  running = go_count();
    int64_t live = alloc_live();

    for (int fault = 0; fault < 2; fault++) { /* no memory, then no thread */
        fault ? go_fail_after(0) : alloc_fail_after(0);
        int err = producer_start(ctx, jobs, JOBS);
        fault ? go_fail_reset() : alloc_fail_reset();
        cr_assert_eq(err, fault ? EAGAIN : ENOMEM, "%d", err);
        support_wait_quiet(running, live);
    }

    fan_item_t item = {0, 7};
    cr_assert_eq(chan_try_send(jobs, &item), 0, "the channel is still open, and empty");
    chan_release(jobs);
    ctx_cancel(ctx);
    ctx_release(ctx);
    support_end();
}
