/*
 * timer_chan.c - time_after channels and tickers: a cap-1 channel of
 * int64_t and a timer entry (timer_internal.h) whose fire sends the time.
 *
 * The entry holds no reference on its channel: the channel's finalizer
 * (time_after) or ticker_stop stops the entry first, waiting for a fire in
 * progress, so the channel is alive whenever fire runs. A fire that finds
 * the channel full drops the tick, as Go's do: the reader missed it.
 */
#include <errno.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/chan_internal.h"
#include "common/timer.h"
#include "common/timer_internal.h"

static void send_now(void *chan)
{
    int64_t now = time_now();
    chan_try_send(chan, &now); /* a full channel: the reader missed a tick */
}

static void stop_entry(void *entry)
{
    timer_entry_stop(entry);
}

chan_t *time_after(duration_t d)
{
    chan_t *c = chan_make(sizeof(int64_t), 1);
    if (c == NULL)
        return NULL;
    if (d <= 0) {
        send_now(c);
        return c;
    }
    int64_t        now = time_now();
    timer_entry_t *e = timer_entry_start(now > INT64_MAX - d ? INT64_MAX : now + d, 0, send_now, c);
    if (e == NULL) {
        int err = errno;
        chan_release(c);
        errno = err;
        return NULL;
    }
    chan_set_finalizer(c, stop_entry, e);
    return c;
}

struct ticker {
    chan_t        *chan; /* the ticker's reference */
    timer_entry_t *entry;
};

ticker_t *ticker_new(duration_t period)
{
    if (period <= 0) {
        errno = EINVAL;
        return NULL;
    }
    ticker_t *t = goc_malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->chan = chan_make(sizeof(int64_t), 1);
    if (t->chan == NULL) {
        goc_free(t);
        errno = ENOMEM;
        return NULL;
    }
    int64_t now = time_now();
    t->entry = timer_entry_start(now > INT64_MAX - period ? INT64_MAX : now + period, period,
                                 send_now, t->chan);
    if (t->entry == NULL) {
        int err = errno;
        chan_release(t->chan);
        goc_free(t);
        errno = err;
        return NULL;
    }
    return t;
}

chan_t *ticker_chan(ticker_t *t)
{
    return t ? t->chan : NULL;
}

void ticker_stop(ticker_t *t)
{
    if (t == NULL)
        return;
    timer_entry_stop(t->entry); /* after this, no fire touches the channel */
    chan_release(t->chan);
    goc_free(t);
}
