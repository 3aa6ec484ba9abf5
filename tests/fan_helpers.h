/*
 * fan_helpers.h - what the lesson 02 module tests share
 * (tests/test_02_fan*.c): a producer goroutine that feeds the fan-out,
 * worker functions (quick, slow on sevens, jittery, dropping one item,
 * stuck until canceled), start_all to build producer, workers and merger,
 * and drain, which reads the merged channel to its end checking every
 * item.
 *
 * Header-only (static inline): these call the lesson's module, which only
 * lesson 02's test binaries link, so they cannot live in tests/support/.
 */
#ifndef TESTS_FAN_HELPERS_H
#define TESTS_FAN_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/timer.h"

/* A producer goroutine: sends values 1..count (seq 0..count-1) on `to`,
 * giving up when ctx is done; closes `to`; then reports how many it sent on
 * `report` (an int64_t channel of cap 1). */
typedef struct {
    ctx_t  *ctx;
    chan_t *to;
    chan_t *report;
    int64_t count;
} producer_t;

static inline void produce(void *arg)
{
    producer_t *p = arg;
    int64_t     sent = 0;
    chan_t     *done = p->ctx ? ctx_done(p->ctx) : NULL;
    for (; sent < p->count; sent++) {
        fan_item_t  item = {(uint64_t)sent, sent + 1};
        chan_case_t cases[2] = {chan_case_send(p->to, &item), chan_case_recv(done, NULL)};
        if (chan_select(cases, 2) != 0 || cases[0].err != 0)
            break;
    }
    chan_close(p->to);
    chan_send(p->report, &sent);
    chan_release(p->to);
    chan_release(p->report);
    ctx_release(p->ctx);
    goc_free(p);
}

/* Starts a producer on a new unbuffered channel; returns the channel and
 * stores the report channel in *report (both owned by the caller). */
static inline chan_t *start_producer(ctx_t *ctx, int64_t count, chan_t **report)
{
    chan_t     *to = fan_chan_make(0);
    producer_t *p = goc_malloc(sizeof *p);
    *report = chan_make(sizeof(int64_t), 1);
    cr_assert(to && p && *report, "out of memory");
    *p = (producer_t){ctx ? ctx_retain(ctx) : NULL, chan_retain(to), chan_retain(*report), count};
    cr_assert_eq(go_named("test producer", produce, p), 0);
    return to;
}

/* Waits for the producer's report and releases the report channel. */
static inline int64_t producer_sent(chan_t *report)
{
    int64_t sent = -1;
    cr_assert_eq(chan_recv(report, &sent), 0, "the producer never reported");
    chan_release(report);
    return sent;
}

/* Sleeps for d unless ctx is done first; returns 0 or ECANCELED. */
static inline int work_for(ctx_t *ctx, duration_t d)
{
    chan_t *timer = time_after(d);
    if (timer == NULL)
        return ENOMEM;
    chan_case_t cases[2] = {chan_case_recv(timer, NULL), chan_case_recv(ctx_done(ctx), NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0 ? 0 : ECANCELED;
}

static inline int square(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)ctx, (void)worker, (void)arg;
    *result = v * v;
    return 0;
}

/* Every seventh item takes 20 ms, the rest nothing: one worker lags. */
static inline int square_slow_on_sevens(ctx_t *ctx, size_t worker, int64_t v, int64_t *result,
                                        void *arg)
{
    (void)worker, (void)arg;
    if (v % 7 == 0 && work_for(ctx, 20 * TIME_MILLISECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* 0 to 3 ms per item, so results finish out of order. */
static inline int square_jittery(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)worker, (void)arg;
    if (v % 4 != 0 && work_for(ctx, (v % 4) * TIME_MILLISECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* Drops the item whose value is *arg. */
static inline int square_dropping(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)ctx, (void)worker;
    if (v == *(const int64_t *)arg)
        return EINVAL;
    *result = v * v;
    return 0;
}

/* Work that would take 10 s: only cancellation ends it in time. */
static inline int stuck_until_canceled(ctx_t *ctx, size_t worker, int64_t v, int64_t *result,
                                       void *arg)
{
    (void)worker, (void)arg;
    if (work_for(ctx, 10 * TIME_SECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* Starts a producer of `jobs` items, `workers` workers running fn, and a
 * merger; returns the merged channel. */
static inline chan_t *start_all(ctx_t *ctx, int64_t jobs, size_t workers, fan_fn_t fn, void *arg,
                                bool ordered, chan_t **report)
{
    chan_t *in = start_producer(ctx, jobs, report);
    chan_t *outs[16];
    cr_assert_leq(workers, 16);
    cr_assert_eq(fan_out(ctx, in, workers, fn, arg, outs), 0);
    chan_release(in);
    chan_t *merged = ordered ? fan_in_ordered(ctx, outs, workers) : fan_in(ctx, outs, workers);
    cr_assert_not_null(merged, "fan_in failed: %s", strerror(errno));
    for (size_t i = 0; i < workers; i++)
        chan_release(outs[i]);
    return merged;
}

/* Receives from merged until it is closed; asserts each seq 0..jobs-1
 * arrives at most once with value (seq+1)^2, in increasing order if
 * `ordered`. Returns how many arrived; `seen` (jobs entries) marks which. */
static inline int64_t drain(chan_t *merged, int64_t jobs, bool ordered, bool *seen)
{
    int64_t    got = 0;
    fan_item_t item;
    int64_t    last = -1;
    while (chan_recv(merged, &item) == 0) {
        cr_assert_lt(item.seq, (uint64_t)jobs, "unknown seq %" PRIu64, item.seq);
        int64_t v = (int64_t)item.seq + 1;
        cr_assert_eq(item.value, v * v, "seq %" PRIu64 ": got %" PRId64, item.seq, item.value);
        cr_assert_not(seen[item.seq], "seq %" PRIu64 " arrived twice", item.seq);
        if (ordered)
            cr_assert_gt((int64_t)item.seq, last, "seq %" PRIu64 " after %" PRId64, item.seq, last);
        seen[item.seq] = true;
        last = (int64_t)item.seq;
        got++;
    }
    /* closed stays closed */
    cr_assert_eq(chan_recv(merged, &item), EPIPE);
    return got;
}

#endif
