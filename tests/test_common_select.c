/*
 * test_common_select.c - chan_select and chan_try_select (common/chan.h),
 * one thing at a time: readiness, blocking, NULL and closed channels,
 * uniform random choice (ready or waiting), never matching itself, clean-up
 * of the queues it waited in, a close seen while waiting, large case counts
 * and invalid arguments. The multi-threaded races are in
 * test_common_select_races.c.
 *
 * As in test_common_chan.c, support_wait_blocked() proves a thread is really
 * asleep inside the core (in the futex system call) before a test goes on;
 * a goroutine that waits again after being woken is asked instead
 * (support_wait_asleep_at), since under M:N it may have moved worker.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/goroutine.h"
#include "common/sync.h"
#include "tests/common_select_helpers.h"
#include "tests/support/support.h"

/* Fails unless counts[0..k) look like `rounds` uniform draws: each within
 * 15% of its share (over 6 standard deviations here) and a chi-square far
 * below what a biased choice gives. */
static void assert_uniform(const long *counts, int k, long rounds, const char *what)
{
    double expected = (double)rounds / k, chi2 = 0;
    for (int i = 0; i < k; i++) {
        double d = (double)counts[i] - expected;
        chi2 += d * d / expected;
        cr_assert(counts[i] > 0.85 * expected && counts[i] < 1.15 * expected,
                  "%s: case %d chosen %ld times of %ld (expected about %.0f)", what, i, counts[i],
                  rounds, expected);
    }
    cr_assert_lt(chi2, 40.0, "%s: chi-square %.1f over %d cases", what, chi2, k);
}

Test(select, picks_the_ready_case, .timeout = 10)
{
    support_begin();
    chan_t *a = chan_make(sizeof(int), 1), *b = chan_make(sizeof(int), 1);
    int     v = 5, x = -1, y = -1;
    cr_assert_eq(chan_send(a, &v), 0);
    chan_case_t recv2[] = {chan_case_recv(b, &y), chan_case_recv(a, &x)};
    cr_assert_eq(chan_select(recv2, 2), 1);
    cr_assert_eq(recv2[1].err, 0);
    cr_assert_eq(x, 5);
    cr_assert_eq(y, -1, "the other case's destination is untouched");

    cr_assert_eq(chan_send(a, &v), 0); /* a full, b empty: only sending to b can proceed */
    v = 6;
    chan_case_t send2[] = {chan_case_send(a, &v), chan_case_send(b, &v)};
    cr_assert_eq(chan_try_select(send2, 2), 1);
    cr_assert_eq(chan_recv(b, &y), 0);
    cr_assert_eq(y, 6);
    cr_assert_eq(chan_len(a), 1, "nothing more was sent to a");
    chan_release(a), chan_release(b);
    support_end();
}

Test(select, blocks_until_a_case_is_ready, .timeout = 10)
{
    support_begin();
    chan_t     *a = chan_make(sizeof(int), 0), *b = chan_make(sizeof(int), 0);
    int         out = 11, in = -1, v;
    chan_case_t cases[] = {chan_case_send(a, &out), chan_case_recv(b, &in)};
    selector_t  s;
    start_select(&s, cases, 2, 1);
    cr_assert_eq(chan_recv(a, &v), 0, "a receiver completes the waiting send case");
    cr_assert_eq(finish_select(&s), 0);
    cr_assert_eq(v, 11);
    cr_assert_eq(in, -1);

    start_select(&s, cases, 2, 1);
    v = 22;
    cr_assert_eq(chan_send(b, &v), 0, "a sender completes the waiting receive case");
    cr_assert_eq(finish_select(&s), 1);
    cr_assert_eq(cases[1].err, 0);
    cr_assert_eq(in, 22);
    chan_release(a), chan_release(b);
    support_end();
}

Test(select, null_channels_are_never_ready, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(int), 1);
    int     v = 1, x;
    for (int round = 0; round < 200; round++) {
        cr_assert_eq(chan_send(c, &v), 0);
        chan_case_t cases[] = {chan_case_recv(NULL, &x), chan_case_send(NULL, &v),
                               chan_case_recv(c, &x)};
        cr_assert_eq(chan_select(cases, 3), 2);
    }
    chan_case_t none[] = {chan_case_recv(NULL, &x), chan_case_send(NULL, &v)};
    errno = 0;
    cr_assert_eq(chan_try_select(none, 2), -1);
    cr_assert_eq(errno, EAGAIN);
    chan_release(c);
    support_end();
}

