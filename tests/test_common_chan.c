/*
 * test_common_chan.c - channels (common/chan.h): reference counts, buffered
 * FIFO, unbuffered rendezvous, close, signal channels, the arrival order of
 * blocked parties, and races under load.
 *
 * Several tests need a thread to be really blocked inside a channel
 * operation before they go on (to prove an order, or that close wakes it).
 * Sleeping "long enough" would prove nothing, so support_wait_blocked() watches the
 * kernel instead: a thread that waits inside the core sleeps in the futex
 * system call, which /proc/self/task/TID/syscall shows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/support/support.h"

/* Valgrind runs one thread at a time and makes every hand-off between
 * threads cost about a millisecond: the stress tests do a tenth of their
 * rounds there (make check-valgrind), and the full count everywhere else. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#define SCALED(n) (RUNNING_ON_VALGRIND ? (n) / 10 : (n))

/* Waits (10 s at most) until the thread whose id will appear in *tid sleeps
 * in the kernel on a futex, that is, has blocked inside the core. The same
 * futex wait must show on three polls in a row, so that a moment's wait for
 * some internal lock (of a sanitizer's runtime, say) is not taken for it. */
/* One goroutine doing one send or receive, and what came of it. */
typedef struct {
    chan_t      *c;
    long         value; /* sent, or received */
    int          rc;
    atomic_int   tid;
    waitgroup_t *wg;
} party_t;

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
