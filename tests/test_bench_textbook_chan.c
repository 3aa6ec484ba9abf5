/*
 * test_bench_textbook_chan.c - the mutex-and-condvar channel of
 * bench/textbook_chan.c, the one common/README.md builds and `make bench`
 * measures: it must keep Go's channel semantics, or the comparison with the
 * core would be a comparison with something else.
 *
 * As in test_common_chan.c, a test that needs a thread really blocked in a
 * send or receive waits for it in the kernel (support_wait_blocked: a
 * pthread_cond_wait sleeps in the futex system call), never for a while.
 *
 * The textbook channel blocks threads, so its users here are threads
 * (support_start_thread): a goroutine blocked in pthread_cond_wait would
 * hold its worker under the M:N runtime, and a crowd of them would leave
 * none to run the goroutine that could wake them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "bench/textbook_chan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/common_chan_helpers.h"
#include "tests/support/support.h"

/* One thread's send or receive on a textbook channel. */
typedef struct {
    tchan_t    *c;
    long        value;
    int         rc;
    atomic_int  tid;
    atomic_bool returned;
    waitgroup_t done;
} tparty_t;

static void do_send(void *arg)
{
    tparty_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    p->rc = tchan_send(p->c, &p->value);
    atomic_store(&p->returned, true);
    waitgroup_done(&p->done);
}

static void do_recv(void *arg)
{
    tparty_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    p->rc = tchan_recv(p->c, &p->value);
    atomic_store(&p->returned, true);
    waitgroup_done(&p->done);
}

/* Starts fn(p) and returns once it is asleep inside the channel. */
static void start_blocked(void (*fn)(void *), tparty_t *p, tchan_t *c, long value)
{
    *p = (tparty_t){.c = c, .value = value, .rc = -1};
    waitgroup_init(&p->done);
    waitgroup_add(&p->done, 1);
    cr_assert_eq(support_start_thread(fn, p), 0);
    support_wait_blocked(&p->tid);
}

/* Waits until p's operation has returned; returns its result. */
static int join(tparty_t *p)
{
    waitgroup_wait(&p->done);
    waitgroup_destroy(&p->done);
    return p->rc;
}

Test(textbook_chan, bad_arguments_change_nothing, .timeout = 10)
{
    support_begin();
    long v = 1;
    cr_assert_eq(tchan_send(NULL, &v), EINVAL);
    cr_assert_eq(tchan_recv(NULL, &v), EINVAL);
    cr_assert_eq(tchan_close(NULL), EINVAL);
    tchan_free(NULL);
    tchan_t *c = tchan_make(sizeof(long), 1);
    cr_assert_not_null(c);
    cr_assert_eq(tchan_send(c, NULL), EINVAL, "a value of 8 bytes cannot come from NULL");
    cr_assert_eq(tchan_send(c, &v), 0, "the channel is still empty after the bad send");
    cr_assert_null(tchan_make(SIZE_MAX / 2, 4), "a size that overflows is refused");
    tchan_free(c);
    support_end();
}

Test(textbook_chan, buffered_is_fifo_and_holds_cap_values, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 5);
    cr_assert_not_null(c);
    for (int round = 0; round < 3; round++) { /* wraps around the ring */
        for (long i = 0; i < 5; i++) {
            long v = round * 10 + i;
            cr_assert_eq(tchan_send(c, &v), 0, "cap 5: the 5 sends need no receiver");
        }
        for (long i = 0; i < 5; i++) {
            long v = -1;
            cr_assert_eq(tchan_recv(c, &v), 0);
            cr_assert_eq(v, round * 10 + i, "FIFO: got %ld", v);
        }
    }
    tchan_free(c);
    support_end();
}

