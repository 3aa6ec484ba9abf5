/*
 * wl_chan.c - the channel workloads: buf_spsc, buf_mpmc, unbuf_pingpong,
 * select2 (shapes in bench/README.md).
 *
 * Where a workload has a natural "last" party (the consumer, the player who
 * receives the final pong) the main thread plays it, so the clock stops at
 * the last operation itself rather than at a join.
 */
#include <errno.h>
#include <stdio.h>

#include "bench/bench.h"
#include "common/timer.h"

/* ------------------------------------------------------------ buf_spsc */

typedef struct {
    bench_crew_t *crew;
    chan_t       *out;
    int64_t       first, count; /* sends first, first+1, ... count values */
    int           err;          /* first failed send, 0 if none */
} sender_t;

/* Sends its range of values on out. It does not close out: its caller's
 * rule decides who does. */
static void send_range(sender_t *s)
{
    for (int64_t i = 0; i < s->count; i++) {
        int value = (int)(s->first + i);
        int rc = chan_send(s->out, &value);
        if (rc != 0) {
            s->err = rc;
            return;
        }
    }
}

static void spsc_producer(void *arg)
{
    sender_t *s = arg;
    if (crew_wait_start(s->crew)) {
        send_range(s);
        chan_close(s->out);
    }
    crew_leave(s->crew);
}

int wl_buf_spsc(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("buf_spsc", ENOMEM, "out of memory");
    chan_t  *ch = chan_make(sizeof(int), 1024);
    sender_t producer = {&crew, ch, 0, n, 0};
    if (ch == NULL || crew_go(&crew, "producer", spsc_producer, &producer) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        chan_release(ch);
        return bench_fail("buf_spsc", ENOMEM, "cannot make the channel or the producer");
    }

    int64_t t0 = crew_start(&crew);
    int64_t expected = 0;
    int     value;
    bool    in_order = true;
    while (chan_recv(ch, &value) == 0) {
        in_order &= value == (int)expected;
        expected++;
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);
    chan_release(ch);

    *elapsed_ns = t1 - t0;
    if (!in_order || expected != n || producer.err != 0)
        return bench_fail("buf_spsc", EPROTO, "received %lld of %lld values (in order: %s)",
                          (long long)expected, (long long)n, in_order ? "yes" : "no");
    return 0;
}

/* ------------------------------------------------------------ buf_mpmc */

enum { MPMC_PRODUCERS = 4, MPMC_CONSUMERS = 4 };

typedef struct {
    sender_t    sender;
    atomic_int *producers_left; /* the producer that brings it to 0 closes */
} mpmc_producer_t;

typedef struct {
    bench_crew_t *crew;
    chan_t       *in;
    int64_t       received;
    int64_t       sum;
} counter_t;

static void mpmc_producer(void *arg)
{
    mpmc_producer_t *p = arg;
    if (crew_wait_start(p->sender.crew)) {
        send_range(&p->sender);
        if (atomic_fetch_sub(p->producers_left, 1) == 1)
            chan_close(p->sender.out);
    }
    crew_leave(p->sender.crew);
}

/* Counts in locals and stores once at the end, as the Go version does:
 * the consumers' counters sit side by side in the caller's array, and
 * writing them on every item would make consumers on different workers
 * fight over one cache line (it made this workload 2 to 4 times slower,
 * depending on where the array fell). */
static void count_until_closed(void *arg)
{
    counter_t *c = arg;
    int64_t    received = 0, sum = 0;
    if (crew_wait_start(c->crew)) {
        int value;
        while (chan_recv(c->in, &value) == 0) {
            received++;
            sum += value;
        }
    }
    c->received = received;
    c->sum = sum;
    crew_leave(c->crew);
}

int wl_buf_mpmc(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("buf_mpmc", ENOMEM, "out of memory");
    chan_t         *ch = chan_make(sizeof(int), 1024);
    atomic_int      producers_left = MPMC_PRODUCERS;
    mpmc_producer_t producers[MPMC_PRODUCERS];
    counter_t       consumers[MPMC_CONSUMERS];
    int             rc = ch == NULL ? ENOMEM : 0;
    int64_t         next = 0;
    for (int i = 0; i < MPMC_PRODUCERS && rc == 0; i++) {
        int64_t share = n / MPMC_PRODUCERS + (i < n % MPMC_PRODUCERS);
        producers[i] = (mpmc_producer_t){{&crew, ch, next, share, 0}, &producers_left};
        next += share;
        char name[32];
        snprintf(name, sizeof name, "producer %d", i);
        rc = crew_go(&crew, name, mpmc_producer, &producers[i]);
    }
    for (int i = 0; i < MPMC_CONSUMERS && rc == 0; i++) {
        consumers[i] = (counter_t){&crew, ch, 0, 0};
        char name[32];
        snprintf(name, sizeof name, "consumer %d", i);
        rc = crew_go(&crew, name, count_until_closed, &consumers[i]);
    }
    if (rc != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        chan_release(ch);
        return bench_fail("buf_mpmc", rc, "cannot set up the channel and threads");
    }

    int64_t t0 = crew_start(&crew);
    int64_t t1 = crew_join(&crew);
    crew_destroy(&crew);
    chan_release(ch);

    *elapsed_ns = t1 - t0;
    int64_t received = 0, sum = 0;
    for (int i = 0; i < MPMC_CONSUMERS; i++) {
        received += consumers[i].received;
        sum += consumers[i].sum;
    }
    if (received != n || sum != n * (n - 1) / 2)
        return bench_fail("buf_mpmc", EPROTO, "received %lld of %lld values, sum %lld",
                          (long long)received, (long long)n, (long long)sum);
    return 0;
}