Test(select, try_select_returns_at_once_when_nothing_is_ready, .timeout = 10)
{
    support_begin();
    chan_t *full = chan_make(sizeof(int), 1), *empty = chan_make(sizeof(int), 1);
    chan_t *unbuf = chan_make(sizeof(int), 0);
    int     v = 3, x = -1;
    cr_assert_eq(chan_send(full, &v), 0);
    chan_case_t cases[] = {chan_case_send(full, &v), chan_case_recv(empty, &x),
                           chan_case_send(unbuf, &v), chan_case_recv(unbuf, &x)};
    errno = 0;
    cr_assert_eq(chan_try_select(cases, 4), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(chan_len(full), 1, "nothing changed");
    cr_assert_eq(x, -1);
    errno = 0;
    cr_assert_eq(chan_try_select(cases, 0), -1, "no case at all");
    cr_assert_eq(errno, EAGAIN);
    chan_release(full), chan_release(empty), chan_release(unbuf);
    support_end();
}

Test(select, closed_channel_cases_proceed_with_epipe, .timeout = 10)
{
    support_begin();
    chan_t *idle = chan_make(sizeof(int), 0), *closed = chan_make(sizeof(int), 0);
    cr_assert_eq(chan_close(closed), 0);
    int         x = 99, v = 1;
    chan_case_t r[] = {chan_case_recv(idle, NULL), chan_case_recv(closed, &x)};
    cr_assert_eq(chan_select(r, 2), 1, "a closed channel is always ready");
    cr_assert_eq(r[1].err, EPIPE);
    cr_assert_eq(x, 0, "and a receive from it stores the zero value");
    chan_case_t s[] = {chan_case_send(closed, &v), chan_case_recv(idle, NULL)};
    cr_assert_eq(chan_try_select(s, 2), 0);
    cr_assert_eq(s[0].err, EPIPE);
    chan_release(idle), chan_release(closed);
    support_end();
}

Test(select, chooses_uniformly_among_ready_cases, .timeout = 20)
{
    support_begin();
    enum { ROUNDS = 20000 };
    for (int k = 2; k <= 4; k += 2) {
        chan_t     *c[4];
        chan_case_t cases[4];
        long        counts[4] = {0};
        int         v = 0;
        for (int i = 0; i < k; i++) {
            c[i] = chan_make(sizeof(int), 1);
            cr_assert_eq(chan_send(c[i], &v), 0);
            cases[i] = chan_case_recv(c[i], NULL);
        }
        for (long round = 0; round < ROUNDS; round++) {
            int i = chan_select(cases, (size_t)k);
            cr_assert(i >= 0 && i < k);
            counts[i]++;
            cr_assert_eq(chan_try_send(c[i], &v), 0); /* make it ready again */
        }
        assert_uniform(counts, k, ROUNDS, k == 2 ? "2 channels" : "4 channels");
        for (int i = 0; i < k; i++)
            chan_release(c[i]);
    }

    chan_t     *one = chan_make(sizeof(int), 4); /* four cases, all on one channel */
    chan_case_t same[4];
    long        counts[4] = {0};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(chan_send(one, &i), 0);
        same[i] = chan_case_recv(one, NULL);
    }
    for (long round = 0; round < ROUNDS; round++) {
        counts[chan_select(same, 4)]++;
        cr_assert_eq(chan_try_send(one, &round), 0);
    }
    assert_uniform(counts, 4, ROUNDS, "4 cases on one channel");
    chan_release(one);
    support_end();
}

/* The selector of the next test: `rounds` selects over two receive cases on
 * one unbuffered channel, reporting each choice on `ack` (cap 1, so that
 * reporting never blocks: when it sleeps, it sleeps in the select). */
typedef struct {
    chan_t                *c, *ack;
    int                    rounds;
    _Atomic(goroutine_t *) record; /* go_self(), for support_wait_asleep_at */
} waiting_chooser_t;

static void waiting_chooser(void *arg)
{
    waiting_chooser_t *w = arg;
    chan_t            *c = chan_retain(w->c), *ack = chan_retain(w->ack);
    atomic_store(&w->record, go_self());
    chan_case_t cases[] = {chan_case_recv(c, NULL), chan_case_recv(c, NULL)};
    for (int i = 0; i < w->rounds; i++) {
        int chosen = chan_select(cases, 2);
        chan_send(ack, &chosen);
    }
    chan_release(c), chan_release(ack);
}

