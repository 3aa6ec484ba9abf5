/*
 * producer.c - lesson 02's producer (see producer.h): the goroutine at the
 * head of the fan-out, sending the jobs 1..N on the one channel every
 * worker reads. It is the only sender, so it is the one that closes the
 * channel, and that close is what lets each worker, then the merge, and
 * then main's loop end by themselves. Kept out of main.c, which reads as
 * the pattern put together; this file is a goroutine's own bookkeeping (its
 * argument on the heap, its references, giving up when the context is
 * done).
 */
#include "02-fan-in-fan-out/producer.h"

#include <errno.h>
#include <inttypes.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

typedef struct {
    ctx_t  *ctx;
    chan_t *jobs;
    int64_t count;
} producer_t;

/* Sends jobs 1..count (seq 0..count-1), then closes the channel: it is the
 * only sender, so it is the one that knows when sending is over. */
static void produce(void *arg)
{
    producer_t *p = arg;
    for (int64_t job = 1; job <= p->count; job++) {
        fan_item_t  item = {(uint64_t)(job - 1), job};
        chan_case_t cases[2] = {chan_case_send(p->jobs, &item),
                                chan_case_recv(ctx_done(p->ctx), NULL)};
        trace_wait("send job %" PRId64, job);
        int chosen = chan_select(cases, 2);
        trace_end();
        if (chosen != 0 || cases[0].err != 0)
            break; /* canceled (or the channel was closed under us) */
    }
    chan_close(p->jobs);
    chan_release(p->jobs);
    ctx_release(p->ctx);
    goc_free(p);
}

int producer_start(ctx_t *ctx, chan_t *jobs, int64_t count)
{
    producer_t *p = goc_malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    *p = (producer_t){ctx_retain(ctx), chan_retain(jobs), count};
    int err = go_named("producer", produce, p);
    if (err != 0) {
        chan_release(p->jobs);
        ctx_release(p->ctx);
        goc_free(p);
    }
    return err;
}