Test(textbook_chan, buffered_send_blocks_when_full, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 1);
    long     v = 1;
    cr_assert_eq(tchan_send(c, &v), 0);
    tparty_t sender;
    start_blocked(do_send, &sender, c, 2);
    cr_assert_not(atomic_load(&sender.returned), "a full channel makes the sender wait");
    cr_assert_eq(tchan_recv(c, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(tchan_recv(c, &v), 0);
    cr_assert_eq(v, 2, "the waiting sender's value comes next");
    cr_assert_eq(join(&sender), 0);
    tchan_free(c);
    support_end();
}

Test(textbook_chan, unbuffered_send_returns_only_when_received, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 0);
    tparty_t sender;
    start_blocked(do_send, &sender, c, 42);
    cr_assert_not(atomic_load(&sender.returned), "no receiver yet: the send must wait");
    long v = 0;
    cr_assert_eq(tchan_recv(c, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(join(&sender), 0);
    tchan_free(c);
    support_end();
}

Test(textbook_chan, unbuffered_receiver_waits_for_a_sender, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 0);
    tparty_t receiver;
    start_blocked(do_recv, &receiver, c, -1);
    long v = 7;
    cr_assert_eq(tchan_send(c, &v), 0, "a waiting receiver takes the value");
    cr_assert_eq(join(&receiver), 0);
    cr_assert_eq(receiver.value, 7);
    tchan_free(c);
    support_end();
}

Test(textbook_chan, values_sent_before_close_are_received, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 3);
    for (long i = 1; i <= 2; i++)
        cr_assert_eq(tchan_send(c, &i), 0);
    cr_assert_eq(tchan_close(c), 0);
    cr_assert_eq(tchan_close(c), EPIPE, "closing twice is an error");
    long v = 9;
    cr_assert_eq(tchan_send(c, &v), EPIPE, "no value enters a closed channel");
    cr_assert_eq(tchan_recv(c, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(tchan_recv(c, &v), 0);
    cr_assert_eq(v, 2);
    v = 9;
    cr_assert_eq(tchan_recv(c, &v), EPIPE, "closed and drained");
    cr_assert_eq(v, 0, "a receive on a closed, drained channel zeroes its value");
    cr_assert_eq(tchan_recv(c, NULL), EPIPE);
    tchan_free(c);
    support_end();
}

Test(textbook_chan, close_wakes_a_blocked_receiver, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 0);
    tparty_t receiver;
    start_blocked(do_recv, &receiver, c, 5);
    cr_assert_eq(tchan_close(c), 0);
    cr_assert_eq(join(&receiver), EPIPE);
    cr_assert_eq(receiver.value, 0);
    tchan_free(c);
    support_end();
}

Test(textbook_chan, close_fails_a_blocked_unbuffered_send_and_takes_its_value_back, .timeout = 10)
{
    support_begin();
    tchan_t *c = tchan_make(sizeof(long), 0);
    tparty_t sender;
    start_blocked(do_send, &sender, c, 5);
    cr_assert_eq(tchan_close(c), 0);
    cr_assert_eq(join(&sender), EPIPE, "a send blocked when the close comes fails");
    long v = -1;
    cr_assert_eq(tchan_recv(c, &v), EPIPE, "and its value was never delivered");
    cr_assert_eq(v, 0);
    tchan_free(c);
    support_end();
}

/* ---------------------------------------------------- many to many */

enum { PRODUCERS = 4, CONSUMERS = 4 };

typedef struct {
    tchan_t     *c;
    long         first, count;
    atomic_int  *producers_left; /* the last producer closes */
    int          err;            /* producers: the first failed send, 0 if none */
    long         received, sum;  /* consumers */
    waitgroup_t *wg;
} crowd_t;

static void crowd_produce(void *arg)
{
    crowd_t *p = arg;
    for (long i = 0; i < p->count && p->err == 0; i++) {
        long v = p->first + i;
        p->err = tchan_send(p->c, &v);
    }
    if (atomic_fetch_sub(p->producers_left, 1) == 1)
        tchan_close(p->c);
    waitgroup_done(p->wg);
}

static void crowd_consume(void *arg)
{
    crowd_t *p = arg;
    long     v;
    while (tchan_recv(p->c, &v) == 0) {
        p->received++;
        p->sum += v;
    }
    waitgroup_done(p->wg);
}

/* Every value sent by 4 producers is received exactly once by 4 consumers. */
static void many_to_many(size_t cap)
{
    support_begin();
    const long  per_producer = SCALED(20000);
    tchan_t    *c = tchan_make(sizeof(long), cap);
    atomic_int  left = PRODUCERS;
    waitgroup_t wg;
    waitgroup_init(&wg);
    crowd_t producers[PRODUCERS], consumers[CONSUMERS];
    waitgroup_add(&wg, PRODUCERS + CONSUMERS);
    for (int i = 0; i < CONSUMERS; i++) {
        consumers[i] = (crowd_t){.c = c, .wg = &wg};
        cr_assert_eq(support_start_thread(crowd_consume, &consumers[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (crowd_t){.c = c,
                                 .first = i * per_producer,
                                 .count = per_producer,
                                 .producers_left = &left,
                                 .wg = &wg};
        cr_assert_eq(support_start_thread(crowd_produce, &producers[i]), 0);
    }
    waitgroup_wait(&wg);
    long received = 0, sum = 0, total = PRODUCERS * per_producer;
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(producers[i].err, 0, "producer %d: send failed with %d", i, producers[i].err);
    for (int i = 0; i < CONSUMERS; i++) {
        received += consumers[i].received;
        sum += consumers[i].sum;
    }
    cr_assert_eq(received, total, "received %ld of %ld values", received, total);
    cr_assert_eq(sum, total * (total - 1) / 2, "each value exactly once");
    tchan_free(c);
    support_end();
}

Test(textbook_chan, many_to_many_buffered, .timeout = 60)
{
    many_to_many(8);
}

Test(textbook_chan, many_to_many_unbuffered, .timeout = 60)
{
    many_to_many(0);
}
