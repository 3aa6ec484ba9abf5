/*
 * fuzz_core.c - libFuzzer harness: random operation sequences on channels,
 * select, contexts and a semaphore, run single-threaded against the model
 * of Go's semantics in model.h.
 *
 *     make fuzz                       (FUZZ_SECONDS=60)
 *     build/fuzz/fuzz_core FILE...    replays inputs (a crash, a seed)
 *
 * The input is a byte stream read as operations: an opcode byte, then the
 * bytes that operation needs (a missing byte reads as 0). Four channel
 * slots, eight context slots and one semaphore. After every operation:
 *   - its return value (and errno, and every byte it stored) is what the
 *     model says Go would do;
 *   - a blocking call is made only when the model says it will not block
 *     (otherwise the non-blocking form is used, and must say EAGAIN);
 *   - every live channel's length, every live context's reason and done
 *     channel agree with the model.
 * At the end everything is released, and live allocations, pending timers
 * and goroutines must be back where they were before the input.
 * Allocation failures are injected too: a constructor under them must
 * fail with ENOMEM and leave nothing behind.
 *
 * This file reads the operations and does the context, semaphore, failure
 * and misuse ones; chan_ops.c does the channel and select ones; model.c is
 * the model; harness.h is what they share.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/timer.h"
#include "fuzz/harness.h"
#include "fuzz/model.h"

#define HOUR (3600 * TIME_SECOND)

harness_t h;

static char keys[N_KEYS];
static char values[8];

unsigned next(void)
{
    if (h.left == 0)
        return 0;
    h.left--;
    return *h.in++;
}

/* ------------------------------------------------------------ contexts */

/* The parent named by a byte: a live slot, the background, or NULL. */
static ctx_t *parent_of(unsigned sel, int *node)
{
    unsigned s = sel % (N_CTX + 2);
    *node = -1;
    if (s < N_CTX && h.ctx[s]) {
        *node = h.node[s];
        return h.ctx[s];
    }
    return s == N_CTX ? NULL : ctx_background();
}

static void op_derive(unsigned slot)
{
    unsigned kind = next() % 5, psel = next(), arg = next();
    int      pnode, node;
    ctx_t   *parent = parent_of(psel, &pnode), *c = NULL;
    if (h.ctx[slot] || h.tree.n == MODEL_MAX_NODES)
        return;
    if (kind == 0) {
        c = ctx_with_cancel(parent);
        node = model_ctx_cancelable(&h.tree, pnode, false, 0, 0, false);
    } else if (kind == 1) {
        c = ctx_with_value(parent, &keys[arg % N_KEYS], &values[arg % 8]);
        node = model_ctx_value(&h.tree, pnode, &keys[arg % N_KEYS], &values[arg % 8]);
    } else if (kind == 2) { /* already past */
        int64_t d = time_now() - 1 - (int64_t)arg;
        c = ctx_with_deadline(parent, d);
        node = model_ctx_cancelable(&h.tree, pnode, true, d, d, true);
    } else if (kind == 3) { /* whole hours from the start: never overlaps a timeout */
        int64_t d = h.start + (1 + arg % 4) * HOUR;
        c = ctx_with_deadline(parent, d);
        node = model_ctx_cancelable(&h.tree, pnode, true, d, d, false);
    } else { /* half past: never equal to a deadline above */
        duration_t t = (1 + arg % 4) * HOUR + HOUR / 2;
        int64_t    lo = time_now() + t;
        c = ctx_with_timeout(parent, t);
        node = model_ctx_cancelable(&h.tree, pnode, true, lo, time_now() + t, false);
    }
    CHECK(c != NULL, "context constructor of kind %u failed: errno %d", kind, errno);
    h.ctx[slot] = c;
    h.node[slot] = node;
    h.ctx_refs[slot] = 1;
}

static void op_ctx_release(unsigned slot)
{
    ctx_release(h.ctx[slot]);
    if (--h.ctx_refs[slot] == 0)
        h.ctx[slot] = NULL;
}

static void op_ctx_query(unsigned slot)
{
    ctx_t        *c = h.ctx[slot];
    model_node_t *m = &h.tree.nodes[h.node[slot]];
    for (int k = 0; k < N_KEYS; k++)
        CHECK(ctx_value(c, &keys[k]) == model_ctx_lookup(&h.tree, h.node[slot], &keys[k]),
              "ctx_value of key %d", k);
    int64_t d = 0;
    bool    has = ctx_deadline(c, &d);
    CHECK(has == m->has_deadline, "ctx_deadline says %d", has);
    CHECK(!has || (d >= m->deadline_lo && d <= m->deadline_hi), "deadline %lld out of range",
          (long long)d);
}

