/*
 * exercises/fan.c - the STARTER of lesson 02's exercise (see README.md
 * beside this file): ../fan.c with the parts marked EXERCISE left for you.
 * Until you write them, `make exercise-02` fails; when it passes, compare
 * your file with the solution, ../fan.c. (`make exercises` writes this
 * file from the EXERCISE regions of ../fan.c.)
 */
/*
 * fan.c - fan-out workers and the select-based fan-in (see fan.h).
 *
 * Invariants:
 *   - every goroutine started here owns one reference to each channel it
 *     touches and one to its context, and drops them all as it returns;
 *   - every goroutine closes its own output channel on every way out (input
 *     drained, context done, output closed under it): a channel left open is
 *     a consumer blocked forever;
 *   - every blocking send is a select that also waits on ctx_done, so a
 *     goroutine whose reader has gone away still returns once the context is
 *     done.
 */
#include "02-fan-in-fan-out/fan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/trace.h"

chan_t *fan_chan_make(size_t cap)
{
    return chan_make(sizeof(fan_item_t), cap);
}

/* The done channel of ctx, or NULL (a select case that never fires) for a
 * context that is never done, including no context at all. */
static chan_t *done_of(ctx_t *ctx)
{
    return ctx ? ctx_done(ctx) : NULL;
}

/* Sends *item on out unless done closes first. Returns 0 (sent), ECANCELED,
 * EPIPE (out was closed by someone else: misuse, but we must not spin), or
 * the select's errno. */
static int send_or_done(chan_t *out, const fan_item_t *item, chan_t *done)
{
    chan_case_t cases[2] = {chan_case_send(out, item), chan_case_recv(done, NULL)};
    int         chosen = chan_select(cases, 2);
    if (chosen < 0)
        return errno;
    if (chosen == 1)
        return ECANCELED;
    return cases[0].err;
}

/* ------------------------------------------------------------- fan-out */

typedef struct {
    ctx_t   *ctx; /* the group's context: canceled with the caller's, or by fan_out on failure */
    chan_t  *in;
    chan_t  *out;
    size_t   id; /* 1..n */
    fan_fn_t fn;
    void    *arg;
} worker_t;

static void worker_run(void *arg)
{
    worker_t  *w = arg;
    chan_t    *done = done_of(w->ctx);
    fan_item_t item;

    /* Checking ctx_err first makes cancellation deterministic: a select with
     * both an item and done ready picks one at random. */
    while (ctx_err(w->ctx) == 0) {
        chan_case_t take[2] = {chan_case_recv(w->in, &item), chan_case_recv(done, NULL)};
        trace_wait("wait for a job"); /* spans for --trace/--timeline: common/trace.h */
        int chosen = chan_select(take, 2);
        trace_end();
        if (chosen != 0 || take[0].err != 0)
            break; /* done, input closed and drained, or select failed */

        int64_t result = 0;
        trace_begin("job %" PRId64, item.value);
        int dropped = w->fn(w->ctx, w->id, item.value, &result, w->arg);
        trace_end();
        if (dropped != 0)
            continue; /* the function dropped this item */
        if (ctx_err(w->ctx) != 0)
            break; /* fn may have cut its work short: its result means nothing */
        item.value = result;
        trace_wait("send result %" PRId64, result);
        int err = send_or_done(w->out, &item, done);
        trace_end();
        if (err != 0)
            break;
    }

    chan_close(w->out); /* this worker is its output's only sender */
    chan_release(w->out);
    chan_release(w->in);
    ctx_release(w->ctx);
    goc_free(w);
}