Test(select, a_waiting_select_also_chooses_at_random, .timeout = 30)
{
    support_begin();
    enum { ROUNDS = 2000 };
    waiting_chooser_t w = {chan_make(sizeof(int), 0), chan_make(sizeof(int), 1), ROUNDS, NULL};
    long              counts[2] = {0};
    int               v = 0, chosen;
    cr_assert_eq(go(waiting_chooser, &w), 0);
    for (int round = 0; round < ROUNDS; round++) {
        /* It sleeps with both cases queued on one channel. Asked of the
         * goroutine: after its first round it may run on any worker. */
        support_wait_asleep_at(&w.record);
        cr_assert_eq(chan_send(w.c, &v), 0);
        cr_assert_eq(chan_recv(w.ack, &chosen), 0);
        counts[chosen]++;
    }
    assert_uniform(counts, 2, ROUNDS, "2 waiting cases on one channel");
    chan_release(w.c), chan_release(w.ack);
    support_end();
}

Test(select, never_rendezvous_with_itself, .timeout = 10)
{
    support_begin();
    chan_t     *c = chan_make(sizeof(int), 0);
    int         v = 8, x = -1, y;
    chan_case_t cases[] = {chan_case_send(c, &v), chan_case_recv(c, &x)};
    errno = 0;
    cr_assert_eq(chan_try_select(cases, 2), -1, "its own send must not feed its own receive");
    cr_assert_eq(errno, EAGAIN);

    selector_t s;
    start_select(&s, cases, 2, 1); /* asleep: it did not match itself */
    cr_assert_eq(chan_recv(c, &y), 0);
    cr_assert_eq(finish_select(&s), 0);
    cr_assert_eq(y, 8);
    cr_assert_eq(x, -1);
    start_select(&s, cases, 2, 1);
    y = 9;
    cr_assert_eq(chan_send(c, &y), 0);
    cr_assert_eq(finish_select(&s), 1);
    cr_assert_eq(x, 9);
    chan_release(c);
    support_end();
}

Test(select, leaves_no_waiter_behind_in_other_channels, .timeout = 20)
{
    support_begin();
    chan_t *ch[2] = {chan_make(sizeof(int), 0), chan_make(sizeof(int), 0)};
    int     v = 1, x;
    for (int round = 0; round < 40; round++) {
        int         fire = round % 2, other = 1 - fire;
        int         op = round % 4 < 2 ? CHAN_RECV : CHAN_SEND;
        void       *elem = op == CHAN_RECV ? (void *)&x : (void *)&v;
        chan_case_t cases[] = {{ch[0], op, elem, 0}, {ch[1], op, elem, 0}};
        selector_t  s;
        start_select(&s, cases, 2, 1);
        if (op == CHAN_RECV)
            cr_assert_eq(chan_send(ch[fire], &v), 0);
        else
            cr_assert_eq(chan_recv(ch[fire], &x), 0);
        cr_assert_eq(finish_select(&s), fire);
        cr_assert_eq(chan_try_send(ch[other], &v), EAGAIN, "round %d: a stale select waiter",
                     round);
        cr_assert_eq(chan_try_recv(ch[other], &x), EAGAIN, "round %d: a stale select waiter",
                     round);
    }
    chan_release(ch[0]), chan_release(ch[1]);
    support_end();
}

Test(select, a_waiting_select_sees_close, .timeout = 10)
{
    support_begin();
    chan_t     *a = chan_make(sizeof(int), 0), *b = chan_make(sizeof(int), 0);
    int         x = 5, v = 6;
    chan_case_t cases[] = {chan_case_recv(a, &x), chan_case_send(b, &v)};
    selector_t  s;
    start_select(&s, cases, 2, 1);
    cr_assert_eq(chan_close(a), 0);
    cr_assert_eq(finish_select(&s), 0);
    cr_assert_eq(cases[0].err, EPIPE);
    cr_assert_eq(x, 0);

    chan_case_t send_only[] = {chan_case_send(b, &v)};
    start_select(&s, send_only, 1, 1);
    cr_assert_eq(chan_close(b), 0);
    cr_assert_eq(finish_select(&s), 0);
    cr_assert_eq(send_only[0].err, EPIPE);
    cr_assert_eq(chan_recv(b, &x), EPIPE, "the waiting send delivered nothing");
    chan_release(a), chan_release(b);
    support_end();
}

