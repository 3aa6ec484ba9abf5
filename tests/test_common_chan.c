/*
 * test_common_chan.c - channels (common/chan.h), one behaviour at a time:
 * reference counts, bad arguments, buffered FIFO, unbuffered rendezvous,
 * close, signal channels, the arrival order of blocked parties and large
 * elements. The races under load and allocation failure are in
 * test_common_chan_races.c.
 *
 * Several tests need a thread to be really blocked inside a channel
 * operation before they go on (to prove an order, or that close wakes it).
 * Sleeping "long enough" would prove nothing, so support_wait_blocked()
 * watches the kernel instead: a thread that waits inside the core sleeps in
 * the futex system call, which /proc/self/task/TID/syscall shows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/common_chan_helpers.h"
#include "tests/support/support.h"

static void do_send(void *arg)
{
    party_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    p->rc = chan_send(p->c, &p->value);
    waitgroup_done(p->wg);
}

static void do_recv(void *arg)
{
    party_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    p->rc = chan_recv(p->c, &p->value);
    waitgroup_done(p->wg);
}

/* Starts fn(party) and waits until it is blocked in the channel. */
static void start_blocked(void (*fn)(void *), party_t *p, chan_t *c, long value, waitgroup_t *wg)
{
    *p = (party_t){.c = c, .value = value, .rc = -1, .wg = wg};
    waitgroup_add(wg, 1);
    cr_assert_eq(go(fn, p), 0);
    support_wait_blocked(&p->tid);
}

Test(chan, refcount_frees_at_last_release, .timeout = 10)
{
    support_begin();
    int64_t before = alloc_live();
    chan_t *c = chan_make(sizeof(long), 2);
    cr_assert_not_null(c);
    cr_assert_gt(alloc_live(), before, "a channel is allocated through goc_malloc");
    cr_assert_eq(chan_retain(c), c);
    chan_release(c);
    long v = 7;
    cr_assert_eq(chan_send(c, &v), 0, "still usable while one reference is left");
    cr_assert_eq(chan_recv(c, &v), 0);
    cr_assert_eq(v, 7);
    chan_release(c);
    cr_assert_eq(alloc_live(), before, "the last release frees everything");
    support_end();
}

Test(chan, null_and_bad_arguments, .timeout = 10)
{
    support_begin();
    long v = 1;
    cr_assert_eq(chan_send(NULL, &v), EINVAL);
    cr_assert_eq(chan_recv(NULL, &v), EINVAL);
    cr_assert_eq(chan_try_send(NULL, &v), EINVAL);
    cr_assert_eq(chan_try_recv(NULL, &v), EINVAL);
    cr_assert_eq(chan_close(NULL), EINVAL);
    cr_assert_eq(chan_len(NULL), 0);
    cr_assert_eq(chan_cap(NULL), 0);
    cr_assert_null(chan_retain(NULL));
    chan_release(NULL);
    chan_t *c = chan_make(sizeof v, 1);
    cr_assert_eq(chan_send(c, NULL), EINVAL, "a NULL value on a non-signal channel");
    cr_assert_eq(chan_try_send(c, NULL), EINVAL);
    cr_assert_eq(chan_len(c), 0, "a refused send changes nothing");
    chan_release(c);
    support_end();
}

Test(chan, buffered_is_fifo_across_wraparound, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(long), 5);
    cr_assert_eq(chan_cap(c), 5);
    long next_in = 0, next_out = 0, v;
    for (int round = 0; round < 7; round++) { /* fill and drain partly: the ring wraps */
        while (chan_len(c) < 5) {
            cr_assert_eq(chan_try_send(c, &next_in), 0);
            next_in++;
        }
        cr_assert_eq(chan_try_send(c, &next_in), EAGAIN, "full");
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(chan_recv(c, &v), 0);
            cr_assert_eq(v, next_out++);
        }
        cr_assert_eq(chan_len(c), 2);
    }
    while (chan_try_recv(c, &v) == 0)
        cr_assert_eq(v, next_out++);
    cr_assert_eq(next_out, next_in, "every value came out once, in order");
    cr_assert_eq(chan_try_recv(c, &v), EAGAIN, "empty");
    cr_assert_eq(chan_send(c, &v), 0);
    cr_assert_eq(chan_recv(c, NULL), 0, "a NULL destination discards the value");
    cr_assert_eq(chan_len(c), 0);
    chan_release(c);
    support_end();
}

