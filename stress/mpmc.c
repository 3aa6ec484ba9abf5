/*
 * mpmc.c - stress: many producers, many consumers, one channel.
 *
 *     build/stress/mpmc [--values N] [--producers P] [--consumers C] [--cap K]
 *
 * P producers send N values in all over one channel to C consumers, first
 * over an unbuffered channel, then over one of capacity 1, then K. Each value
 * carries its producer and that producer's sequence number. The invariants,
 * checked on every value and at the end:
 *   - every value sent is received exactly once (a byte per value counts
 *     receipts; nothing is lost, nothing duplicated, nothing invented);
 *   - per-producer order is preserved: each consumer sees the values of one
 *     producer in increasing sequence order (a channel is FIFO, and a
 *     producer's sends are ordered);
 *   - after the last producer closes the channel every consumer gets EPIPE,
 *     and every goroutine, allocation and timer is gone at the end.
 * The threads use three ways in: plain blocking calls, a try first then the
 * blocking call, and a select with a nil case, so all three code paths meet.
 */
#include <stdatomic.h>

#include "common/chan.h"
#include "common/sync.h"
#include "stress/stress.h"

#define SEQ_BITS 40
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)

typedef struct {
    chan_t        *chan;
    int64_t        producers, consumers;
    int64_t       *quota; /* values each producer sends */
    atomic_uchar **seen;  /* seen[p][seq]: times received */
    atomic_long    producers_left;
    atomic_long    received;
    waitgroup_t    wg;
} run_t;

typedef struct {
    run_t  *run;
    int64_t id;
} role_t;

static void producer(void *arg)
{
    role_t *r = arg;
    run_t  *run = r->run;
    int     style = (int)(r->id % 3);
    chan_t *never = NULL; /* a nil case: never ready */
    for (int64_t seq = 0; seq < run->quota[r->id]; seq++) {
        uint64_t v = ((uint64_t)r->id << SEQ_BITS) | (uint64_t)seq;
        int      rc;
        if (style == 0) {
            rc = chan_send(run->chan, &v);
        } else if (style == 1) {
            rc = chan_try_send(run->chan, &v);
            if (rc == EAGAIN)
                rc = chan_send(run->chan, &v);
        } else {
            chan_case_t cases[2] = {chan_case_recv(never, NULL), chan_case_send(run->chan, &v)};
            int         chosen = chan_select(cases, 2);
            STRESS_CHECK(chosen == 1, "select chose case %d: a nil case fired", chosen);
            rc = cases[1].err;
        }
        STRESS_CHECK(rc == 0, "producer %" PRId64 ": send returned %d before the close", r->id, rc);
    }
    if (atomic_fetch_sub(&run->producers_left, 1) == 1)
        STRESS_CHECK(chan_close(run->chan) == 0, "the last producer could not close");
    waitgroup_done(&run->wg);
}

static void consumer(void *arg)
{
    role_t  *r = arg;
    run_t   *run = r->run;
    int      style = (int)(r->id % 3);
    int64_t *last = calloc((size_t)run->producers, sizeof *last);
    STRESS_CHECK(last != NULL, "out of memory");
    for (int64_t p = 0; p < run->producers; p++)
        last[p] = -1;
    long got = 0;
    for (;;) {
        uint64_t v = UINT64_MAX;
        int      rc;
        if (style == 0) {
            rc = chan_recv(run->chan, &v);
        } else if (style == 1) {
            rc = chan_try_recv(run->chan, &v);
            if (rc == EAGAIN)
                rc = chan_recv(run->chan, &v);
        } else {
            chan_case_t cases[2] = {chan_case_recv(run->chan, &v), chan_case_recv(NULL, NULL)};
            int         chosen = chan_select(cases, 2);
            STRESS_CHECK(chosen == 0, "select chose case %d: a nil case fired", chosen);
            rc = cases[0].err;
        }
        if (rc == EPIPE) {
            STRESS_CHECK(v == 0, "EPIPE left %#" PRIx64 " in the destination, not zero", v);
            break;
        }
        STRESS_CHECK(rc == 0, "consumer %" PRId64 ": recv returned %d", r->id, rc);
        int64_t p = (int64_t)(v >> SEQ_BITS), seq = (int64_t)(v & SEQ_MASK);
        STRESS_CHECK(p < run->producers && seq < run->quota[p],
                     "received %#" PRIx64 ", which nobody sent", v);
        STRESS_CHECK(seq > last[p],
                     "consumer %" PRId64 " got producer %" PRId64 "'s value %" PRId64
                     " after %" PRId64 ": per-producer order broken",
                     r->id, p, seq, last[p]);
        last[p] = seq;
        unsigned char before =
            atomic_fetch_add_explicit(&run->seen[p][seq], 1, memory_order_relaxed);
        STRESS_CHECK(before == 0, "producer %" PRId64 "'s value %" PRId64 " received twice", p,
                     seq);
        got++;
    }
    atomic_fetch_add(&run->received, got);
    free(last);
    waitgroup_done(&run->wg);
}

