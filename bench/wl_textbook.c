/*
 * wl_textbook.c - textbook_spsc and textbook_pingpong: the shapes of
 * buf_spsc and unbuf_pingpong (wl_chan.c), run on the mutex-and-condvar
 * channel of bench/textbook_chan.c instead of the core's. Side by side they
 * show what the core's ring, spinning and direct hand-off buy
 * (common/README.md, "Why the textbook channel is slow").
 */
#include <errno.h>

#include "bench/bench.h"
#include "bench/textbook_chan.h"
#include "common/timer.h"

typedef struct {
    bench_crew_t *crew;
    tchan_t      *out, *back; /* back: the pong channel, or NULL */
    int64_t       count;
    int           err;
} textbook_peer_t;

static void textbook_producer(void *arg)
{
    textbook_peer_t *p = arg;
    if (crew_wait_start(p->crew)) {
        for (int64_t i = 0; i < p->count && p->err == 0; i++) {
            int value = (int)i;
            p->err = tchan_send(p->out, &value);
        }
        tchan_close(p->out);
    }
    crew_leave(p->crew);
}

int wl_textbook_spsc(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("textbook_spsc", ENOMEM, "out of memory");
    tchan_t        *ch = tchan_make(sizeof(int), 1024);
    textbook_peer_t producer = {&crew, ch, NULL, n, 0};
    if (ch == NULL || crew_go(&crew, "producer", textbook_producer, &producer) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        tchan_free(ch);
        return bench_fail("textbook_spsc", ENOMEM, "cannot make the channel or the producer");
    }
    int64_t t0 = crew_start(&crew);
    int64_t expected = 0;
    int     value;
    bool    in_order = true;
    while (tchan_recv(ch, &value) == 0) {
        in_order &= value == (int)expected;
        expected++;
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);
    tchan_free(ch);
    *elapsed_ns = t1 - t0;
    if (!in_order || expected != n || producer.err != 0)
        return bench_fail("textbook_spsc", EPROTO, "received %lld of %lld values (in order: %s)",
                          (long long)expected, (long long)n, in_order ? "yes" : "no");
    return 0;
}

/* Player B: answers every ping with the same value until ping is closed. */
static void textbook_ponger(void *arg)
{
    textbook_peer_t *p = arg;
    if (crew_wait_start(p->crew)) {
        int value;
        while (tchan_recv(p->out, &value) == 0)
            if (tchan_send(p->back, &value) != 0)
                break;
    }
    crew_leave(p->crew);
}

int wl_textbook_pingpong(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("textbook_pingpong", ENOMEM, "out of memory");
    tchan_t        *ping = tchan_make(sizeof(int), 0);
    tchan_t        *pong = tchan_make(sizeof(int), 0);
    textbook_peer_t b = {&crew, ping, pong, 0, 0};
    if (ping == NULL || pong == NULL || crew_go(&crew, "ponger", textbook_ponger, &b) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        tchan_free(ping);
        tchan_free(pong);
        return bench_fail("textbook_pingpong", ENOMEM, "cannot make the channels or the ponger");
    }
    int64_t t0 = crew_start(&crew);
    int64_t rounds = 0;
    for (; rounds < n; rounds++) {
        int sent = (int)rounds, back = -1;
        if (tchan_send(ping, &sent) != 0 || tchan_recv(pong, &back) != 0 || back != sent)
            break;
    }
    int64_t t1 = time_now();
    tchan_close(ping);
    crew_join(&crew);
    crew_destroy(&crew);
    tchan_free(ping);
    tchan_free(pong);
    *elapsed_ns = t1 - t0;
    if (rounds != n)
        return bench_fail("textbook_pingpong", EPROTO, "round %lld of %lld failed",
                          (long long)rounds, (long long)n);
    return 0;
}