/* ------------------------------------------------------- the semaphore */

static void op_sema(unsigned what)
{
    unsigned arg = next(), sel = next();
    if (h.sema == NULL) {
        h.sema_size = arg % 8;
        h.sema = sema_new(h.sema_size);
        CHECK(h.sema != NULL, "sema_new");
    }
    int64_t n = (int64_t)(arg % (unsigned)(h.sema_size + 3)) - 1; /* -1 .. size + 1 */
    bool    fits = n >= 0 && h.sema_size - h.sema_held >= n;
    if (what == 0) {
        bool ok = sema_try_acquire(h.sema, n);
        CHECK(ok == fits, "try_acquire(%lld) said %d with %lld held", (long long)n, ok,
              (long long)h.sema_held);
        h.sema_held += ok ? n : 0;
    } else if (what == 1) {
        int rc = sema_release(h.sema, n), want = n < 0 || n > h.sema_held ? EINVAL : 0;
        CHECK(rc == want, "release(%lld): %d with %lld held", (long long)n, rc,
              (long long)h.sema_held);
        h.sema_held -= rc == 0 ? n : 0;
    } else {
        int    node;
        ctx_t *ctx = parent_of(sel, &node);
        int    err = node < 0 ? 0 : model_ctx_err(&h.tree, node), want;
        bool   never_done = node < 0 || model_ctx_owner(&h.tree, node) < 0;
        if (n < 0)
            want = EINVAL;
        else if (err != 0)
            want = err;
        else if (fits)
            want = 0;
        else if (n > h.sema_size && never_done)
            want = EINVAL;
        else
            return; /* it would wait: not single-threaded */
        int rc = sema_acquire(h.sema, ctx, n);
        CHECK(rc == want, "acquire(%lld): %d, the model says %d", (long long)n, rc, want);
        h.sema_held += rc == 0 ? n : 0;
    }
    CHECK(sema_held(h.sema) == h.sema_held, "sema_held %lld, model %lld",
          (long long)sema_held(h.sema), (long long)h.sema_held);
}

/* -------------------------------------------- failures and misuse */

static void op_fail_alloc(unsigned what, unsigned budget)
{
    int     pnode;
    ctx_t  *parent = parent_of(next(), &pnode);
    int64_t live = alloc_live();
    size_t  timers = time_pending_timers();
    void   *made;
    alloc_fail_after(budget % 3);
    errno = 0;
    switch (what % 4) {
    case 0:
        made = chan_make(8, what % 3);
        break;
    case 1:
        made = ctx_with_cancel(parent);
        break;
    case 2:
        made = ctx_with_timeout(parent, HOUR / 3);
        break;
    default:
        made = ctx_with_value(parent, &keys[0], NULL);
        break;
    }
    int err = errno;
    alloc_fail_reset();
    if (made == NULL) {
        CHECK(err == ENOMEM, "a failed constructor set errno %d", err);
        CHECK(alloc_live() == live, "a failed constructor leaked");
        CHECK(time_pending_timers() == timers, "a failed constructor left a timer armed");
    } else if (what % 4 == 0) {
        chan_release(made);
    } else {
        ctx_release(made); /* a child released at once: unobservable */
    }
}

static void op_misuse(unsigned slot)
{
    uint8_t buf[MAX_ELEM] = {0};
    CHECK(chan_send(NULL, buf) == EINVAL && chan_recv(NULL, buf) == EINVAL, "NULL channel");
    CHECK(chan_try_send(NULL, buf) == EINVAL && chan_try_recv(NULL, buf) == EINVAL, "NULL");
    CHECK(chan_close(NULL) == EINVAL && chan_len(NULL) == 0 && chan_cap(NULL) == 0, "NULL");
    ctx_cancel(NULL);
    ctx_cancel(ctx_background());
    ctx_release(ctx_background());
    CHECK(ctx_err(NULL) == 0 && ctx_err(ctx_background()) == 0, "background");
    if (h.mc[slot].live && h.mc[slot].elem > 0) {
        CHECK(chan_send(h.chan[slot], NULL) == EINVAL, "a NULL value");
        CHECK(chan_try_send(h.chan[slot], NULL) == EINVAL, "a NULL value");
    }
}

/* ------------------------------------------------------------ the run */