int fan_out(ctx_t *ctx, chan_t *in, size_t n, fan_fn_t fn, void *arg, chan_t **outs)
{
    if (in == NULL || fn == NULL || outs == NULL || n == 0)
        return EINVAL;

    /* A context of our own, so that a half-started group can be stopped
     * without touching the caller's context. */
    ctx_t *group = ctx_with_cancel(ctx);
    if (group == NULL)
        return ENOMEM;

    /* Allocate everything first: after that, only starting a thread can fail. */
    chan_t   **made = goc_calloc(n, sizeof *made);
    worker_t **workers = goc_calloc(n, sizeof *workers);
    int        err = made && workers ? 0 : ENOMEM;
    for (size_t i = 0; i < n && err == 0; i++) {
        made[i] = fan_chan_make(0);
        workers[i] = goc_malloc(sizeof *workers[i]);
        if (made[i] == NULL || workers[i] == NULL)
            err = ENOMEM;
    }

    for (size_t i = 0; i < n && err == 0; i++) {
        worker_t *w = workers[i];
        *w = (worker_t){ctx_retain(group), chan_retain(in), chan_retain(made[i]), i + 1, fn, arg};
        char name[32];
        snprintf(name, sizeof name, "worker %zu", i + 1);
        err = go_named(name, worker_run, w);
        if (err != 0) {
            chan_release(w->out);
            chan_release(w->in);
            ctx_release(w->ctx);
            break;
        }
        workers[i] = NULL; /* the goroutine frees it */
    }

    if (err != 0) {
        ctx_cancel(group); /* the workers already running close their outputs and return */
        for (size_t i = 0; made && i < n; i++)
            chan_release(made[i]);
        for (size_t i = 0; workers && i < n; i++)
            goc_free(workers[i]);
    } else {
        memcpy(outs, made, n * sizeof *made);
    }
    goc_free(made);
    goc_free(workers);
    ctx_release(group); /* the workers hold their own references */
    return err;
}

/* -------------------------------------------------------------- fan-in */

typedef enum { SOURCE_WAITING, SOURCE_HOLDING, SOURCE_CLOSED } source_state_t;

typedef struct {
    chan_t        *chan;
    fan_item_t     head;  /* ordered merge: the item received and not yet sent */
    source_state_t state; /* ordered merge only */
} source_t;

typedef struct {
    ctx_t       *ctx; /* may be NULL: never done */
    chan_t      *out;
    size_t       n;
    source_t    *sources; /* n of them */
    chan_case_t *cases;   /* n + 1: a receive per source, then ctx done */
} merger_t;

/* EXERCISE: the unordered merge, fan_in's goroutine ("fan-in").
 *
 * Forward every item that arrives on any of the m->n inputs
 * (m->sources[i].chan) to m->out, in whatever order they come, and return
 * when every input is closed and drained, or as soon as m->ctx is done. You
 * do not close m->out: merge_any_run does that right after you return, on
 * every way out. As it stands, the merge returns at once, so the merged
 * channel closes empty and the tests see nothing.
 *
 * The shape, one goroutine and one select (no goroutine per input):
 *   - m->cases has room for n + 1 cases: a receive on each input, then one
 *     on the done channel (done_of(m->ctx); NULL, a case that never fires,
 *     when there is no context). Fill them once, before the loop; all the
 *     input cases can receive into the same fan_item_t.
 *   - Loop: chan_select(m->cases, m->n + 1) returns the index of the case
 *     that proceeded. The done case means "stop now". An input case with
 *     err == EPIPE means that input is closed and drained. Otherwise you
 *     hold an item: forward it with send_or_done(m->out, &item, done),
 *     which gives up (non-zero) when the context is done.
 *
 * Hints:
 *   - A closed channel is always ready: a select that still has its case
 *     would pick it again and again. Drop a closed input by setting its
 *     case's .chan to NULL (Go's nil-channel trick: a NULL case never
 *     fires), and count the inputs still open; stop at zero. With n == 0
 *     there is nothing to wait for at all.
 *   - When an item and the done signal are both ready, chan_select picks one
 *     at random. Check ctx_err(m->ctx) before each select so a cancel wins.
 *   - chan_select returns -1 only if it could not allocate: stop then too.
 *   - merge_ordered below uses the same trick in a harder setting. Try
 *     yours first, then compare. */
static void merge_any(merger_t *m)
{
    (void)m;
}

/* The source to send next: the one holding seq `next`; failing that, if
 * `must` (no open input can still bring anything sooner), the smallest seq
 * held. n if none. */
static size_t pick_next(const merger_t *m, uint64_t next, bool must)
{
    size_t best = m->n;
    for (size_t i = 0; i < m->n; i++) {
        const source_t *s = &m->sources[i];
        if (s->state != SOURCE_HOLDING)
            continue;
        if (s->head.seq == next)
            return i;
        if (best == m->n || s->head.seq < m->sources[best].head.seq)
            best = i;
    }
    return must ? best : m->n;
}

