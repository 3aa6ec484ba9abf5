/*
 * producer.h - lesson 02's producer: the goroutine that numbers the jobs and
 * feeds them to the workers (see producer.c).
 */
#ifndef FAN_IN_FAN_OUT_PRODUCER_H
#define FAN_IN_FAN_OUT_PRODUCER_H

#include <stdint.h>

#include "common/chan.h"
#include "common/context.h"

/* Starts the goroutine "producer", which sends jobs 1..count on `jobs` (a
 * channel of fan_item_t; job j has seq j-1), then closes it; if ctx is done
 * first, it stops sending and closes it at once. It holds its own references
 * on ctx and jobs, so the caller may release its own right away. Returns 0,
 * or ENOMEM or go_named's error, with nothing started. */
int producer_start(ctx_t *ctx, chan_t *jobs, int64_t count);

#endif
