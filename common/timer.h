/*
 * timer.h - the clock, sleeping, and timer channels (Go's `time`).
 *
 * One timer thread, started on first use, keeps every pending deadline in a
 * min-heap and sleeps until the earliest: a pending timer costs a heap slot,
 * never a thread, and arming or cancelling one is O(log n). The thread is
 * stopped and joined at exit so leak checkers see nothing left behind.
 */
#ifndef COMMON_TIMER_H
#define COMMON_TIMER_H

#include <stdint.h>

#include "common/chan.h"

typedef int64_t duration_t; /* nanoseconds, like time.Duration */
#define TIME_MICROSECOND ((duration_t)1000)
#define TIME_MILLISECOND ((duration_t)1000000)
#define TIME_SECOND ((duration_t)1000000000)

/* The monotonic clock in nanoseconds (an arbitrary origin: only differences
 * mean something). */
int64_t time_now(void);

/* Sleeps for d (returns at once if d <= 0), resuming after signals. */
void time_sleep(duration_t d);

/* A channel (cap 1, int64_t elements) that receives time_now() once, d from
 * now (at once if d <= 0). The caller owns the returned reference and must
 * release it; releasing it before it fires cancels the timer, so a select
 * that gave up on it leaves nothing pending. NULL with errno ENOMEM. */
chan_t *time_after(duration_t d);

typedef struct ticker ticker_t;

/* A ticker that sends time_now() on its channel every period (> 0) from now;
 * the first tick comes one period after ticker_new. A slow reader misses
 * ticks instead of queueing them. NULL with errno EINVAL (period <= 0) or
 * ENOMEM. */
ticker_t *ticker_new(duration_t period);

/* The ticker's channel (cap 1, int64_t), borrowed: valid until ticker_stop,
 * or longer if the caller retains it. NULL for a NULL ticker. */
chan_t *ticker_chan(ticker_t *t);

/* Stops and frees t; no tick is sent after it returns. A caller that
 * retained the channel keeps a valid channel that stays silent. NULL is
 * ignored. */
void ticker_stop(ticker_t *t);

/* Number of armed timers (time_after channels, tickers, context deadlines)
 * process-wide. Tests use it to prove that nothing was left pending. */
size_t time_pending_timers(void);

#endif
