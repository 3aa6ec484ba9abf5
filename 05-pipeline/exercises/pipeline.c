/*
 * exercises/pipeline.c - STARTER for lesson 05's exercise (see README.md
 * beside this file). A copy of ../pipeline.c with two parts left for you,
 * marked EXERCISE: the send that watches the context (send_value, which
 * every stage uses) and the loop of the map stage. Everything else is the
 * finished module. Until you write them, `make exercise-05` fails; when it
 * passes, compare with the solution in ../pipeline.c.
 *
 * Invariants:
 *   - Each stage goroutine owns one reference on its context, its input (the
 *     one its caller handed over) and its output, and drops all three when
 *     it returns; its caller owns the other reference on the output.
 *   - A stage is the only sender on its output and closes it exactly once,
 *     as the last thing before dropping its references. For the parallel
 *     stage the "stage" is the crew of workers: the references belong to the
 *     crew, and the worker that brings the crew's running count to zero
 *     closes the output and drops them.
 *   - No stage blocks without also waiting on ctx_done(ctx), so canceling
 *     the context ends every stage whatever it is doing; and each stage
 *     checks ctx_err() before every receive and send, so once the cancel has
 *     happened a stage completes at most the one operation it was blocked in.
 */
#include "05-pipeline/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

#define MAX_WORKERS 64
#define NAME_SIZE 48

static ctx_t *ctx_or_background(ctx_t *ctx)
{
    return ctx != NULL ? ctx : ctx_background();
}

/* Receives the next value into *value. Returns 0, EPIPE when in is closed
 * and drained, or the context's error when the pipeline is shutting down. */
static int recv_value(ctx_t *ctx, chan_t *in, int64_t *value)
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
 *     ctx_or_background), so ctx_done(ctx) is fine; for the background
 *     context it is NULL, a case that never fires.
 *   - Check ctx_err(ctx) before the select: when the reader is ready and the
 *     context is done, the select picks at random, and a stage would go on
 *     sending after the cancel.
 *   - A plain chan_send would block for ever once the reader has gone away
 *     without reading on: the goroutine leak this lesson is about. */
static bool send_value(ctx_t *ctx, chan_t *out, int64_t value)
{
    (void)ctx;
    (void)out;
    (void)value;
    return false;
}

/* Stage functions given a NULL input propagate the upstream failure. */
static chan_t *propagate_failure(void)
{
    if (errno == 0)
        errno = EINVAL;
    return NULL;
}

/* ------------------------------------------------------------ one-goroutine stages */

typedef enum { STAGE_GENERATE, STAGE_MAP, STAGE_FILTER } stage_kind_t;

typedef struct {
    stage_kind_t     kind;
    ctx_t           *ctx;
    chan_t          *in; /* NULL for the generator */
    chan_t          *out;
    int64_t          count; /* generator: how many values */
    pipeline_map_fn  map;
    pipeline_pred_fn keep;
    void            *arg;
} stage_t;

/* Go's `defer close(out)`: downstream learns there is nothing more. Then
 * the goroutine's references go. */
static void stage_finish(stage_t *st)
{
    chan_close(st->out);
    chan_release(st->out);
    chan_release(st->in);
    ctx_release(st->ctx);
    goc_free(st);
}

static void stage_main(void *p)
{
    stage_t *st = p;
    int64_t  value;

    switch (st->kind) {
    case STAGE_GENERATE:
        for (int64_t i = 0; i < st->count; i++)
            if (!send_value(st->ctx, st->out, i))
                break;
        break;
    case STAGE_MAP:
    case STAGE_FILTER:
        /* EXERCISE 2: the map and filter stages. Receive each value from
         * st->in and send on st->out
         *   - STAGE_MAP:    st->map(st->arg, value), for every value;
         *   - STAGE_FILTER: value itself, only if st->keep(st->arg, value);
         * in order, and stop at the first receive that fails (input closed
         * and drained, or the context done) or the first send that fails.
         * Then just leave the switch: stage_finish below closes st->out,
         * which is how "no more values" reaches the next stage. Use
         * recv_value and send_value: every receive and every send must also
         * watch the context.
         *
         * As it stands both stages forward nothing.
         *
         * Hints:
         *   - STAGE_GENERATE above is the send side of the same loop.
         *   - Never return from here directly: the output would never be
         *     closed, and the stage after this one would wait for ever. */
        (void)value;
        break;
    }

    stage_finish(st);
}

