/*
 * test_common_misuse.c - the core used wrongly: every refusal is the
 * documented error and changes nothing.
 *
 * Much of this is already covered beside each module (NULL channels and
 * double close in test_common_chan, NULL and invalid select arguments in
 * test_common_select, NULL contexts and background in test_common_context,
 * negative weights and over-release in test_common_sema, bad ticker periods
 * in test_common_timer, a negative wait group count in test_common_sync).
 * This file covers what those leave out: select cases that are invalid in
 * other ways, and in the try form; NULL wait groups; extreme durations and
 * deadlines (no overflow, no timer left armed); semaphore requests that can
 * never fit, tried or with a context already done; goroutine names; and
 * allocation sizes that overflow.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/support/support.h"

#define HOUR (3600 * TIME_SECOND)

/* Asserts that select refuses cases with EINVAL, in both forms, and that
 * the valid, ready case among them was not performed. */
static void assert_refused(chan_case_t *cases, size_t n, chan_t *ready, const char *what)
{
    for (int blocking = 0; blocking < 2; blocking++) {
        size_t len = chan_len(ready);
        errno = 0;
        int k = blocking ? chan_select(cases, n) : chan_try_select(cases, n);
        cr_assert_eq(k, -1, "%s: %s chose case %d", what, blocking ? "select" : "try_select", k);
        cr_assert_eq(errno, EINVAL, "%s: errno %d", what, errno);
        cr_assert_eq(chan_len(ready), len, "%s: a refused select performed a case", what);
    }
}

Test(misuse, select_refuses_invalid_cases_and_does_nothing, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(int), 2);
    chan_t *sig = chan_make(0, 1);
    int     v = 3, out = -1;
    cr_assert_eq(chan_send(c, &v), 0);

    chan_case_t null_value[] = {chan_case_recv(c, &out), chan_case_send(c, NULL)};
    assert_refused(null_value, 2, c, "a send case with no value on a non-signal channel");
    chan_case_t zero_op[] = {chan_case_recv(c, &out), {c, (chan_op_t)0, &out, 0}};
    assert_refused(zero_op, 2, c, "op 0");
    chan_case_t bad_op_on_nil[] = {chan_case_recv(c, &out), {NULL, (chan_op_t)3, NULL, 0}};
    assert_refused(bad_op_on_nil, 2, c, "an unknown op, even on a nil channel");
    cr_assert_eq(out, -1, "a refused select stored nothing");

    /* A send case with no value is fine on a signal channel. */
    chan_case_t signal[] = {chan_case_send(sig, NULL)};
    cr_assert_eq(chan_try_select(signal, 1), 0);
    cr_assert_eq(signal[0].err, 0);
    cr_assert_eq(chan_len(sig), 1);

    /* Not misuse, but never ready: the try form says EAGAIN, not EINVAL. */
    chan_case_t nils[] = {chan_case_recv(NULL, &out), chan_case_send(NULL, &v)};
    errno = 0;
    cr_assert_eq(chan_try_select(nils, 2), -1);
    cr_assert_eq(errno, EAGAIN);
    errno = 0;
    cr_assert_eq(chan_try_select(NULL, 0), -1, "no cases at all: Go's select with only default");
    cr_assert_eq(errno, EAGAIN);

    cr_assert_eq(chan_recv(c, &out), 0);
    cr_assert_eq(out, 3, "the value refused selects left alone");
    chan_release(c);
    chan_release(sig);
    support_end();
}

Test(misuse, channels_closed_and_misused_keep_their_values, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(long), 3);
    long    a = 1, b = 2, out = 0;
    cr_assert_eq(chan_send(c, &a), 0);
    cr_assert_eq(chan_send(c, &b), 0);
    cr_assert_eq(chan_send(c, NULL), EINVAL);
    cr_assert_eq(chan_len(c), 2, "a refused send changes nothing");
    cr_assert_eq(chan_close(c), 0);
    cr_assert_eq(chan_close(c), EPIPE);
    cr_assert_eq(chan_send(c, &a), EPIPE);
    chan_case_t send_closed[] = {chan_case_send(c, &a)};
    cr_assert_eq(chan_try_select(send_closed, 1), 0, "a send case on a closed channel proceeds");
    cr_assert_eq(send_closed[0].err, EPIPE, "... with EPIPE");
    cr_assert_eq(chan_len(c), 2, "none of that added or dropped a value");
    cr_assert_eq(chan_recv(c, &out), 0);
    cr_assert_eq(out, 1);
    cr_assert_eq(chan_try_recv(c, &out), 0);
    cr_assert_eq(out, 2);
    cr_assert_eq(chan_recv(c, &out), EPIPE);
    cr_assert_eq(out, 0, "a receive from a closed, drained channel zeroes the value");
    cr_assert_eq(chan_close(c), EPIPE, "still closed, still refused");

    /* A retained channel survives its maker's release. */
    chan_t *kept = chan_retain(c);
    cr_assert_eq(kept, c);
    chan_release(c);
    cr_assert_eq(chan_try_recv(kept, NULL), EPIPE);
    chan_release(kept);
    support_end();
}