static void check_all(void)
{
    for (int s = 0; s < N_CHANS; s++)
        if (h.mc[s].live)
            CHECK(chan_len(h.chan[s]) == h.mc[s].len, "slot %d: chan_len %zu, model %zu", s,
                  chan_len(h.chan[s]), h.mc[s].len);
    for (int s = 0; s < N_CTX; s++) {
        if (!h.ctx[s])
            continue;
        int     want = model_ctx_err(&h.tree, h.node[s]), err = ctx_err(h.ctx[s]);
        chan_t *done = ctx_done(h.ctx[s]);
        CHECK(err == want, "context slot %d: ctx_err %d, the model says %d", s, err, want);
        CHECK((done == NULL) == (model_ctx_owner(&h.tree, h.node[s]) < 0),
              "context slot %d: done channel %p", s, (void *)done);
        if (done)
            CHECK(chan_try_recv(done, NULL) == (want ? EPIPE : EAGAIN), "slot %d: done", s);
    }
}

static const char *const op_names[16] = {
    "make",   "send",   "recv",        "close",      "retain", "release", "select", "cap",
    "derive", "cancel", "ctx_release", "ctx_retain", "query",  "sema",    "fail",   "misuse"};

/* FUZZ_TRACE=1 in the environment prints each operation to stderr, for
 * reading what a crashing input does: build/fuzz/fuzz_core crash-... */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int trace = -1;
    if (trace < 0)
        trace = getenv("FUZZ_TRACE") != NULL;
    memset(&h, 0, sizeof h);
    h.in = data;
    h.left = size;
    h.start = time_now();
    int64_t live = alloc_live();
    size_t  timers = time_pending_timers(), running = go_count();

    for (h.op = 0; h.left > 0; h.op++) {
        unsigned op = next() % 16, arg = next(), cs = arg % N_CHANS, xs = arg % N_CTX;
        bool     chan_live = h.mc[cs].live, ctx_live = h.ctx[xs] != NULL;
        if (trace)
            fprintf(stderr, "%3d %-10s arg %3u (chan slot %u%s, ctx slot %u%s)\n", h.op,
                    op_names[op], arg, cs, chan_live ? "" : " empty", xs, ctx_live ? "" : " empty");
        switch (op) {
        case 0:
            op_make(cs);
            break;
        case 1:
            if (chan_live)
                op_send(cs, arg >> 4);
            break;
        case 2:
            if (chan_live)
                op_recv(cs, arg >> 4);
            break;
        case 3:
            if (chan_live) {
                int want = model_close(&h.mc[cs]), rc = chan_close(h.chan[cs]);
                CHECK(rc == want, "close: %d, the model says %d", rc, want);
            }
            break;
        case 4:
            if (chan_live && h.mc[cs].refs < 100) {
                CHECK(chan_retain(h.chan[cs]) == h.chan[cs], "chan_retain");
                h.mc[cs].refs++;
            }
            break;
        case 5:
            if (chan_live)
                op_release(cs);
            break;
        case 6:
            op_select(arg);
            break;
        case 7:
            if (chan_live)
                CHECK(chan_cap(h.chan[cs]) == h.mc[cs].cap, "chan_cap");
            break;
        case 8:
            op_derive(xs);
            break;
        case 9:
            if (ctx_live) {
                ctx_cancel(h.ctx[xs]);
                model_ctx_cancel(&h.tree, h.node[xs]);
            }
            break;
        case 10:
            if (ctx_live)
                op_ctx_release(xs);
            break;
        case 11:
            if (ctx_live && h.ctx_refs[xs] < 100) {
                CHECK(ctx_retain(h.ctx[xs]) == h.ctx[xs], "ctx_retain");
                h.ctx_refs[xs]++;
            }
            break;
        case 12:
            if (ctx_live)
                op_ctx_query(xs);
            break;
        case 13:
            op_sema(arg % 3);
            break;
        case 14:
            op_fail_alloc(arg, arg >> 2);
            break;
        default:
            op_misuse(cs);
            break;
        }
        check_all();
    }

    for (int s = 0; s < N_CHANS; s++)
        while (h.mc[s].live)
            op_release((unsigned)s);
    for (int s = 0; s < N_CTX; s++)
        while (h.ctx[s])
            op_ctx_release((unsigned)s);
    if (h.sema) {
        CHECK(sema_release(h.sema, h.sema_held) == 0, "giving back what is held");
        sema_free(h.sema);
    }
    CHECK(alloc_live() == live, "%lld allocations not freed", (long long)(alloc_live() - live));
    CHECK(time_pending_timers() == timers, "%zu timers left armed", time_pending_timers() - timers);
    CHECK(go_count() == running, "goroutines left running");
    return 0;
}
