/*
 * test_common_select_races.c - chan_select (common/chan.h) under threads:
 * with feeders and drains on four channels it never completes two cases
 * (every value moved exactly once); threads sending to and receiving from
 * one buffered channel in the same select lose or double nothing; and a
 * select racing with close and a sender tells the truth about where the
 * value went. The single-threaded semantics are in test_common_select.c.
 *
 * The rounds are SCALED: a tenth under valgrind (common_chan_helpers.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/common_select_helpers.h"
#include "tests/support/support.h"

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