Test(chan, unbuffered_send_waits_for_a_receiver, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(long), 0);
    long    v = 5;
    cr_assert_eq(chan_cap(c), 0);
    cr_assert_eq(chan_try_send(c, &v), EAGAIN, "nobody receives");
    cr_assert_eq(chan_try_recv(c, &v), EAGAIN, "nobody sends");

    waitgroup_t wg;
    waitgroup_init(&wg);
    party_t s;
    start_blocked(do_send, &s, c, 42, &wg);
    cr_assert_eq(s.rc, -1, "the send has not returned: nobody took the value");
    cr_assert_eq(chan_len(c), 0, "an unbuffered channel buffers nothing");
    cr_assert_eq(chan_try_recv(c, &v), 0, "a blocked sender is ready for a receiver");
    cr_assert_eq(v, 42);
    waitgroup_wait(&wg);
    cr_assert_eq(s.rc, 0);

    party_t r; /* and the other way round: a receiver waits, try_send hands over */
    start_blocked(do_recv, &r, c, -1, &wg);
    v = 43;
    cr_assert_eq(chan_try_send(c, &v), 0);
    waitgroup_wait(&wg);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.value, 43);
    waitgroup_destroy(&wg);
    chan_release(c);
    support_end();
}

Test(chan, close_keeps_values_sent_before_it, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(long), 4);
    for (long i = 1; i <= 3; i++)
        cr_assert_eq(chan_send(c, &i), 0);
    cr_assert_eq(chan_close(c), 0);
    cr_assert_eq(chan_close(c), EPIPE, "closing twice");
    long v = 9;
    cr_assert_eq(chan_send(c, &v), EPIPE);
    cr_assert_eq(chan_try_send(c, &v), EPIPE);
    cr_assert_eq(chan_len(c), 3, "a send on a closed channel delivers nothing");
    for (long i = 1; i <= 3; i++) {
        cr_assert_eq(chan_recv(c, &v), 0);
        cr_assert_eq(v, i);
    }
    v = 9;
    cr_assert_eq(chan_recv(c, &v), EPIPE);
    cr_assert_eq(v, 0, "the value of a receive on a closed channel is zeroed");
    v = 9;
    cr_assert_eq(chan_try_recv(c, &v), EPIPE);
    cr_assert_eq(v, 0);
    cr_assert_eq(chan_recv(c, NULL), EPIPE);
    chan_release(c);
    support_end();
}

/* Parks n parties of kind fn on c, closes c, and checks they all got EPIPE. */
static void close_wakes_all(chan_t *c, void (*fn)(void *), long expect_value)
{
    enum { N = 6 };
    party_t     p[N];
    waitgroup_t wg;
    waitgroup_init(&wg);
    for (int i = 0; i < N; i++)
        start_blocked(fn, &p[i], c, 100 + i, &wg);
    cr_assert_eq(chan_close(c), 0);
    waitgroup_wait(&wg);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(p[i].rc, EPIPE, "party %d was not woken with EPIPE", i);
        if (fn == do_recv)
            cr_assert_eq(p[i].value, expect_value, "receiver %d: value not zeroed", i);
    }
    waitgroup_destroy(&wg);
}

Test(chan, close_wakes_every_blocked_receiver, .timeout = 10)
{
    support_begin();
    for (size_t cap = 0; cap <= 2; cap += 2) {
        chan_t *c = chan_make(sizeof(long), cap);
        close_wakes_all(c, do_recv, 0);
        chan_release(c);
    }
    support_end();
}

Test(chan, close_wakes_every_blocked_sender, .timeout = 10)
{
    support_begin();
    for (size_t cap = 0; cap <= 2; cap += 2) {
        chan_t *c = chan_make(sizeof(long), cap);
        for (long i = 0; i < (long)cap; i++)
            cr_assert_eq(chan_send(c, &i), 0); /* fill it so that senders block */
        close_wakes_all(c, do_send, 0);
        long v;
        for (long i = 0; i < (long)cap; i++) {
            cr_assert_eq(chan_recv(c, &v), 0);
            cr_assert_eq(v, i, "only what was buffered before close comes out");
        }
        cr_assert_eq(chan_recv(c, &v), EPIPE, "no blocked sender's value was delivered");
        chan_release(c);
    }
    support_end();
}

