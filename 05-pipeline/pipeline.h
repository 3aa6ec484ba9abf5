/*
 * pipeline.h - composable pipeline stages on channels (lesson 05).
 *
 * A pipeline is a chain of stages, each a goroutine that receives values from
 * the channel before it and sends results on a channel of its own:
 *
 *     generate -> square -> keep odd -> sink
 *
 * Every value is an int64_t and every channel made here is unbuffered, so a
 * value moves only when the next stage is ready for it (backpressure).
 *
 * The rules every stage follows (and that make stages compose):
 *   - A stage function takes a context and its input channel and returns its
 *     output channel. The caller's reference on the input passes to the stage
 *     (the stage releases it when it is done), and the caller owns the one
 *     reference returned. So stages nest without leaking references:
 *         chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx,
 *                           pipeline_generate(ctx, 10)));
 *   - The goroutine of a stage holds its own references on the context, its
 *     input and its output, and drops them when it returns.
 *   - A stage is the only sender on its output and closes it when it returns,
 *     whether its input ran dry or the context was canceled. Closing is how
 *     "no more values" travels downstream.
 *   - Every receive and every send also waits on ctx_done(ctx). Canceling the
 *     context is the pipeline's shutdown signal: each stage returns promptly,
 *     even one blocked on a send that no one will ever receive. A consumer
 *     that stops reading early must cancel the context, or the stages
 *     upstream stay blocked for ever (a goroutine leak).
 *
 * A stage function that fails returns NULL with errno set; given a NULL
 * input it returns NULL at once, leaving errno as the failing stage set it,
 * so a nested expression reports the first failure. Stages already started
 * upstream of a failure are blocked until the context is canceled: on NULL,
 * cancel the context. Pass a cancelable context (ctx_with_cancel): NULL or
 * ctx_background() means "never canceled", which is fine only for a
 * pipeline that will certainly be read to the end.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/sync.h"
#include "common/timer.h"

/* A stage's work on one value. Called on the stage's goroutine(s); for
 * pipeline_parallel_map it is called from several goroutines at once. */
typedef int64_t (*pipeline_map_fn)(void *arg, int64_t value);

/* A stage's test for one value: true keeps it, false drops it. */
typedef bool (*pipeline_pred_fn)(void *arg, int64_t value);

/* The source: a goroutine "stage generate" that sends 0, 1, ..., n-1 and
 * closes its output. Returns the output channel (caller owns one reference),
 * or NULL with errno EINVAL (n < 0) or ENOMEM/EAGAIN. */
chan_t *pipeline_generate(ctx_t *ctx, int64_t n);

/* A goroutine "stage <name>" that sends fn(arg, v) for every v received from
 * in, in order, then closes its output. Takes over the caller's reference on
 * in; returns the output channel (caller owns one reference), or NULL (see
 * the top of this file; EINVAL if fn is NULL). name is copied; NULL means
 * "map". arg must stay valid until the stage has returned. */
chan_t *pipeline_map(ctx_t *ctx, chan_t *in, const char *name, pipeline_map_fn fn, void *arg);

/* Like pipeline_map, but forwards only the values v for which
 * keep(arg, v) is true, unchanged and in order. */
chan_t *pipeline_filter(ctx_t *ctx, chan_t *in, const char *name, pipeline_pred_fn keep, void *arg);

/* The article's two stages: pipeline_map with v * v ("stage square") and
 * pipeline_filter keeping odd values ("stage keep odd"). The caller keeps
 * squares within int64_t (inputs below 3037000500 in magnitude). */
chan_t *pipeline_square(ctx_t *ctx, chan_t *in);
chan_t *pipeline_keep_odd(ctx_t *ctx, chan_t *in);

/* Fan-out inside a pipeline: `workers` goroutines ("stage <name> 1" ...)
 * each receive from in, apply fn, and send on one shared output, which the
 * last of them to return closes. Every value received is sent exactly once,
 * but NOT in input order, and at most `workers` calls of fn run at once.
 * Ownership as pipeline_map. NULL with errno EINVAL if fn is NULL or workers
 * is not in 1..64. If only some workers could be started, the stage runs
 * with those (at least one), since each value still reaches the output. */
chan_t *pipeline_parallel_map(ctx_t *ctx, chan_t *in, const char *name, int workers,
                              pipeline_map_fn fn, void *arg);

/* Broadcast: a goroutine "stage tee" that sends every value received from in
 * to both *out1 and *out2, in order, then closes both. A value goes to
 * whichever output is ready first, then to the other, so the tee moves at
 * the pace of the slower reader; a reader that stops must cancel ctx.
 * Takes over the caller's reference on in. Returns 0 and sets *out1, *out2
 * (caller owns one reference on each), or EINVAL (in, out1 or out2 NULL;
 * in is then released if not NULL), ENOMEM or EAGAIN, with both set to
 * NULL. */
int pipeline_tee(ctx_t *ctx, chan_t *in, chan_t **out1, chan_t **out2);

/* A sink: the end of a pipeline. The caller fills in the first five fields
 * and owns the struct; the sink writes the last two. */
typedef struct {
    const char *name;  /* "Sink1": passed to visit, names the goroutine "sink Sink1" */
    int64_t     take;  /* > 0: stop after this many values and cancel ctx; 0: all */
    duration_t  delay; /* pause after each value, to play a slow consumer */
    void (*visit)(void *arg, const char *name, int64_t value); /* each value; may be NULL */
    void   *arg;
    int64_t received; /* out: values taken from in */
    int     err;      /* out: 0 if in was closed or take was reached, else ctx_err(ctx) */
} pipeline_sink_t;

/* Runs the sink on the calling goroutine: receives from in and calls
 * sink->visit for each value until in is closed (err 0), sink->take values
 * have been taken (err 0; the sink then cancels ctx so that every stage
 * upstream stops), or ctx is done first (err = ctx_err(ctx)). Takes over the
 * caller's reference on in. Returns sink->err; EINVAL if in or sink is NULL
 * (in is released if not NULL). For take to stop the stages, ctx must be
 * cancelable. */
int pipeline_sink_run(ctx_t *ctx, chan_t *in, pipeline_sink_t *sink);

/* The same on a new goroutine ("sink <name>"), like Go's `go sink(...)`:
 * adds 1 to wg, and the sink calls waitgroup_done(wg) once it has written
 * sink->received and sink->err, so after waitgroup_wait(wg) they are
 * final. sink and wg must stay valid until then. Returns 0, or EINVAL /
 * EAGAIN / ENOMEM having changed nothing but releasing in. */
int pipeline_sink_go(ctx_t *ctx, chan_t *in, pipeline_sink_t *sink, waitgroup_t *wg);

#endif