/* One run over a channel of capacity cap; returns its duration in seconds. */
static double run_once(int64_t values, int64_t producers, int64_t consumers, int64_t cap)
{
    leak_snapshot_t base = leak_snapshot();
    double          start = stress_seconds();
    run_t           run = {.producers = producers, .consumers = consumers};
    run.chan = chan_make(sizeof(uint64_t), (size_t)cap);
    STRESS_CHECK(run.chan != NULL, "chan_make failed");
    run.quota = calloc((size_t)producers, sizeof *run.quota);
    run.seen = calloc((size_t)producers, sizeof *run.seen);
    role_t *roles = calloc((size_t)(producers + consumers), sizeof *roles);
    STRESS_CHECK(run.quota && run.seen && roles, "out of memory");
    for (int64_t p = 0; p < producers; p++) {
        run.quota[p] = values / producers + (p < values % producers);
        run.seen[p] = calloc((size_t)run.quota[p] + 1, 1);
        STRESS_CHECK(run.seen[p] != NULL, "out of memory");
    }
    atomic_init(&run.producers_left, producers);
    atomic_init(&run.received, 0);
    waitgroup_init(&run.wg);

    waitgroup_add(&run.wg, producers + consumers);
    for (int64_t i = 0; i < producers + consumers; i++) {
        bool is_producer = i < producers;
        roles[i] = (role_t){&run, is_producer ? i : i - producers};
        char name[32];
        snprintf(name, sizeof name, "%s %" PRId64, is_producer ? "producer" : "consumer",
                 roles[i].id);
        int rc = go_named(name, is_producer ? producer : consumer, &roles[i]);
        STRESS_CHECK(rc == 0, "go_named failed: %d", rc);
    }
    waitgroup_wait(&run.wg);

    STRESS_CHECK(atomic_load(&run.received) == values,
                 "cap %" PRId64 ": %ld values received, %" PRId64 " sent", cap,
                 atomic_load(&run.received), values);
    for (int64_t p = 0; p < producers; p++)
        for (int64_t seq = 0; seq < run.quota[p]; seq++)
            STRESS_CHECK(atomic_load(&run.seen[p][seq]) == 1,
                         "producer %" PRId64 "'s value %" PRId64 " received %d times", p, seq,
                         atomic_load(&run.seen[p][seq]));
    STRESS_CHECK(chan_recv(run.chan, NULL) == EPIPE, "the channel is not closed and drained");
    STRESS_CHECK(chan_len(run.chan) == 0, "values left in the buffer");

    chan_release(run.chan);
    waitgroup_destroy(&run.wg);
    for (int64_t p = 0; p < producers; p++)
        free(run.seen[p]);
    free(run.seen);
    free(run.quota);
    free(roles);
    stress_check_clean(&base);
    return stress_seconds() - start;
}

int main(int argc, char **argv)
{
    int64_t         values = 10000000, producers = 8, consumers = 8, cap = 64, limit = 600;
    stress_option_t opts[] = {
        {"values", &values, 1, INT64_C(1) << 36, "values sent per run (over all producers)"},
        {"producers", &producers, 1, 256, "producer goroutines"},
        {"consumers", &consumers, 1, 256, "consumer goroutines"},
        {"cap", &cap, 1, 1 << 20, "capacity of the third run (the others: 0 and 1)"},
        {"limit-s", &limit, 1, 86400, "fail if the whole program takes longer (seconds)"},
    };
    stress_parse("mpmc",
                 "Producers and consumers over one channel: every value exactly once, "
                 "per-producer order kept.",
                 argc, argv, opts, sizeof opts / sizeof opts[0]);
    stress_watchdog_start(limit);

    /* Capacity 1 keeps the buffer full or empty nearly all the time, so
     * nearly every operation takes a waiting path; cap mostly does not. */
    double unbuffered = run_once(values, producers, consumers, 0);
    double single = run_once(values, producers, consumers, 1);
    double buffered = run_once(values, producers, consumers, cap);

    stress_watchdog_stop();
    printf("stress mpmc: OK: %" PRId64 "x%" PRId64 ", %" PRId64
           " values per run, each exactly once and in producer order: unbuffered %.2f s, cap 1 "
           "%.2f s, cap %" PRId64 " %.2f s\n",
           producers, consumers, values, unbuffered, single, cap, buffered);
    return 0;
}