static void recv_signal(void *arg)
{
    party_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    p->rc = chan_recv(p->c, NULL);
    waitgroup_done(p->wg);
}

Test(chan, signal_channels_and_broadcast_by_close, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(0, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(chan_try_send(c, NULL), 0);
    cr_assert_eq(chan_len(c), 3, "zero-size values are still counted");
    cr_assert_eq(chan_try_send(c, NULL), EAGAIN);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(chan_recv(c, NULL), 0);
    cr_assert_eq(chan_try_recv(c, NULL), EAGAIN);
    chan_release(c);

    c = chan_make(0, 0); /* unbuffered signal: rendezvous with no data */
    waitgroup_t wg;
    waitgroup_init(&wg);
    party_t r[5];
    start_blocked(recv_signal, &r[0], c, 0, &wg);
    cr_assert_eq(chan_send(c, NULL), 0);
    waitgroup_wait(&wg);
    cr_assert_eq(r[0].rc, 0);

    for (int i = 0; i < 5; i++) /* broadcast: one close releases every waiter */
        start_blocked(recv_signal, &r[i], c, 0, &wg);
    cr_assert_eq(chan_close(c), 0);
    waitgroup_wait(&wg);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(r[i].rc, EPIPE);
    cr_assert_eq(chan_recv(c, NULL), EPIPE, "and every later receiver, at once");
    waitgroup_destroy(&wg);
    chan_release(c);
    support_end();
}

Test(chan, blocked_senders_are_served_in_arrival_order, .timeout = 10)
{
    support_begin();
    for (size_t cap = 0; cap <= 1; cap++) {
        chan_t *c = chan_make(sizeof(long), cap);
        long    v = 0;
        if (cap)
            cr_assert_eq(chan_send(c, &v), 0);
        enum { N = 5 };
        party_t     s[N];
        waitgroup_t wg;
        waitgroup_init(&wg);
        for (int i = 0; i < N; i++) /* each one blocked before the next one starts */
            start_blocked(do_send, &s[i], c, i + 1, &wg);
        for (long want = cap ? 0 : 1; want <= N; want++) {
            cr_assert_eq(chan_recv(c, &v), 0);
            cr_assert_eq(v, want, "cap %zu: values must come in the senders' arrival order", cap);
        }
        waitgroup_wait(&wg);
        waitgroup_destroy(&wg);
        chan_release(c);
    }
    support_end();
}

Test(chan, blocked_receivers_are_served_in_arrival_order, .timeout = 10)
{
    support_begin();
    for (size_t cap = 0; cap <= 2; cap += 2) {
        chan_t *c = chan_make(sizeof(long), cap);
        enum { N = 5 };
        party_t     r[N];
        waitgroup_t wg;
        waitgroup_init(&wg);
        for (int i = 0; i < N; i++)
            start_blocked(do_recv, &r[i], c, -1, &wg);
        for (long i = 0; i < N; i++)
            cr_assert_eq(chan_send(c, &i), 0);
        waitgroup_wait(&wg);
        for (int i = 0; i < N; i++)
            cr_assert_eq(r[i].value, i, "cap %zu: receiver %d got another's value", cap, i);
        waitgroup_destroy(&wg);
        chan_release(c);
    }
    support_end();
}

typedef struct {
    unsigned char bytes[1024];
} big_t;

static void send_big(void *arg)
{
    chan_t *c = arg;
    big_t   b;
    for (int i = 0; i < 1024; i++)
        b.bytes[i] = (unsigned char)(i * 7 + 3);
    chan_send(c, &b);
    chan_release(c);
}

Test(chan, large_elements_are_copied_whole, .timeout = 10)
{
    support_begin();
    for (size_t cap = 0; cap <= 3; cap += 3) {
        chan_t *c = chan_make(sizeof(big_t), cap);
        cr_assert_eq(go(send_big, chan_retain(c)), 0);
        big_t b;
        memset(&b, 0, sizeof b);
        cr_assert_eq(chan_recv(c, &b), 0);
        for (int i = 0; i < 1024; i++)
            cr_assert_eq(b.bytes[i], (unsigned char)(i * 7 + 3), "cap %zu, byte %d", cap, i);
        chan_release(c);
    }
    support_end();
}
