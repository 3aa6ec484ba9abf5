/*
 * test_common_select.c - chan_select and chan_try_select (common/chan.h):
 * readiness, blocking, NULL and closed channels, uniform random choice,
 * atomicity (never two cases, never with itself), clean-up of the queues it
 * waited in, and large case counts.
 *
 * As in test_common_chan.c, support_wait_blocked() proves a thread is really asleep
 * inside the core (in the futex system call) before a test goes on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
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
/* A goroutine running one chan_select over `cases`. */
typedef struct {
    chan_case_t *cases;
    size_t       n;
    int          result;
    atomic_int   tid;
    waitgroup_t  wg;
} selector_t;

static void do_select(void *arg)
{
    selector_t *s = arg;
    atomic_store(&s->tid, (int)gettid());
    s->result = chan_select(s->cases, s->n);
    waitgroup_done(&s->wg);
}

/* Starts a selector; with `blocked`, returns once it waits in the select. */
static void start_select(selector_t *s, chan_case_t *cases, size_t n, int blocked)
{
    s->cases = cases, s->n = n, s->result = -2;
    atomic_store(&s->tid, 0);
    waitgroup_init(&s->wg);
    waitgroup_add(&s->wg, 1);
    cr_assert_eq(go(do_select, s), 0);
    if (blocked)
        support_wait_blocked(&s->tid);
}

static int finish_select(selector_t *s)
{
    waitgroup_wait(&s->wg);
    waitgroup_destroy(&s->wg);
    return s->result;
}

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
    chan_t    *c, *ack;
    int        rounds;
    atomic_int tid;
} waiting_chooser_t;

static void waiting_chooser(void *arg)
{
    waiting_chooser_t *w = arg;
    chan_t            *c = chan_retain(w->c), *ack = chan_retain(w->ack);
    atomic_store(&w->tid, (int)gettid());
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
    waiting_chooser_t w = {chan_make(sizeof(int), 0), chan_make(sizeof(int), 1), ROUNDS, 0};
    long              counts[2] = {0};
    int               v = 0, chosen;
    cr_assert_eq(go(waiting_chooser, &w), 0);
    for (int round = 0; round < ROUNDS; round++) {
        support_wait_blocked(&w.tid); /* it sleeps with both cases queued on one channel */
        cr_assert_eq(chan_send(w.c, &v), 0);
        cr_assert_eq(chan_recv(w.ack, &chosen), 0);
        counts[chosen]++;
    }
    assert_uniform(counts, 2, ROUNDS, "2 waiting cases on one channel");
    chan_release(w.c), chan_release(w.ack);
    support_end();
}

/* Never two cases: feeders send 0..2N-1 on a and b, drains receive from c
 * and d; the select mixes all four, and every value must be moved once. */
enum { N = 10000, MAX_OUT = 4 * N };
static atomic_uchar seen_out[MAX_OUT];

typedef struct {
    chan_t      *c;
    int          first;
    waitgroup_t *wg;
} feed_t;

static void feeder(void *arg)
{
    feed_t *f = arg;
    for (int v = f->first; v < f->first + SCALED(N); v++)
        chan_send(f->c, &v);
    waitgroup_done(f->wg);
}

static void drain(void *arg)
{
    feed_t *f = arg;
    int     v;
    while (chan_recv(f->c, &v) == 0)
        if (v >= 0 && v < MAX_OUT)
            atomic_fetch_add(&seen_out[v], 1);
    waitgroup_done(f->wg);
}

Test(select, never_completes_two_cases, .timeout = 60)
{
    support_begin();
    for (int i = 0; i < MAX_OUT; i++)
        atomic_store(&seen_out[i], 0);
    static unsigned char seen_in[2 * N];
    memset(seen_in, 0, sizeof seen_in);
    chan_t     *a = chan_make(sizeof(int), 0), *b = chan_make(sizeof(int), 0);
    chan_t     *c = chan_make(sizeof(int), 0), *d = chan_make(sizeof(int), 0);
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 4);
    feed_t fa = {a, 0, &wg}, fb = {b, SCALED(N), &wg}, dc = {c, 0, &wg}, dd = {d, 0, &wg};
    cr_assert_eq(go(feeder, &fa), 0);
    cr_assert_eq(go(feeder, &fb), 0);
    cr_assert_eq(go(drain, &dc), 0);
    cr_assert_eq(go(drain, &dd), 0);
    int received = 0, next_out = 0;
    while (received < 2 * SCALED(N)) {
        int         va = -1, vb = -1;
        chan_case_t cases[] = {chan_case_recv(a, &va), chan_case_recv(b, &vb),
                               chan_case_send(next_out < MAX_OUT ? c : NULL, &next_out),
                               chan_case_send(next_out < MAX_OUT ? d : NULL, &next_out)};
        int         i = chan_select(cases, 4);
        cr_assert_eq(cases[i].err, 0);
        if (i >= 2) {
            next_out++;
            cr_assert(va == -1 && vb == -1, "a send case also received");
            continue;
        }
        int got = i == 0 ? va : vb, other = i == 0 ? vb : va;
        cr_assert_eq(other, -1, "both receive cases completed");
        cr_assert(got >= (i == 0 ? 0 : SCALED(N)) && got < (i == 0 ? 1 : 2) * SCALED(N),
                  "value %d on case %d", got, i);
        cr_assert_eq(seen_in[got], 0, "value %d received twice", got);
        seen_in[got] = 1;
        received++;
    }
    chan_close(c), chan_close(d);
    waitgroup_wait(&wg); /* the drains have counted everything */
    waitgroup_destroy(&wg);
    for (int v = 0; v < MAX_OUT; v++)
        cr_assert_eq(atomic_load(&seen_out[v]), v < next_out, "sent value %d arrived %d times", v,
                     atomic_load(&seen_out[v]));
    chan_release(a), chan_release(b), chan_release(c), chan_release(d);
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