/* Starts a goroutine running *proto; proto->in is the reference handed over
 * by the caller and is released on failure. */
static chan_t *start_stage(const stage_t *proto, const char *name)
{
    if (proto->kind != STAGE_GENERATE && proto->map == NULL && proto->keep == NULL) {
        chan_release(proto->in);
        errno = EINVAL;
        return NULL;
    }
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
    st->ctx = ctx_retain(ctx_or_background(proto->ctx));
    st->out = chan_retain(out);

    char label[NAME_SIZE];
    snprintf(label, sizeof label, "stage %s", name);
    int rc = go_named(label, stage_main, st);
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
    stage_t proto = {.kind = STAGE_GENERATE, .ctx = ctx, .count = n};
    return start_stage(&proto, "generate");
}

chan_t *pipeline_map(ctx_t *ctx, chan_t *in, const char *name, pipeline_map_fn fn, void *arg)
{
    if (in == NULL)
        return propagate_failure();
    stage_t proto = {.kind = STAGE_MAP, .ctx = ctx, .in = in, .map = fn, .arg = arg};
    return start_stage(&proto, name != NULL ? name : "map");
}

chan_t *pipeline_filter(ctx_t *ctx, chan_t *in, const char *name, pipeline_pred_fn keep, void *arg)
{
    if (in == NULL)
        return propagate_failure();
    stage_t proto = {.kind = STAGE_FILTER, .ctx = ctx, .in = in, .keep = keep, .arg = arg};
    return start_stage(&proto, name != NULL ? name : "filter");
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

/* ------------------------------------------------------------ parallel stage */

typedef struct {
    ctx_t          *ctx;
    chan_t         *in;
    chan_t         *out;
    pipeline_map_fn fn;
    void           *arg;
    atomic_int      running; /* workers (or unstarted slots) not yet accounted for */
} crew_t;

/* Called by whoever brings crew->running to zero: every send on out has
 * happened before, so closing now cannot cut a value off. This is the C
 * spelling of Go's `go func() { wg.Wait(); close(out) }()`. */
static void crew_finish(crew_t *crew)
{
    chan_close(crew->out);
    chan_release(crew->out);
    chan_release(crew->in);
    ctx_release(crew->ctx);
    goc_free(crew);
}

static void crew_leave(crew_t *crew, int how_many)
{
    if (atomic_fetch_sub(&crew->running, how_many) == how_many)
        crew_finish(crew);
}

static void parallel_worker(void *p)
{
    crew_t *crew = p;
    int64_t value;
    while (recv_value(crew->ctx, crew->in, &value) == 0) {
        trace_begin("work on %" PRId64, value);
        int64_t result = crew->fn(crew->arg, value);
        trace_end();
        if (!send_value(crew->ctx, crew->out, result))
            break;
    }
    crew_leave(crew, 1);
}

chan_t *pipeline_parallel_map(ctx_t *ctx, chan_t *in, const char *name, int workers,
                              pipeline_map_fn fn, void *arg)
{
    if (in == NULL)
        return propagate_failure();
    if (fn == NULL || workers < 1 || workers > MAX_WORKERS) {
        chan_release(in);
        errno = EINVAL;
        return NULL;
    }
    crew_t *crew = goc_malloc(sizeof *crew);
    chan_t *out = chan_make(sizeof(int64_t), 0);
    if (crew == NULL || out == NULL) {
        goc_free(crew);
        chan_release(out);
        chan_release(in);
        errno = ENOMEM;
        return NULL;
    }
    crew->ctx = ctx_retain(ctx_or_background(ctx));
    crew->in = in;
    crew->out = chan_retain(out);
    crew->fn = fn;
    crew->arg = arg;
    /* Count every slot before starting any worker, so that an early worker
     * cannot bring the count to zero while others are still being started. */
    atomic_init(&crew->running, workers);

    int started = 0, rc = 0;
    for (int i = 0; i < workers; i++) {
        char label[NAME_SIZE];
        snprintf(label, sizeof label, "stage %s %d", name != NULL ? name : "map", i + 1);
        rc = go_named(label, parallel_worker, crew);
        if (rc != 0)
            break;
        started++;
    }
    if (started < workers)
        crew_leave(crew, workers - started); /* may finish the crew if all started ones left */
    if (started == 0) {
        chan_release(out);
        errno = rc;
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------ tee */

typedef struct {
    ctx_t  *ctx;
    chan_t *in;
    chan_t *out[2];
} tee_t;

/* Delivers value once to each output, in whichever order they are ready.
 * A case that has delivered gets a NULL channel, which never fires again:
 * Go's trick of setting the channel variable to nil inside the select. */
static bool send_to_both(tee_t *tee, int64_t value)
{
    chan_case_t cases[3] = {chan_case_send(tee->out[0], &value),
                            chan_case_send(tee->out[1], &value),
                            chan_case_recv(ctx_done(tee->ctx), NULL)};
    for (int delivered = 0; delivered < 2; delivered++) {
        if (ctx_err(tee->ctx) != 0)
            return false;
        trace_wait("send %" PRId64 " to %s", value, delivered ? "the other" : "either");
        int chosen = chan_select(cases, 3);
        trace_end();
        if (chosen < 0 || chosen == 2 || cases[chosen].err != 0)
            return false;
        cases[chosen].chan = NULL;
    }
    return true;
}

static void tee_finish(tee_t *tee)
{
    for (int i = 0; i < 2; i++) {
        chan_close(tee->out[i]);
        chan_release(tee->out[i]);
    }
    chan_release(tee->in);
    ctx_release(tee->ctx);
    goc_free(tee);
}

static void tee_main(void *p)
{
    tee_t  *tee = p;
    int64_t value;
    while (recv_value(tee->ctx, tee->in, &value) == 0)
        if (!send_to_both(tee, value))
            break;
    tee_finish(tee);
}

int pipeline_tee(ctx_t *ctx, chan_t *in, chan_t **out1, chan_t **out2)
{
    if (out1 != NULL)
        *out1 = NULL;
    if (out2 != NULL)
        *out2 = NULL;
    if (in == NULL || out1 == NULL || out2 == NULL) {
        chan_release(in);
        return EINVAL;
    }
    tee_t  *tee = goc_malloc(sizeof *tee);
    chan_t *a = chan_make(sizeof(int64_t), 0);
    chan_t *b = chan_make(sizeof(int64_t), 0);
    if (tee == NULL || a == NULL || b == NULL) {
        goc_free(tee);
        chan_release(a);
        chan_release(b);
        chan_release(in);
        return ENOMEM;
    }
    tee->ctx = ctx_retain(ctx_or_background(ctx));
    tee->in = in;
    tee->out[0] = chan_retain(a);
    tee->out[1] = chan_retain(b);
    int rc = go_named("stage tee", tee_main, tee);
    if (rc != 0) {
        tee_finish(tee);
        chan_release(a);
        chan_release(b);
        return rc;
    }
    *out1 = a;
    *out2 = b;
    return 0;
}

/* ------------------------------------------------------------ sinks */

int pipeline_sink_run(ctx_t *ctx, chan_t *in, pipeline_sink_t *sink)
{
    if (in == NULL || sink == NULL) {
        chan_release(in);
        return EINVAL;
    }
    ctx = ctx_or_background(ctx);
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
    job->ctx = ctx_retain(ctx_or_background(ctx));
    job->in = in;
    job->sink = sink;
    job->wg = wg;

    char label[NAME_SIZE];
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
