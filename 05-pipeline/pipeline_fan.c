/*
 * pipeline_fan.c - the stages of lesson 05 with more than one goroutine or
 * more than one output (see pipeline.h for the contract): parallel_map, a
 * crew of goroutines on one input and one output (fan-out and fan-in inside
 * a pipeline), and tee, one input copied to two outputs (broadcast).
 *
 * Invariants, on top of pipeline.c's:
 *   - For parallel_map the "stage" is the crew of workers: the references on
 *     the context, the input and the output belong to the crew, and the
 *     worker that brings the crew's running count to zero closes the output
 *     and drops them. Every send on the output happens before that close.
 *   - The tee is the only sender on both its outputs and closes both when it
 *     returns; each value goes to each output exactly once, in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "05-pipeline/pipeline.h"
#include "05-pipeline/pipeline_internal.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

#define MAX_WORKERS 64

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
    close_and_release(crew->ctx, crew->in, crew->out);
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
    map_each(crew->ctx, crew->in, crew->out, crew->fn, crew->arg);
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
    crew->ctx = ctx_retain(pipeline_ctx_or_background(ctx));
    crew->in = in;
    crew->out = chan_retain(out);
    crew->fn = fn;
    crew->arg = arg;
    /* Count every slot before starting any worker, so that an early worker
     * cannot bring the count to zero while others are still being started. */
    atomic_init(&crew->running, workers);

    int started = 0, rc = 0;
    for (int i = 0; i < workers; i++) {
        char label[PIPELINE_NAME_SIZE];
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
    tee->ctx = ctx_retain(pipeline_ctx_or_background(ctx));
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