Test(misuse, null_wait_groups_are_ignored, .timeout = 10)
{
    support_begin();
    waitgroup_init(NULL);
    waitgroup_add(NULL, 1);
    waitgroup_done(NULL);
    waitgroup_wait(NULL); /* must not block: the timeout would catch it */
    waitgroup_destroy(NULL);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 0); /* a zero delta on zero: no wake-up, no change */
    waitgroup_wait(&wg);
    cr_assert_eq(wg.count, 0);
    waitgroup_destroy(&wg);
    support_end();
}

Test(misuse, extreme_durations_neither_overflow_nor_leak_timers, .timeout = 10)
{
    support_begin();
    size_t  pending = time_pending_timers();
    chan_t *forever = time_after(INT64_MAX); /* now + d would overflow */
    cr_assert_not_null(forever);
    cr_assert_eq(chan_try_recv(forever, NULL), EAGAIN, "INT64_MAX from now is not the past");
    cr_assert_eq(time_pending_timers(), pending + 1);
    chan_release(forever);
    cr_assert_eq(time_pending_timers(), pending, "releasing it disarmed it");

    chan_t *past = time_after(INT64_MIN);
    cr_assert_not_null(past);
    int64_t when = 0;
    cr_assert_eq(chan_try_recv(past, &when), 0, "a very negative duration fires at once");
    cr_assert_gt(when, 0);
    chan_release(past);

    ticker_t *slow = ticker_new(INT64_MAX);
    cr_assert_not_null(slow);
    cr_assert_eq(chan_try_recv(ticker_chan(slow), NULL), EAGAIN);
    ticker_stop(slow);

    ctx_t *never = ctx_with_timeout(NULL, INT64_MAX);
    cr_assert_not_null(never);
    int64_t deadline = 0;
    cr_assert(ctx_deadline(never, &deadline));
    cr_assert_eq(deadline, INT64_MAX, "an overflowing deadline saturates");
    cr_assert_eq(ctx_err(never), 0);
    ctx_t *gone = ctx_with_timeout(never, INT64_MIN);
    cr_assert_eq(ctx_err(gone), ETIMEDOUT, "a negative timeout is already past");
    cr_assert_eq(ctx_err(never), 0, "and its parent is untouched");
    ctx_t *at_min = ctx_with_deadline(NULL, INT64_MIN);
    cr_assert_eq(ctx_err(at_min), ETIMEDOUT);
    ctx_release(at_min);
    ctx_release(gone);
    ctx_cancel(never);
    ctx_release(never);
    cr_assert_eq(time_pending_timers(), pending);
    support_end();
}

Test(misuse, contexts_misused_change_nothing, .timeout = 10)
{
    support_begin();
    int    key, other;
    ctx_t *c = ctx_with_cancel(NULL);
    ctx_t *v = ctx_with_value(c, &key, &key);
    cr_assert_null(ctx_value(v, NULL), "a NULL key is never found");
    cr_assert_null(ctx_value(v, &other));
    errno = 0;
    cr_assert_null(ctx_with_value(v, NULL, &key));
    cr_assert_eq(errno, EINVAL);
    ctx_cancel(v); /* no effect on a value context */
    cr_assert_eq(ctx_err(c), 0);
    cr_assert_eq(ctx_err(v), 0);
    ctx_cancel(c);
    ctx_cancel(c); /* idempotent */
    cr_assert_eq(ctx_err(v), ECANCELED);
    ctx_t *late = ctx_with_timeout(c, HOUR); /* a child of a done context: done, no timer */
    cr_assert_eq(ctx_err(late), ECANCELED, "a canceled parent's reason wins over a deadline");
    ctx_cancel(late);
    cr_assert_eq(ctx_err(late), ECANCELED);
    ctx_release(late);
    ctx_release(v);
    ctx_release(c);
    support_end();
}

