/*
 * test_02_fan.c - lesson 02: fan-out and fan-in, merging. Every square
 * comes out exactly once (in input order for the ordered merge), with
 * quick, slow, jittery or single workers; an item a worker drops is
 * skipped, not waited for; merging no channels closes at once; inputs that
 * close at different times all get merged; bad arguments are refused; no
 * failed allocation leaves anything behind.
 *
 * Every test that merges drains the merged channel until it reports EPIPE.
 * That is the point of the lesson: if a worker or the merger forgot to close
 * its channel (the article's bug), the drain would block forever and the
 * test's .timeout would turn the hang into a failure. Every test then ends
 * with support_end(): every goroutine returned, every allocation freed.
 *
 * Cancellation is in test_02_fan_cancel.c, the program in
 * test_02_program.c; the shared producer, workers and drain in
 * tests/fan_helpers.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/fan_helpers.h"
#include "tests/support/support.h"

static void every_square_once(bool ordered, fan_fn_t fn, int64_t jobs, size_t workers)
{
    support_begin();
    bool   *seen = calloc((size_t)jobs, sizeof *seen);
    chan_t *report;
    chan_t *merged = start_all(NULL, jobs, workers, fn, NULL, ordered, &report);
    cr_assert_eq(drain(merged, jobs, ordered, seen), jobs, "some results are missing");
    cr_assert_eq(producer_sent(report), jobs);
    chan_release(merged);
    free(seen);
    support_end();
}

Test(fan, merged_has_every_square_once_then_closes, .timeout = 10)
{
    every_square_once(false, square, 500, 4);
}

Test(fan, ordered_merge_delivers_in_input_order, .timeout = 10)
{
    every_square_once(true, square_jittery, 200, 5);
}

Test(fan, slow_items_still_yield_every_result, .timeout = 10)
{
    every_square_once(false, square_slow_on_sevens, 100, 3);
}

Test(fan, slow_items_ordered, .timeout = 10)
{
    every_square_once(true, square_slow_on_sevens, 100, 3);
}

Test(fan, single_worker, .timeout = 10)
{
    every_square_once(true, square, 50, 1);
}

Test(fan, ordered_merge_skips_a_dropped_item, .timeout = 10)
{
    support_begin();
    const int64_t jobs = 60, dropped = 5; /* value 5 is seq 4 */
    bool          seen[60] = {false};
    chan_t       *report;
    chan_t *merged = start_all(NULL, jobs, 4, square_dropping, (void *)&dropped, true, &report);
    cr_assert_eq(drain(merged, jobs, true, seen), jobs - 1);
    cr_assert_not(seen[dropped - 1], "the dropped item came out");
    cr_assert_eq(producer_sent(report), jobs);
    chan_release(merged);
    support_end();
}

Test(fan, fan_in_of_no_channels_closes_at_once, .timeout = 10)
{
    support_begin();
    for (int ordered = 0; ordered <= 1; ordered++) {
        chan_t *merged = ordered ? fan_in_ordered(NULL, NULL, 0) : fan_in(NULL, NULL, 0);
        cr_assert_not_null(merged);
        cr_assert_eq(chan_recv(merged, NULL), EPIPE);
        chan_release(merged);
    }
    support_end();
}

/* A feeder sends the given seqs (value (seq+1)^2, as if already worked on)
 * with a pause before each, then closes its channel. */
typedef struct {
    chan_t         *to;
    const uint64_t *seqs;
    size_t          count;
    duration_t      pause;
} feeder_t;

static void feed(void *arg)
{
    feeder_t *f = arg;
    for (size_t i = 0; i < f->count; i++) {
        time_sleep(f->pause); /* simulated work: this is the sender being slow */
        int64_t    v = (int64_t)f->seqs[i] + 1;
        fan_item_t item = {f->seqs[i], v * v};
        if (chan_send(f->to, &item) != 0)
            break;
    }
    chan_close(f->to);
    chan_release(f->to);
}

static void inputs_closing_at_different_times(bool ordered)
{
    support_begin();
    /* Each input in increasing order; together 0..12. Input 0 closes at once,
     * input 1 after three quick items, input 2 after ten slow ones. */
    static const uint64_t quick[] = {0, 2, 4};
    static const uint64_t slow[] = {1, 3, 5, 6, 7, 8, 9, 10, 11, 12};
    feeder_t              feeders[3] = {
                     {NULL, NULL, 0, 0},
                     {NULL, quick, 3, 0},
                     {NULL, slow, 10, 2 * TIME_MILLISECOND},
    };
    chan_t *inputs[3];
    for (int i = 0; i < 3; i++) {
        inputs[i] = fan_chan_make(0);
        feeders[i].to = chan_retain(inputs[i]);
    }
    chan_t *merged = ordered ? fan_in_ordered(NULL, inputs, 3) : fan_in(NULL, inputs, 3);
    cr_assert_not_null(merged);
    for (int i = 0; i < 3; i++) {
        chan_release(inputs[i]);
        cr_assert_eq(go_named("test feeder", feed, &feeders[i]), 0);
    }
    bool seen[13] = {false};
    cr_assert_eq(drain(merged, 13, ordered, seen), 13, "merged closed before its last input");
    chan_release(merged);
    support_end(); /* also waits for the feeders, which use `feeders` */
}

Test(fan, inputs_closing_at_different_times, .timeout = 10)
{
    inputs_closing_at_different_times(false);
}

Test(fan, inputs_closing_at_different_times_ordered, .timeout = 10)
{
    inputs_closing_at_different_times(true);
}

Test(fan, bad_arguments_are_refused, .timeout = 10)
{
    support_begin();
    chan_t *in = fan_chan_make(0);
    chan_t *outs[2] = {NULL, NULL};
    cr_assert_eq(fan_out(NULL, NULL, 2, square, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 0, square, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 2, NULL, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 2, square, NULL, NULL), EINVAL);
    cr_assert_null(outs[0]);
    errno = 0;
    cr_assert_null(fan_in(NULL, NULL, 2));
    cr_assert_eq(errno, EINVAL);
    chan_t *with_null[2] = {in, NULL};
    errno = 0;
    cr_assert_null(fan_in_ordered(NULL, with_null, 2));
    cr_assert_eq(errno, EINVAL);
    chan_release(in);
    support_end();
}

/* Whatever allocation fails, fan_out and fan_in report ENOMEM and leave
 * nothing behind; once allocation works, the group runs to completion. */
Test(fan, out_of_memory_leaves_nothing_behind, .timeout = 10)
{
    support_begin();
    int failures = 0;
    for (int64_t fail_at = 0;; fail_at++) {
        cr_assert_lt(fail_at, 1000, "never succeeded");
        chan_t *in = fan_chan_make(0);
        chan_t *outs[3];
        chan_t *merged = NULL;
        cr_assert_not_null(in);
        alloc_fail_after(fail_at);
        int err = fan_out(NULL, in, 3, square, NULL, outs);
        if (err == 0) {
            merged = fan_in_ordered(NULL, outs, 3);
            err = merged ? 0 : errno;
            for (int i = 0; i < 3; i++)
                chan_release(outs[i]);
        }
        alloc_fail_reset();
        chan_close(in); /* no jobs: the workers and the merger finish at once */
        chan_release(in);
        if (err != 0) {
            cr_assert(err == ENOMEM || err == EAGAIN, "unexpected error %d", err);
            failures++;
            continue;
        }
        cr_assert_eq(chan_recv(merged, NULL), EPIPE);
        chan_release(merged);
        break;
    }
    cr_assert_gt(failures, 0, "no allocation was ever failed");
    support_end();
}
