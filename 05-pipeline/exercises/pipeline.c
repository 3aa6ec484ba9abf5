/*
 * exercises/pipeline.c - the STARTER of lesson 05's exercise (see README.md
 * beside this file): ../pipeline.c with the parts marked EXERCISE left for you.
 * Until you write them, `make exercise-05` fails; when it passes, compare
 * your file with the solution, ../pipeline.c. (`make exercises` writes this
 * file from the EXERCISE regions of ../pipeline.c.)
 */
/*
 * pipeline.c - the stages of lesson 05, one small function per stage as in
 * Go, and the sinks (see pipeline.h for the contract). The stages with more
 * than one goroutine or output, parallel_map and tee, are in
 * pipeline_fan.c.
 *
 * Go writes each stage as a function that makes its output channel, starts
 * a goroutine and returns the channel:
 *
 *     func square(ctx context.Context, in <-chan int) <-chan int {
 *         out := make(chan int)
 *         go func() {
 *             defer close(out)
 *             for v := range in {
 *                 select {
 *                 case out <- v * v:
 *                 case <-ctx.Done():
 *                     return
 *                 }
 *             }
 *         }()
 *         return out
 *     }
 *
 * Here the goroutine's body is a function of its own (generate, map_values,
 * filter_values), start_stage is the `out := make(...); go ...; return out`
 * around it, and stage_finish is its `defer close(out)`.
 *
 * Invariants:
 *   - Each stage goroutine owns one reference on its context, its input (the
 *     one its caller handed over) and its output, and drops all three when
 *     it returns; its caller owns the other reference on the output.
 *   - A stage is the only sender on its output and closes it exactly once,
 *     as the last thing before dropping its references.
 *   - No stage blocks without also waiting on ctx_done(ctx), so canceling
 *     the context ends every stage whatever it is doing; and each stage
 *     checks ctx_err() before every receive and send, so once the cancel has
 *     happened a stage completes at most the one operation it was blocked in.
 */
#include "05-pipeline/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "05-pipeline/pipeline_internal.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

ctx_t *pipeline_ctx_or_background(ctx_t *ctx)
{
    return ctx != NULL ? ctx : ctx_background();
}

int recv_value(ctx_t *ctx, chan_t *in, int64_t *value)
{
    /* select picks at random among ready cases: without this check a stage
     * that has both a value and the done signal ready could go on for a
     * while after the cancel. Checking first gives the cancel priority. */
    int err = ctx_err(ctx);
    if (err != 0)
        return err;
    chan_case_t cases[2] = {chan_case_recv(in, value), chan_case_recv(ctx_done(ctx), NULL)};
    trace_wait("receive"); /* spans for --trace/--timeline: common/trace.h */
    int chosen = chan_select(cases, 2);
    trace_end();
    if (chosen == 0)
        return cases[0].err;
    return chosen == 1 ? ctx_err(ctx) : EINVAL;
}

/* EXERCISE 1: send value on out, unless the context is done first. Returns
 * true if the value was delivered, false if the stage must stop (ctx done,
 * or out closed under us). Go:
 *     select { case out <- v: return true; case <-ctx.Done(): return false }
 *
 * As it stands it delivers nothing and says "stop", so every stage quits at
 * once and every pipeline comes out empty.
 *
 * Hints:
 *   - recv_value just above is the same shape for the receiving side.
 *     Here the first case is chan_case_send(out, &value).
 *   - The stage is given a real context (never NULL: start_stage uses
 *     pipeline_ctx_or_background), so ctx_done(ctx) is fine; for the
 *     background context it is NULL, a case that never fires.
 *   - Check ctx_err(ctx) before the select: when the reader is ready and the
 *     context is done, the select picks at random, and a stage would go on
 *     sending after the cancel.
 *   - A plain chan_send would block for ever once the reader has gone away
 *     without reading on: the goroutine leak this lesson is about. */
bool send_value(ctx_t *ctx, chan_t *out, int64_t value)
{
    (void)ctx;
    (void)out;
    (void)value;
    return false;
}