Test(misuse, semaphore_requests_that_can_never_fit, .timeout = 10)
{
    support_begin();
    sema_t *s = sema_new(3);
    cr_assert_not(sema_try_acquire(s, 4), "more than the size");
    cr_assert_eq(sema_held(s), 0);
    ctx_t *done = ctx_with_cancel(NULL);
    ctx_cancel(done);
    cr_assert_eq(sema_acquire(s, done, 4), ECANCELED, "too big, and the context is already done");
    cr_assert_eq(sema_acquire(s, done, 1), ECANCELED, "done wins over free tokens");
    cr_assert_eq(sema_held(s), 0);
    cr_assert_eq(sema_release(s, 0), 0, "releasing nothing is allowed");
    cr_assert_eq(sema_held(s), 0);
    cr_assert_eq(sema_held(NULL), 0);
    cr_assert_not(sema_try_acquire(s, -1));
    cr_assert(sema_try_acquire(s, 3));
    cr_assert_eq(sema_release(s, 4), EINVAL);
    cr_assert_eq(sema_held(s), 3);
    cr_assert_eq(sema_release(s, 3), 0);
    ctx_release(done);
    sema_free(s);
    support_end();
}

static atomic_int ran;

static void mark(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void park_until_closed(void *gate)
{
    chan_recv(gate, NULL);
    chan_release(gate); /* the reference it was started with */
}

Test(misuse, goroutine_names, .timeout = 10)
{
    support_begin();
    cr_assert_eq(go_named(NULL, NULL, NULL), EINVAL);
    cr_assert_eq(go_named("x", NULL, &ran), EINVAL);
    cr_assert_eq(atomic_load(&ran), 0);

    chan_t *gate = chan_make(0, 0);
    char    long_name[200];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cr_assert_eq(go_named(NULL, park_until_closed, chan_retain(gate)), 0, "a NULL name is allowed");
    cr_assert_eq(go_named(long_name, park_until_closed, chan_retain(gate)), 0,
                 "a long name is cut, not refused");
    cr_assert_eq(go_named("", mark, NULL), 0, "an empty name is allowed");

    char  *dump = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&dump, &size);
    cr_assert_not_null(out);
    go_dump(out);
    fclose(out);
    cr_assert_not_null(strstr(dump, "]: goroutine"), "the default name: %s", dump);
    cr_assert_not_null(strstr(dump, "nnnnnnnn"), "the long name, cut: %s", dump);
    free(dump);
    cr_assert_eq(chan_close(gate), 0);
    chan_release(gate);
    support_end(); /* every goroutine above has returned */
    cr_assert_eq(atomic_load(&ran), 1);
}

Test(misuse, allocation_sizes_that_overflow, .timeout = 10)
{
    support_begin();
    int64_t live = alloc_live(), bytes = alloc_live_bytes();
    errno = 0;
    cr_assert_null(goc_malloc(SIZE_MAX), "the header would overflow the size");
    cr_assert_eq(errno, ENOMEM);
    errno = 0;
    cr_assert_null(goc_calloc(SIZE_MAX, SIZE_MAX));
    cr_assert_eq(errno, ENOMEM);
    void *empty = goc_calloc(0, 8);
    cr_assert_not_null(empty, "a zero-byte block is still a block");
    cr_assert_eq(alloc_live(), live + 1);
    goc_free(empty);
    errno = 0;
    cr_assert_null(chan_make(SIZE_MAX, SIZE_MAX));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(chan_make(sizeof(int), (size_t)1 << 30), "a buffer holds at most 2^29 values");
    cr_assert_eq(errno, EINVAL);
    chan_t *huge_signal = chan_make(0, SIZE_MAX); /* no buffer needed for empty values */
    cr_assert_not_null(huge_signal);
    cr_assert_eq(chan_cap(huge_signal), SIZE_MAX);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(chan_try_send(huge_signal, NULL), 0);
    cr_assert_eq(chan_len(huge_signal), 1000);
    chan_release(huge_signal);
    alloc_fail_after(-7); /* negative: the very next allocation fails */
    cr_assert_null(goc_malloc(1));
    alloc_fail_reset();
    cr_assert_eq(alloc_live(), live);
    cr_assert_eq(alloc_live_bytes(), bytes);
    support_end();
}