/* ------------------------------------------------------ unbuf_pingpong */

typedef struct {
    bench_crew_t *crew;
    chan_t       *ping, *pong;
} ponger_t;

/* Player B: answers every ping with the same value until ping is closed. */
static void ponger(void *arg)
{
    ponger_t *p = arg;
    if (crew_wait_start(p->crew)) {
        int value;
        while (chan_recv(p->ping, &value) == 0)
            if (chan_send(p->pong, &value) != 0)
                break;
    }
    crew_leave(p->crew);
}

int wl_unbuf_pingpong(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("unbuf_pingpong", ENOMEM, "out of memory");
    chan_t  *ping = chan_make(sizeof(int), 0);
    chan_t  *pong = chan_make(sizeof(int), 0);
    ponger_t b = {&crew, ping, pong};
    if (ping == NULL || pong == NULL || crew_go(&crew, "ponger", ponger, &b) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        chan_release(ping);
        chan_release(pong);
        return bench_fail("unbuf_pingpong", ENOMEM, "cannot make the channels or the ponger");
    }

    int64_t t0 = crew_start(&crew);
    int64_t rounds = 0;
    for (; rounds < n; rounds++) {
        int sent = (int)rounds, back = -1;
        if (chan_send(ping, &sent) != 0 || chan_recv(pong, &back) != 0 || back != sent)
            break;
    }
    int64_t t1 = time_now();
    chan_close(ping);
    crew_join(&crew);
    crew_destroy(&crew);
    chan_release(ping);
    chan_release(pong);

    *elapsed_ns = t1 - t0;
    if (rounds != n)
        return bench_fail("unbuf_pingpong", EPROTO, "round %lld of %lld failed", (long long)rounds,
                          (long long)n);
    return 0;
}

/* ------------------------------------------------------------- select2 */

static void select2_producer(void *arg)
{
    sender_t *s = arg;
    if (crew_wait_start(s->crew)) {
        send_range(s);
        chan_close(s->out);
    }
    crew_leave(s->crew);
}

int wl_select2(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("select2", ENOMEM, "out of memory");
    chan_t  *chans[2] = {chan_make(sizeof(int), 128), chan_make(sizeof(int), 128)};
    sender_t producers[2] = {{&crew, chans[0], 0, n - n / 2, 0},
                             {&crew, chans[1], n - n / 2, n / 2, 0}};
    int      rc = chans[0] == NULL || chans[1] == NULL ? ENOMEM : 0;
    if (rc == 0)
        rc = crew_go(&crew, "producer 0", select2_producer, &producers[0]);
    if (rc == 0)
        rc = crew_go(&crew, "producer 1", select2_producer, &producers[1]);
    if (rc != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        chan_release(chans[0]);
        chan_release(chans[1]);
        return bench_fail("select2", rc, "cannot set up the channels and producers");
    }

    int64_t     t0 = crew_start(&crew);
    int         values[2];
    chan_case_t cases[2] = {chan_case_recv(chans[0], &values[0]),
                            chan_case_recv(chans[1], &values[1])};
    int64_t     received = 0, sum = 0;
    int         open = 2;
    while (open > 0) {
        int i = chan_select(cases, 2);
        if (i < 0)
            break;
        if (cases[i].err != 0) {
            cases[i].chan = NULL; /* closed: a nil channel is never ready */
            open--;
        } else {
            received++;
            sum += values[i];
        }
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);
    chan_release(chans[0]);
    chan_release(chans[1]);

    *elapsed_ns = t1 - t0;
    if (open != 0 || received != n || sum != n * (n - 1) / 2)
        return bench_fail("select2", EPROTO, "received %lld of %lld values, sum %lld",
                          (long long)received, (long long)n, (long long)sum);
    return 0;
}