chan_t *propagate_failure(void)
{
    if (errno == 0)
        errno = EINVAL;
    return NULL;
}

/* ------------------------------------------------------------ the stages */

/* What a stage goroutine holds. Each stage reads the fields it needs. */
typedef struct {
    ctx_t           *ctx;
    chan_t          *in; /* NULL for generate */
    chan_t          *out;
    int64_t          count; /* generate: how many values */
    pipeline_map_fn  map;
    pipeline_pred_fn keep;
    void            *arg;
} stage_t;

void close_and_release(ctx_t *ctx, chan_t *in, chan_t *out)
{
    chan_close(out);
    chan_release(out);
    chan_release(in);
    ctx_release(ctx);
}

/* Go's `defer close(out)`, and the goroutine's references go. */
static void stage_finish(stage_t *st)
{
    close_and_release(st->ctx, st->in, st->out);
    goc_free(st);
}

/* generate: 0, 1, ..., count-1, then close. */
static void generate(void *p)
{
    stage_t *st = p;
    for (int64_t i = 0; i < st->count; i++)
        if (!send_value(st->ctx, st->out, i))
            break;
    stage_finish(st);
}

/* EXERCISE 2: the loops of the map and filter stages (map_each runs in
 * every map stage, also in each of parallel_map's goroutines). Receive each
 * value from in (recv_value) and send on out (send_value)
 *   - map_each:      fn(arg, value), for every value;
 *   - filter_values: value itself, only if st->keep(st->arg, value), then
 *                    stage_finish(st) (map_values below does the same
 *                    after map_each);
 * in order, and stop at the first receive that fails (input closed and
 * drained, or the context done) or the first send that fails. stage_finish
 * closes st->out, which is how "no more values" reaches the next stage.
 * Every receive and every send must also watch the context: use
 * recv_value and send_value.
 *
 * As it stands both forward nothing.
 *
 * Hints:
 *   - generate, just above, is the send side of the same loop.
 *   - Never return from filter_values without stage_finish: the output
 *     would never be closed, and the stage after this one would wait for
 *     ever. */
void map_each(ctx_t *ctx, chan_t *in, chan_t *out, pipeline_map_fn fn, void *arg)
{
    (void)ctx;
    (void)in;
    (void)out;
    (void)fn;
    (void)arg;
}

static void filter_values(void *p)
{
    stage_finish(p);
}

/* map: fn(v) for every v, in order (Go: for v := range in { out <- f(v) }). */
static void map_values(void *p)
{
    stage_t *st = p;
    map_each(st->ctx, st->in, st->out, st->map, st->arg);
    stage_finish(st);
}

/* Go's `out := make(chan int); go body(...); return out`: starts a goroutine
 * "stage <name>" running body on a copy of *proto. proto->in is the
 * reference handed over by the caller; it is released on failure. */
static chan_t *start_stage(void (*body)(void *), const stage_t *proto, const char *name)
{
    stage_t *st = goc_malloc(sizeof *st);
    chan_t  *out = chan_make(sizeof(int64_t), 0);
    if (st == NULL || out == NULL) {
        goc_free(st);
        chan_release(out);
        chan_release(proto->in);
        errno = ENOMEM;
        return NULL;
    }
    *st = *proto;
    st->ctx = ctx_retain(pipeline_ctx_or_background(proto->ctx));
    st->out = chan_retain(out);

    char label[PIPELINE_NAME_SIZE];
    snprintf(label, sizeof label, "stage %s", name);
    int rc = go_named(label, body, st);
    if (rc != 0) {
        stage_finish(st); /* closing is harmless: no one else has the channel */
        chan_release(out);
        errno = rc;
        return NULL;
    }
    return out;
}

chan_t *pipeline_generate(ctx_t *ctx, int64_t n)
{
    if (n < 0) {
        errno = EINVAL;
        return NULL;
    }
    return start_stage(generate, &(stage_t){.ctx = ctx, .count = n}, "generate");
}