static void recv_one(void *arg)
{
    selector_t *s = arg; /* reuses its fields: cases[0].elem is the destination */
    atomic_store(&s->tid, (int)gettid());
    s->result = chan_recv(s->cases[0].chan, s->cases[0].elem);
    waitgroup_done(&s->wg);
}

Test(select, a_send_case_hands_the_value_to_a_waiting_receiver, .timeout = 10)
{
    support_begin();
    chan_t     *c = chan_make(sizeof(int), 0);
    int         got = -1, v = 31;
    chan_case_t slot = chan_case_recv(c, &got);
    selector_t  r = {.cases = &slot};
    waitgroup_init(&r.wg);
    waitgroup_add(&r.wg, 1);
    cr_assert_eq(go(recv_one, &r), 0);
    support_wait_blocked(&r.tid);
    chan_case_t send[] = {chan_case_send(c, &v)};
    cr_assert_eq(chan_try_select(send, 1), 0, "a waiting receiver makes the send ready");
    cr_assert_eq(finish_select(&r), 0);
    cr_assert_eq(got, 31);
    chan_release(c);
    support_end();
}

Test(select, a_hundred_cases, .timeout = 20)
{
    support_begin();
    enum { K = 100 };
    chan_t     *ch[K];
    chan_case_t cases[K];
    int         v = 4, x = -1;
    for (int i = 0; i < K; i++) {
        ch[i] = chan_make(sizeof(int), 1);
        cases[i] = chan_case_recv(ch[i], &x);
    }
    cr_assert_eq(chan_send(ch[73], &v), 0);
    cr_assert_eq(chan_select(cases, K), 73);
    cr_assert_eq(x, 4);

    long counts[K] = {0}; /* all ready: every case gets its turn */
    for (int i = 0; i < K; i++)
        cr_assert_eq(chan_send(ch[i], &i), 0);
    for (int round = 0; round < 5000; round++) {
        int i = chan_select(cases, K);
        cr_assert_eq(x, i, "case %d received another channel's value", i);
        counts[i]++;
        cr_assert_eq(chan_send(ch[i], &i), 0);
    }
    for (int i = 0; i < K; i++)
        cr_assert_gt(counts[i], 0, "case %d of %d never chosen in 5000 rounds", i, K);
    for (int i = 0; i < K; i++)
        chan_recv(ch[i], NULL);

    size_t     goroutines = go_count();
    int64_t    live = alloc_live();
    selector_t s; /* blocking over 100 channels, woken by the 57th */
    start_select(&s, cases, K, 1);
    v = 57;
    cr_assert_eq(chan_send(ch[57], &v), 0);
    cr_assert_eq(finish_select(&s), 57);
    support_settle(goroutines, live); /* its record is freed a moment after it finished */
    for (int i = 0; i < K; i++)
        cr_assert_eq(chan_try_recv(ch[i], &x), EAGAIN, "channel %d", i);

    int64_t before = alloc_live(); /* a failed allocation fails cleanly, if one is needed */
    cr_assert_eq(chan_send(ch[9], &v), 0);
    alloc_fail_after(0);
    errno = 0;
    int rc = chan_try_select(cases, K), err = errno;
    alloc_fail_reset();
    if (rc == -1)
        cr_assert(err == ENOMEM && chan_len(ch[9]) == 1, "-1 must mean ENOMEM, nothing done");
    else
        cr_assert_eq(rc, 9);
    cr_assert_eq(alloc_live(), before);
    for (int i = 0; i < K; i++)
        chan_release(ch[i]);
    support_end();
}

Test(select, invalid_arguments, .timeout = 10)
{
    support_begin();
    chan_t *c = chan_make(sizeof(int), 1);
    int     v = 1;
    cr_assert_eq(chan_send(c, &v), 0);
    errno = 0;
    cr_assert_eq(chan_select(NULL, 1), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(chan_try_select(NULL, 2), -1);
    cr_assert_eq(errno, EINVAL);
    chan_case_t bad[] = {chan_case_recv(c, NULL), {c, (chan_op_t)7, &v, 0}};
    errno = 0;
    cr_assert_eq(chan_select(bad, 2), -1, "an unknown op");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(chan_len(c), 1, "a refused select does nothing, not even its valid cases");
    chan_release(c);
    support_end();
}
