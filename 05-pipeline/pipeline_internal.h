/*
 * pipeline_internal.h - what the two halves of lesson 05's module share:
 * pipeline.c (the one-goroutine stages and the sinks) and pipeline_fan.c
 * (parallel_map and tee). Not for the lesson's users: pipeline.h is the API.
 */
#ifndef PIPELINE_INTERNAL_H
#define PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/context.h"

#include "05-pipeline/pipeline.h"

#define PIPELINE_NAME_SIZE 48 /* a stage goroutine's name, NUL included */

/* ctx, or the background context for NULL: a stage always holds a real
 * context, so ctx_done and ctx_err need no special case. */
ctx_t *pipeline_ctx_or_background(ctx_t *ctx);

/* Receives the next value into *value. Returns 0, EPIPE when in is closed
 * and drained, or the context's error when the pipeline is shutting down
 * (the cancel wins over a value that is also ready). */
int recv_value(ctx_t *ctx, chan_t *in, int64_t *value);

/* Sends value unless the context is done first. True if it was delivered;
 * false: the stage must stop (the context is done, or out was closed). */
bool send_value(ctx_t *ctx, chan_t *out, int64_t value);

/* The loop of a map stage, one goroutine's share of it: sends fn(arg, v) on
 * out for every v received from in, in order, until a receive fails (in
 * closed and drained, or the context done) or a send does. Go:
 *     for v := range in { select { case out <- fn(v): case <-ctx.Done(): return } }
 * pipeline_map's goroutine runs it, and so does each of parallel_map's. */
void map_each(ctx_t *ctx, chan_t *in, chan_t *out, pipeline_map_fn fn, void *arg);

/* The end of a stage: Go's `defer close(out)`, so that downstream learns
 * there is nothing more, then the stage's references on out, in (may be
 * NULL) and ctx go. */
void close_and_release(ctx_t *ctx, chan_t *in, chan_t *out);

/* What a stage function returns for a NULL input: NULL, with errno as the
 * failing stage upstream set it (EINVAL if it did not). */
chan_t *propagate_failure(void);

#endif
