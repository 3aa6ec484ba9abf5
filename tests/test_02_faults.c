/*
 * test_02_faults.c - lesson 02's fan-out and fan-in when goroutines cannot
 * be started (go_fail_after: pthread_create failing).
 *
 * test_02_fan.c already fails every allocation; here the n-th goroutine
 * fails to start. fan_out must say EAGAIN, stop the workers it had
 * started, leave outs untouched and the caller's input open and usable;
 * fan_in and fan_in_ordered must say EAGAIN and leave their inputs to the
 * caller. Nothing may be left running or allocated.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

enum { WORKERS = 3 };

static int twice(ctx_t *ctx, size_t worker, int64_t value, int64_t *result, void *arg)
{
    (void)ctx;
    (void)worker;
    (void)arg;
    *result = 2 * value;
    return 0;
}

Test(fan_faults, fan_out_when_a_worker_cannot_start, .timeout = 30)
{
    support_begin();
    size_t base = go_count();
    for (int64_t n = 0; n < WORKERS; n++) {
        chan_t *in = fan_chan_make(4);
        cr_assert_not_null(in);
        int64_t live = alloc_live();
        chan_t *outs[WORKERS] = {(chan_t *)&n, (chan_t *)&n, (chan_t *)&n};
        go_fail_after(n);
        int err = fan_out(NULL, in, WORKERS, twice, NULL, outs);
        go_fail_reset();
        cr_assert_eq(err, EAGAIN, "%lld of %d workers could start: %d", (long long)n, WORKERS, err);
        for (int i = 0; i < WORKERS; i++)
            cr_assert_eq(outs[i], (chan_t *)&n, "outs must be left untouched on failure");
        support_wait_quiet(base, live);
        fan_item_t item = {0, 21};
        cr_assert_eq(chan_try_send(in, &item), 0, "the input is still the caller's, and open");
        cr_assert_eq(chan_len(in), 1, "no stopped worker took an item after the failure");
        chan_release(in);
    }
    support_end();
}

Test(fan_faults, fan_in_when_the_merger_cannot_start, .timeout = 30)
{
    support_begin();
    size_t  base = go_count();
    int64_t start = alloc_live();
    for (int ordered = 0; ordered < 2; ordered++) {
        chan_t *inputs[2] = {fan_chan_make(1), fan_chan_make(1)};
        int64_t live = alloc_live();
        go_fail_after(0);
        errno = 0;
        chan_t *merged = ordered ? fan_in_ordered(NULL, inputs, 2) : fan_in(NULL, inputs, 2);
        int     err = errno;
        go_fail_reset();
        cr_assert_null(merged);
        cr_assert_eq(err, EAGAIN, "errno %d", err);
        cr_assert_eq(alloc_live(), live, "a failed fan_in leaked");

        /* The inputs are untouched: a merger started now gets everything. */
        fan_item_t item = {0, 5}, got;
        cr_assert_eq(chan_send(inputs[0], &item), 0);
        merged = ordered ? fan_in_ordered(NULL, inputs, 2) : fan_in(NULL, inputs, 2);
        cr_assert_not_null(merged);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(chan_close(inputs[i]), 0);
            chan_release(inputs[i]);
        }
        cr_assert_eq(chan_recv(merged, &got), 0);
        cr_assert_eq(got.value, 5);
        cr_assert_eq(chan_recv(merged, &got), EPIPE);
        chan_release(merged);
        support_wait_quiet(base, start); /* the merger is gone before the next round counts */
    }
    support_end();
}
