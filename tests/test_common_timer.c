/*
 * test_common_timer.c - the clock, sleep, time_after, tickers, and the
 * timer thread's entries (common/timer.h, common/timer_internal.h).
 *
 * Timing checks use wide bounds: a lower bound that must hold exactly, and
 * an upper bound many times the delay, so a loaded machine (or valgrind)
 * does not make them flaky.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/leak.h"
#include "common/timer.h"
#include "common/timer_internal.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND

/* Waits for a value on c, failing the test if none comes within limit. */
static int64_t recv_within(chan_t *c, duration_t limit)
{
    chan_t     *bound = time_after(limit);
    int64_t     value = 0, ignored;
    chan_case_t cases[2] = {chan_case_recv(c, &value), chan_case_recv(bound, &ignored)};
    int         chosen = chan_select(cases, 2);
    chan_release(bound);
    cr_assert_eq(chosen, 0, "nothing received within the bound");
    cr_assert_eq(cases[0].err, 0);
    return value;
}

/* True if c stays silent for `quiet` (a timer channel proves the wait). */
static bool silent_for(chan_t *c, duration_t quiet)
{
    chan_t     *bound = time_after(quiet);
    chan_case_t cases[2] = {chan_case_recv(c, NULL), chan_case_recv(bound, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(bound);
    return chosen == 1;
}

Test(timer, now_is_monotonic, .timeout = 10)
{
    support_begin();
    int64_t prev = time_now();
    cr_assert_gt(prev, 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = time_now();
        cr_assert_geq(now, prev, "the clock went backwards");
        prev = now;
    }
    support_end();
}

Test(timer, sleep_lasts_at_least_its_duration, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    time_sleep(5 * MS);
    int64_t slept = time_now() - start;
    cr_assert_geq(slept, 5 * MS);
    cr_assert_lt(slept, 2000 * MS);

    start = time_now();
    time_sleep(0);
    time_sleep(-5 * MS);
    cr_assert_lt(time_now() - start, 100 * MS, "non-positive sleeps return at once");
    support_end();
}

Test(timer, after_fires_once_with_the_time, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    chan_t *c = time_after(5 * MS);
    cr_assert_not_null(c);
    cr_assert_eq(chan_cap(c), 1);
    int64_t fired = recv_within(c, 5000 * MS);
    int64_t now = time_now();
    cr_assert_geq(fired, start + 5 * MS, "fired early");
    cr_assert_leq(fired, now, "timestamp from the future");
    cr_assert_geq(now - start, 5 * MS);
    cr_assert(silent_for(c, 15 * MS), "a second value arrived");
    chan_release(c);
    support_end();
}

Test(timer, after_non_positive_fires_at_once, .timeout = 10)
{
    support_begin();
    size_t     pending = time_pending_timers();
    duration_t delays[] = {0, -1, -TIME_SECOND};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        int64_t before = time_now();
        chan_t *c = time_after(delays[i]);
        cr_assert_not_null(c);
        cr_assert_eq(time_pending_timers(), pending, "no timer is needed");
        int64_t value = 0;
        cr_assert_eq(chan_try_recv(c, &value), 0, "the value is there at once");
        cr_assert_geq(value, before);
        cr_assert_eq(chan_try_recv(c, &value), EAGAIN, "exactly one value");
        chan_release(c);
    }
    support_end();
}

Test(timer, releasing_an_unfired_after_cancels_it, .timeout = 10)
{
    support_begin();
    size_t  pending = time_pending_timers();
    chan_t *long_one = time_after(TIME_SECOND * 3600);
    cr_assert_eq(time_pending_timers(), pending + 1);
    chan_t *short_one = time_after(5 * MS);
    chan_release(long_one);
    chan_release(short_one);
    cr_assert_eq(time_pending_timers(), pending, "release must disarm the timer");
    /* Past the short one's deadline: had it stayed armed, it would now fire
     * into a freed channel (ASan and valgrind would say so). */
    chan_t *later = time_after(15 * MS);
    recv_within(later, 5000 * MS);
    chan_release(later);
    cr_assert_eq(time_pending_timers(), pending);
    support_end();
}

Test(timer, release_races_with_fire, .timeout = 20)
{
    support_begin();
    /* Deadlines right around now: some releases find the entry armed, some
     * find it firing, some after it fired. All must end clean. */
    for (int i = 0; i < 2000; i++) {
        chan_t *c = time_after((i % 50) * TIME_MICROSECOND);
        cr_assert_not_null(c);
        chan_release(c);
    }
    support_end();
}

Test(timer, many_pending_timers_cost_no_thread, .timeout = 60)
{
    support_begin();
    enum { N = 100000 };
    chan_t *warm = time_after(1 * MS); /* make sure the timer thread runs */
    recv_within(warm, 5000 * MS);
    chan_release(warm);
    size_t pending = time_pending_timers();
    long   threads = leak_thread_count();
    cr_assert_gt(threads, 0);

    chan_t **chans = calloc(N, sizeof *chans);
    cr_assert_not_null(chans);
    for (int i = 0; i < N; i++) {
        /* Distinct deadlines, not in order, to exercise the heap. */
        chans[i] = time_after(TIME_SECOND * 3600 + (duration_t)((i * 7919) % N) * MS);
        cr_assert_not_null(chans[i]);
    }
    cr_assert_eq(time_pending_timers(), pending + N);
    cr_assert_eq(leak_thread_count(), threads, "a pending timer must not cost a thread");
    for (int i = 0; i < N; i++) {
        int k = (int)(((long)i * 48271) % N); /* a permutation: 48271 and N are coprime */
        chan_release(chans[k]);
    }
    free(chans);
    cr_assert_eq(time_pending_timers(), pending);
    support_end();
}

/* Entries armed for absolute deadlines, in shuffled order: each fire
 * records its rank, the last one says so on `all_fired`. */
enum { ORDER_N = 40 };

struct order {
    atomic_int fired;
    int        ranks[ORDER_N];
    chan_t    *all_fired;
};

struct order_entry {
    struct order *order;
    int           rank;
};

static void record_rank(void *arg)
{
    struct order_entry *e = arg;
    int                 seq = atomic_fetch_add(&e->order->fired, 1);
    e->order->ranks[seq] = e->rank;
    if (seq == ORDER_N - 1)
        chan_try_send(e->order->all_fired, NULL);
}

Test(timer, entries_fire_in_deadline_order, .timeout = 10)
{
    support_begin();
    struct order       order = {.fired = 0, .all_fired = chan_make(0, 1)};
    struct order_entry entries[ORDER_N];
    timer_entry_t     *armed[ORDER_N];
    int64_t            base = time_now() + 50 * MS; /* arming all 40 must fit before it */
    for (int i = 0; i < ORDER_N; i++) {
        entries[i] = (struct order_entry){&order, (i * 17) % ORDER_N}; /* a permutation */
        armed[i] = timer_entry_start(base + entries[i].rank * 50 * TIME_MICROSECOND, 0, record_rank,
                                     &entries[i]);
        cr_assert_not_null(armed[i]);
    }
    cr_assert_eq(chan_recv(order.all_fired, NULL), 0);
    for (int i = 0; i < ORDER_N; i++)
        cr_assert_eq(order.ranks[i], i, "fired out of deadline order");
    for (int i = 0; i < ORDER_N; i++)
        timer_entry_stop(armed[i]);
    chan_release(order.all_fired);
    support_end();
}

Test(timer, ticker_ticks_every_period, .timeout = 10)
{
    support_begin();
    int64_t   start = time_now();
    ticker_t *t = ticker_new(5 * MS);
    cr_assert_not_null(t);
    chan_t *c = ticker_chan(t);
    cr_assert_not_null(c);
    cr_assert_eq(chan_cap(c), 1);
    int64_t first = recv_within(c, 5000 * MS);
    cr_assert_geq(first, start + 5 * MS, "the first tick comes one period after ticker_new");
    int64_t prev = first;
    for (int i = 0; i < 3; i++) {
        int64_t tick = recv_within(c, 5000 * MS);
        cr_assert_gt(tick, prev, "ticks go forward");
        prev = tick;
    }
    cr_assert_geq(time_now() - start, 4 * 5 * MS, "four ticks take four periods");
    ticker_stop(t);
    support_end();
}

Test(timer, slow_reader_misses_ticks, .timeout = 10)
{
    support_begin();
    ticker_t *t = ticker_new(1 * MS);
    cr_assert_not_null(t);
    chan_t *idle = time_after(25 * MS); /* about 25 ticks while nobody reads */
    recv_within(idle, 5000 * MS);
    chan_release(idle);
    cr_assert_leq(chan_len(ticker_chan(t)), 1, "ticks must be dropped, not queued");
    cr_assert_eq(chan_len(ticker_chan(t)), 1, "a tick is waiting");
    ticker_stop(t);
    support_end();
}

Test(timer, stopped_ticker_stays_silent, .timeout = 10)
{
    support_begin();
    size_t    pending = time_pending_timers();
    ticker_t *t = ticker_new(1 * MS);
    cr_assert_not_null(t);
    cr_assert_eq(time_pending_timers(), pending + 1);
    chan_t *c = chan_retain(ticker_chan(t));
    recv_within(c, 5000 * MS);
    ticker_stop(t);
    cr_assert_eq(time_pending_timers(), pending);
    chan_try_recv(c, NULL); /* a tick sent before the stop may be buffered */
    cr_assert(silent_for(c, 15 * MS), "a tick arrived after ticker_stop");
    chan_release(c);
    support_end();
}

Test(timer, ticker_rejects_bad_periods, .timeout = 10)
{
    support_begin();
    errno = 0;
    cr_assert_null(ticker_new(0));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(ticker_new(-TIME_SECOND));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(ticker_chan(NULL));
    ticker_stop(NULL);
    support_end();
}

struct slow_fire {
    chan_t    *started; /* cap 1: the first fire says it began */
    atomic_int fires;
    atomic_int finished;
};

static void slow_fire(void *arg)
{
    struct slow_fire *f = arg;
    atomic_fetch_add(&f->fires, 1);
    chan_try_send(f->started, NULL);
    time_sleep(10 * MS);
    atomic_fetch_add(&f->finished, 1);
}

Test(timer, stop_waits_for_a_running_fire, .timeout = 10)
{
    support_begin();
    struct slow_fire f = {chan_make(0, 1), 0, 0};
    cr_assert_not_null(f.started);
    timer_entry_t *e = timer_entry_start(time_now() + 1 * MS, 1 * MS, slow_fire, &f);
    cr_assert_not_null(e);
    cr_assert_eq(chan_recv(f.started, NULL), 0);
    timer_entry_stop(e); /* fire is sleeping right now */
    cr_assert_eq(atomic_load(&f.finished), atomic_load(&f.fires),
                 "timer_entry_stop returned while fire was running");
    int     fires = atomic_load(&f.fires);
    chan_t *quiet = time_after(15 * MS);
    recv_within(quiet, 5000 * MS);
    chan_release(quiet);
    cr_assert_eq(atomic_load(&f.fires), fires, "fired after timer_entry_stop");
    chan_release(f.started);
    support_end();
}

Test(timer, allocation_failure_leaks_nothing, .timeout = 10)
{
    support_begin();
    size_t pending = time_pending_timers();
    bool   after_ok = false, ticker_ok = false;
    for (int64_t budget = 0; !(after_ok && ticker_ok); budget++) {
        cr_assert_lt(budget, 100, "still failing with a large allocation budget");
        int64_t live = alloc_live();
        alloc_fail_after(budget);
        errno = 0;
        chan_t *c = after_ok ? NULL : time_after(TIME_SECOND);
        int     after_errno = errno;
        alloc_fail_reset();
        if (!after_ok) {
            if (c == NULL) {
                cr_assert_eq(after_errno, ENOMEM);
                cr_assert_eq(alloc_live(), live, "a failed time_after leaked");
            } else {
                chan_release(c);
                after_ok = true;
            }
        }
        live = alloc_live();
        alloc_fail_after(budget);
        errno = 0;
        ticker_t *t = ticker_ok ? NULL : ticker_new(TIME_SECOND);
        int       ticker_errno = errno;
        alloc_fail_reset();
        if (!ticker_ok) {
            if (t == NULL) {
                cr_assert_eq(ticker_errno, ENOMEM);
                cr_assert_eq(alloc_live(), live, "a failed ticker_new leaked");
            } else {
                ticker_stop(t);
                ticker_ok = true;
            }
        }
        cr_assert_eq(time_pending_timers(), pending);
    }
    support_end();
}