/* Ordered: each source has a one-item slot. We receive only from sources
 * whose slot is empty (the others' cases are NULL), and send an item as soon
 * as it is the next seq. Since each input is in increasing seq order, the
 * next seq, if it exists, is at the head of some input; so n slots are all the
 * reorder buffer this needs. */
static void merge_ordered(merger_t *m)
{
    chan_t  *done = done_of(m->ctx);
    uint64_t next = 0;
    size_t   waiting = m->n; /* sources with an empty slot and an open channel */

    for (size_t i = 0; i < m->n; i++) {
        m->sources[i].state = SOURCE_WAITING;
        m->cases[i] = chan_case_recv(m->sources[i].chan, &m->sources[i].head);
    }
    m->cases[m->n] = chan_case_recv(done, NULL);

    for (;;) {
        size_t pick;
        while ((pick = pick_next(m, next, waiting == 0)) < m->n) {
            source_t *s = &m->sources[pick];
            trace_wait("forward %" PRId64, s->head.value);
            int err = send_or_done(m->out, &s->head, done);
            trace_end();
            if (err != 0)
                return;
            next = s->head.seq + 1;
            s->state = SOURCE_WAITING;
            m->cases[pick].chan = s->chan;
            waiting++;
        }
        if (waiting == 0 || ctx_err(m->ctx) != 0)
            return; /* every source closed and every slot sent, or canceled */

        trace_wait("wait for the result of job %" PRIu64, next + 1);
        int chosen = chan_select(m->cases, m->n + 1);
        trace_end();
        if (chosen < 0 || (size_t)chosen == m->n)
            return;
        m->cases[chosen].chan = NULL; /* slot full, or channel closed */
        m->sources[chosen].state = m->cases[chosen].err ? SOURCE_CLOSED : SOURCE_HOLDING;
        waiting--;
    }
}

static void merger_free(merger_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        chan_release(m->sources[i].chan);
    chan_release(m->out);
    ctx_release(m->ctx);
    goc_free(m->sources);
    goc_free(m->cases);
    goc_free(m);
}

static void merge_any_run(void *arg)
{
    merger_t *m = arg;
    merge_any(m);
    chan_close(m->out); /* the merger is the merged channel's only sender */
    merger_free(m);
}

static void merge_ordered_run(void *arg)
{
    merger_t *m = arg;
    merge_ordered(m);
    chan_close(m->out);
    merger_free(m);
}

static chan_t *start_merger(ctx_t *ctx, chan_t *const *inputs, size_t n, bool ordered)
{
    if (n > 0 && inputs == NULL) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (inputs[i] == NULL) {
            errno = EINVAL;
            return NULL;
        }
    }

    merger_t *m = goc_calloc(1, sizeof *m);
    chan_t   *out = fan_chan_make(0);
    if (m == NULL || out == NULL)
        goto nomem;
    m->sources = goc_calloc(n + 1, sizeof *m->sources);
    m->cases = goc_calloc(n + 1, sizeof *m->cases);
    if (m->sources == NULL || m->cases == NULL)
        goto nomem;

    m->ctx = ctx ? ctx_retain(ctx) : NULL;
    m->out = chan_retain(out);
    m->n = n;
    for (size_t i = 0; i < n; i++)
        m->sources[i].chan = chan_retain(inputs[i]);

    int err = go_named(ordered ? "fan-in ordered" : "fan-in",
                       ordered ? merge_ordered_run : merge_any_run, m);
    if (err != 0) {
        merger_free(m);
        chan_release(out);
        errno = err;
        return NULL;
    }
    return out;

nomem:
    if (m) {
        goc_free(m->sources);
        goc_free(m->cases);
    }
    goc_free(m);
    chan_release(out);
    errno = ENOMEM;
    return NULL;
}

chan_t *fan_in(ctx_t *ctx, chan_t *const *inputs, size_t n)
{
    return start_merger(ctx, inputs, n, false);
}

chan_t *fan_in_ordered(ctx_t *ctx, chan_t *const *inputs, size_t n)
{
    return start_merger(ctx, inputs, n, true);
}