/* Threads that each send to and receive from one buffered channel in the
 * same select: whatever the interleaving, a select completes one case, so
 * every value sent is received exactly once. (stress/select_storm once
 * caught a select that received on its recheck and then moved its own
 * waiting send into the room it had made: one value sent twice.) */
enum { SELF_THREADS = 4, SELF_ROUNDS = 3000 };
static atomic_uchar self_seen[SELF_THREADS][SELF_ROUNDS];

typedef struct {
    chan_t      *c;
    int          id, sent;
    waitgroup_t *wg;
} self_mixer_t;

static void mix_with_self(void *arg)
{
    self_mixer_t *m = arg;
    for (int round = 0; round < SCALED(SELF_ROUNDS); round++) {
        /* Each case several times over: more ways for the passes to meet. */
        int         out = m->id << 16 | m->sent, in = -1;
        chan_case_t cases[8];
        for (int i = 0; i < 8; i += 2) {
            cases[i] = chan_case_send(m->c, &out);
            cases[i + 1] = chan_case_recv(m->c, &in);
        }
        int k = chan_select(cases, 8);
        if (k % 2 == 0) {
            cr_assert_eq(in, -1, "the send case also received");
            m->sent++;
        } else {
            cr_assert(in >> 16 < SELF_THREADS && (in & 0xffff) < SELF_ROUNDS, "got %#x", in);
            atomic_fetch_add(&self_seen[in >> 16][in & 0xffff], 1);
        }
    }
    waitgroup_done(m->wg);
}

Test(select, sending_and_receiving_on_one_buffered_channel, .timeout = 60)
{
    support_begin();
    for (size_t cap = 1; cap <= 2; cap++) {
        memset(self_seen, 0, sizeof self_seen);
        chan_t      *c = chan_make(sizeof(int), cap);
        self_mixer_t m[SELF_THREADS];
        waitgroup_t  wg;
        waitgroup_init(&wg);
        waitgroup_add(&wg, SELF_THREADS);
        for (int i = 0; i < SELF_THREADS; i++) {
            m[i] = (self_mixer_t){c, i, 0, &wg};
            cr_assert_eq(go(mix_with_self, &m[i]), 0);
        }
        waitgroup_wait(&wg);
        waitgroup_destroy(&wg);
        for (int v; chan_try_recv(c, &v) == 0;) /* what is still buffered */
            atomic_fetch_add(&self_seen[v >> 16][v & 0xffff], 1);
        for (int i = 0; i < SELF_THREADS; i++)
            for (int seq = 0; seq < SELF_ROUNDS; seq++)
                cr_assert_eq(atomic_load(&self_seen[i][seq]), seq < m[i].sent,
                             "cap %zu: value %d of thread %d received %d times (it sent %d)", cap,
                             seq, i, atomic_load(&self_seen[i][seq]), m[i].sent);
        chan_release(c);
    }
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

typedef struct {
    chan_t     *c;
    int         rc;
    waitgroup_t wg;
} sender_t;

static void send_seven(void *arg)
{
    sender_t *s = arg;
    int       v = 7;
    s->rc = chan_send(s->c, &v);
    waitgroup_done(&s->wg);
}

Test(select, races_with_close_and_a_sender, .timeout = 60)
{
    support_begin();
    for (int round = 0; round < SCALED(300); round++) {
        chan_t     *a = chan_make(sizeof(int), (size_t)round % 2), *b = chan_make(sizeof(int), 0);
        sender_t    sender = {.c = a, .rc = -1};
        int         x = -1, y = -1;
        chan_case_t cases[] = {chan_case_recv(a, &x), chan_case_recv(b, &y)};
        selector_t  s;
        waitgroup_init(&sender.wg);
        waitgroup_add(&sender.wg, 1);
        start_select(&s, cases, 2, 0);
        cr_assert_eq(go(send_seven, &sender), 0);
        chan_close(round % 3 ? b : a), chan_close(round % 3 ? a : b);
        int i = finish_select(&s);
        waitgroup_wait(&sender.wg);
        waitgroup_destroy(&sender.wg);
        cr_assert(i == 0 || i == 1);
        int delivered = i == 0 && cases[0].err == 0;
        if (delivered)
            cr_assert_eq(x, 7, "round %d", round);
        else
            cr_assert(cases[i].err == EPIPE && (i == 0 ? x : y) == 0, "round %d", round);
        /* The value went somewhere exactly when the send succeeded. */
        int in_buffer = chan_try_recv(a, &y) == 0;
        cr_assert_eq(sender.rc == 0, delivered || in_buffer, "round %d: sender %d", round,
                     sender.rc);
        chan_release(a), chan_release(b);
    }
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

    selector_t s; /* blocking over 100 channels, woken by the 57th */
    start_select(&s, cases, K, 1);
    v = 57;
    cr_assert_eq(chan_send(ch[57], &v), 0);
    cr_assert_eq(finish_select(&s), 57);
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
