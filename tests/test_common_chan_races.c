/*
 * test_common_chan_races.c - channels (common/chan.h) under load and under
 * failure: many producers and consumers (every value once, each producer's
 * order kept), close racing with blocked senders and receivers (what a send
 * reported delivered is received exactly once, everyone returns), and
 * chan_make refusing an overflowing size and surviving every allocation
 * failure. The one-at-a-time behaviour is in test_common_chan.c.
 *
 * The rounds are SCALED: a tenth under valgrind (common_chan_helpers.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/common_chan_helpers.h"
#include "tests/support/support.h"

/* MPMC stress: producers send id * PER_PRODUCER + seq; consumers count each. */
enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 50000 };
static atomic_uchar seen[PRODUCERS][PER_PRODUCER];
static atomic_int   order_errors;

static void producer(void *arg)
{
    party_t *p = arg;
    for (long seq = 0; seq < SCALED(PER_PRODUCER); seq++) {
        long v = p->value * PER_PRODUCER + seq;
        if (chan_send(p->c, &v) != 0)
            break;
    }
    waitgroup_done(p->wg);
}

static void consumer(void *arg)
{
    party_t *p = arg;
    long     last[PRODUCERS] = {-1, -1, -1, -1}, v;
    while (chan_recv(p->c, &v) == 0) {
        long id = v / PER_PRODUCER, seq = v % PER_PRODUCER;
        if (v < 0 || id >= PRODUCERS || seq <= last[id])
            atomic_fetch_add(&order_errors, 1);
        else
            atomic_fetch_add(&seen[id][seq], 1), last[id] = seq;
    }
    waitgroup_done(p->wg);
}

Test(chan, mpmc_every_value_once_in_producer_order, .timeout = 60)
{
    support_begin();
    for (size_t cap = 0; cap <= 16; cap += 16) {
        for (int id = 0; id < PRODUCERS; id++)
            for (int seq = 0; seq < PER_PRODUCER; seq++)
                atomic_store(&seen[id][seq], 0);
        atomic_store(&order_errors, 0);
        chan_t     *c = chan_make(sizeof(long), cap);
        party_t     prod[PRODUCERS], cons[CONSUMERS];
        waitgroup_t produced, consumed;
        waitgroup_init(&produced);
        waitgroup_init(&consumed);
        for (int i = 0; i < CONSUMERS; i++) {
            cons[i] = (party_t){.c = c, .wg = &consumed};
            waitgroup_add(&consumed, 1);
            cr_assert_eq(go(consumer, &cons[i]), 0);
        }
        for (int i = 0; i < PRODUCERS; i++) {
            prod[i] = (party_t){.c = c, .value = i, .wg = &produced};
            waitgroup_add(&produced, 1);
            cr_assert_eq(go(producer, &prod[i]), 0);
        }
        waitgroup_wait(&produced);
        cr_assert_eq(chan_close(c), 0);
        waitgroup_wait(&consumed);
        cr_assert_eq(atomic_load(&order_errors), 0, "cap %zu: a producer's order broke", cap);
        for (int id = 0; id < PRODUCERS; id++)
            for (int seq = 0; seq < SCALED(PER_PRODUCER); seq++)
                cr_assert_eq(atomic_load(&seen[id][seq]), 1, "cap %zu: value %d/%d seen %d times",
                             cap, id, seq, atomic_load(&seen[id][seq]));
        waitgroup_destroy(&produced);
        waitgroup_destroy(&consumed);
        chan_release(c);
    }
    support_end();
}

/* Close racing with blocked senders and receivers: everything a send
 * reported as delivered is received exactly once, and everyone returns. */
static atomic_long sent_ok, recv_ok, sent_sum, recv_sum, unzeroed;

static void send_until_closed(void *arg)
{
    party_t *p = arg;
    for (long v = p->value;; v += 3) {
        if (chan_send(p->c, &v) != 0)
            break;
        atomic_fetch_add(&sent_ok, 1);
        atomic_fetch_add(&sent_sum, v);
    }
    waitgroup_done(p->wg);
}

static void recv_until_closed(void *arg)
{
    party_t *p = arg;
    long     v;
    while (chan_recv(p->c, &v) == 0) {
        atomic_fetch_add(&recv_ok, 1);
        atomic_fetch_add(&recv_sum, v);
    }
    if (v != 0) /* a receive on a closed channel zeroes its value */
        atomic_fetch_add(&unzeroed, 1);
    waitgroup_done(p->wg);
}

Test(chan, close_races_with_blocked_senders_and_receivers, .timeout = 60)
{
    support_begin();
    atomic_store(&unzeroed, 0);
    for (int round = 0; round < SCALED(300); round++) {
        atomic_store(&sent_ok, 0), atomic_store(&recv_ok, 0);
        atomic_store(&sent_sum, 0), atomic_store(&recv_sum, 0);
        chan_t     *c = chan_make(sizeof(long), (size_t)(round % 3));
        party_t     p[6];
        waitgroup_t wg;
        waitgroup_init(&wg);
        for (int i = 0; i < 6; i++) {
            p[i] = (party_t){.c = c, .value = i, .wg = &wg};
            waitgroup_add(&wg, 1);
            cr_assert_eq(go(i % 2 ? send_until_closed : recv_until_closed, &p[i]), 0);
        }
        long v;
        for (int i = 0; i < round % 5; i++) /* close after a varying amount of traffic */
            if (chan_recv(c, &v) == 0)
                atomic_fetch_add(&recv_ok, 1), atomic_fetch_add(&recv_sum, v);
        cr_assert_eq(chan_close(c), 0);
        waitgroup_wait(&wg);
        cr_assert_eq(atomic_load(&recv_ok), atomic_load(&sent_ok), "round %d", round);
        cr_assert_eq(atomic_load(&recv_sum), atomic_load(&sent_sum), "round %d", round);
        cr_assert_eq(atomic_load(&unzeroed), 0, "round %d: EPIPE left a value behind", round);
        waitgroup_destroy(&wg);
        chan_release(c);
    }
    support_end();
}

Test(chan, make_rejects_overflow_and_survives_allocation_failure, .timeout = 10)
{
    support_begin();
    errno = 0;
    cr_assert_null(chan_make(SIZE_MAX / 2, 3));
    cr_assert_eq(errno, EINVAL, "elem_size * cap overflows");

    int64_t before = alloc_live();
    int     failures = 0;
    for (int64_t n = 0; n < 16; n++) {
        alloc_fail_after(n);
        errno = 0;
        chan_t *c = chan_make(sizeof(long), 4);
        int     err = errno;
        alloc_fail_reset();
        if (c != NULL) {
            chan_release(c);
            break;
        }
        failures++;
        cr_assert_eq(err, ENOMEM);
        cr_assert_eq(alloc_live(), before, "a failed chan_make leaked (after %lld)", (long long)n);
    }
    cr_assert_gt(failures, 0, "failing the first allocation must fail chan_make");
    cr_assert_eq(alloc_live(), before);
    support_end();
}