chan_t *pipeline_map(ctx_t *ctx, chan_t *in, const char *name, pipeline_map_fn fn, void *arg)
{
    if (in == NULL)
        return propagate_failure();
    if (fn == NULL) {
        chan_release(in);
        errno = EINVAL;
        return NULL;
    }
    stage_t proto = {.ctx = ctx, .in = in, .map = fn, .arg = arg};
    return start_stage(map_values, &proto, name != NULL ? name : "map");
}

chan_t *pipeline_filter(ctx_t *ctx, chan_t *in, const char *name, pipeline_pred_fn keep, void *arg)
{
    if (in == NULL)
        return propagate_failure();
    if (keep == NULL) {
        chan_release(in);
        errno = EINVAL;
        return NULL;
    }
    stage_t proto = {.ctx = ctx, .in = in, .keep = keep, .arg = arg};
    return start_stage(filter_values, &proto, name != NULL ? name : "filter");
}

static int64_t square(void *arg, int64_t value)
{
    (void)arg;
    return value * value;
}

static bool is_odd(void *arg, int64_t value)
{
    (void)arg;
    return value % 2 != 0;
}

chan_t *pipeline_square(ctx_t *ctx, chan_t *in)
{
    return pipeline_map(ctx, in, "square", square, NULL);
}

chan_t *pipeline_keep_odd(ctx_t *ctx, chan_t *in)
{
    return pipeline_filter(ctx, in, "keep odd", is_odd, NULL);
}

/* ------------------------------------------------------------ sinks */

int pipeline_sink_run(ctx_t *ctx, chan_t *in, pipeline_sink_t *sink)
{
    if (in == NULL || sink == NULL) {
        chan_release(in);
        return EINVAL;
    }
    ctx = pipeline_ctx_or_background(ctx);
    sink->received = 0;
    sink->err = 0;
    int64_t value;
    for (;;) {
        if (sink->take > 0 && sink->received >= sink->take) {
            /* Walking away is only safe if the stages upstream are told. */
            ctx_cancel(ctx);
            break;
        }
        int rc = recv_value(ctx, in, &value);
        if (rc != 0) {
            sink->err = rc == EPIPE ? 0 : rc;
            break;
        }
        sink->received++;
        trace_begin("visit %" PRId64, value);
        if (sink->visit != NULL)
            sink->visit(sink->arg, sink->name, value);
        time_sleep(sink->delay);
        trace_end();
    }
    chan_release(in);
    return sink->err;
}

typedef struct {
    ctx_t           *ctx;
    chan_t          *in;
    pipeline_sink_t *sink;
    waitgroup_t     *wg;
} sink_job_t;

static void sink_main(void *p)
{
    sink_job_t  *job = p;
    waitgroup_t *wg = job->wg;
    pipeline_sink_run(job->ctx, job->in, job->sink);
    ctx_release(job->ctx);
    goc_free(job);
    waitgroup_done(wg);
}

int pipeline_sink_go(ctx_t *ctx, chan_t *in, pipeline_sink_t *sink, waitgroup_t *wg)
{
    if (in == NULL || sink == NULL || wg == NULL) {
        chan_release(in);
        return EINVAL;
    }
    sink_job_t *job = goc_malloc(sizeof *job);
    if (job == NULL) {
        chan_release(in);
        return ENOMEM;
    }
    job->ctx = ctx_retain(pipeline_ctx_or_background(ctx));
    job->in = in;
    job->sink = sink;
    job->wg = wg;

    char label[PIPELINE_NAME_SIZE];
    snprintf(label, sizeof label, "sink %s", sink->name != NULL ? sink->name : "");
    /* Add before starting: the sink may finish before go_named returns. */
    waitgroup_add(wg, 1);
    int rc = go_named(label, sink_main, job);
    if (rc != 0) {
        waitgroup_add(wg, -1);
        chan_release(in);
        ctx_release(job->ctx);
        goc_free(job);
    }
    return rc;
}
