/*
 * wl_textbook.c - textbook_spsc and textbook_pingpong: the shapes of
 * buf_spsc and unbuf_pingpong (wl_chan.c), run on the mutex-and-condvar
 * channel of bench/textbook_chan.c instead of the core's. Side by side they
 * show what the core's ring, spinning and direct hand-off buy
 * (common/README.md, "Why the textbook channel is slow").
 *
 * The textbook channel blocks kernel threads, so both sides are POSIX
 * threads of their own (run_pair), under either runtime: as goroutines
 * under M:N, a side asleep in pthread_cond_wait would hold its worker, and
 * with one worker (GOC_MAXPROCS=1) its partner could never run.
 */
#include <errno.h>

#include "bench/bench.h"
#include "bench/textbook_chan.h"

typedef struct {
    start_line_t line;
    tchan_t     *out, *back; /* spsc: out only; pingpong: ping and pong */
    int64_t      count;
    int64_t      done;     /* values received in order, or round trips */
    int          send_err; /* spsc: the producer's first failed send */
} textbook_run_t;

static void *spsc_produce(void *arg)
{
    textbook_run_t *t = arg;
    if (start_line_cross(&t->line))
        for (int64_t i = 0; i < t->count && t->send_err == 0; i++) {
            int value = (int)i;
            t->send_err = tchan_send(t->out, &value);
        }
    tchan_close(t->out);
    return NULL;
}

static void *spsc_consume(void *arg)
{
    textbook_run_t *t = arg;
    if (!start_line_cross(&t->line))
        return NULL;
    int     value;
    int64_t received = 0;
    while (tchan_recv(t->out, &value) == 0) /* drain to the close: never strand the producer */
        if (value == (int)received++ && t->done == received - 1)
            t->done++;
    return NULL;
}

int wl_textbook_spsc(int64_t n, int64_t *elapsed_ns)
{
    textbook_run_t t = {.out = tchan_make(sizeof(int), 1024), .count = n};
    if (t.out == NULL)
        return bench_fail("textbook_spsc", ENOMEM, "cannot make the channel");
    int rc = run_pair(spsc_produce, spsc_consume, &t, &t.line, elapsed_ns);
    tchan_free(t.out);
    if (rc != 0)
        return bench_fail("textbook_spsc", rc, "cannot start the two threads");
    if (t.done != n || t.send_err != 0)
        return bench_fail("textbook_spsc", EPROTO, "received %lld of %lld values in order",
                          (long long)t.done, (long long)n);
    return 0;
}

/* Player A: sends 0..count-1 on ping, expects each back on pong. */
static void *ping_player(void *arg)
{
    textbook_run_t *t = arg;
    if (start_line_cross(&t->line))
        for (; t->done < t->count; t->done++) {
            int sent = (int)t->done, back = -1;
            if (tchan_send(t->out, &sent) != 0 || tchan_recv(t->back, &back) != 0 || back != sent)
                break;
        }
    tchan_close(t->out);
    return NULL;
}

/* Player B: answers every ping with the same value until ping is closed. */
static void *pong_player(void *arg)
{
    textbook_run_t *t = arg;
    if (!start_line_cross(&t->line))
        return NULL;
    int value;
    while (tchan_recv(t->out, &value) == 0)
        if (tchan_send(t->back, &value) != 0)
            break;
    return NULL;
}

int wl_textbook_pingpong(int64_t n, int64_t *elapsed_ns)
{
    textbook_run_t t = {
        .out = tchan_make(sizeof(int), 0), .back = tchan_make(sizeof(int), 0), .count = n};
    int rc = t.out == NULL || t.back == NULL
                 ? ENOMEM
                 : run_pair(ping_player, pong_player, &t, &t.line, elapsed_ns);
    tchan_free(t.out);
    tchan_free(t.back);
    if (rc != 0)
        return bench_fail("textbook_pingpong", rc, "cannot make the channels or start the threads");
    if (t.done != n)
        return bench_fail("textbook_pingpong", EPROTO, "round %lld of %lld failed",
                          (long long)t.done, (long long)n);
    return 0;
}
