/*
 * test_common_faults.c - fault injection across the core: every API that
 * allocates, with the 1st, 2nd, ... n-th allocation failing in turn (the
 * sweep in faults.h). Semaphores and goroutines are in
 * test_common_faults_threads.c.
 *
 * The invariants, for every n until the call finally succeeds:
 *   - the call reports the failure (NULL with errno ENOMEM, or -1 with
 *     errno ENOMEM for a select) and does nothing else: no allocation,
 *     timer or goroutine is left behind;
 *   - objects made before it are untouched and still work (a channel
 *     still carries values in order, a parent context still cancels its
 *     children, pending timers still fire or cancel).
 *
 * The per-module tests already fail the first allocation of most
 * constructors (test_common_chan/context/timer/select); this file adds the
 * sweep over every n, the objects made before, and the paths that only
 * allocate in special states: a timer heap that has to grow, a blocking
 * select over more than 64 cases, releases that shrink the timer heap
 * while memory is out.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/faults.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND
#define HOUR (3600 * TIME_SECOND)

/* ------------------------------------------------------------ channels */

typedef struct {
    chan_t *before; /* cap 2, holding one value */
    size_t  elem, cap;
} chan_env_t;

static void *make_chan(void *env)
{
    chan_env_t *e = env;
    return chan_make(e->elem, e->cap);
}

static void unmake_chan(void *obj, void *env)
{
    chan_env_t *e = env;
    chan_t     *c = obj;
    long        v = 5, out = 0;
    if (chan_cap(c) > 0 && e->elem == sizeof v) {
        cr_assert_eq(chan_send(c, &v), 0);
        cr_assert_eq(chan_recv(c, &out), 0);
        cr_assert_eq(out, 5);
    }
    chan_release(c);
}

static void chan_still_fine(void *env)
{
    chan_env_t *e = env;
    long        v = 9, out = 0;
    cr_assert_eq(chan_len(e->before), 1, "the channel made before lost or gained a value");
    cr_assert_eq(chan_try_send(e->before, &v), 0);
    cr_assert_eq(chan_try_recv(e->before, &out), 0);
    cr_assert_eq(out, 41, "FIFO order of the channel made before");
    cr_assert_eq(chan_try_recv(e->before, &out), 0);
    cr_assert_eq(out, 9);
    out = 41;
    cr_assert_eq(chan_try_send(e->before, &out), 0);
}

Test(faults, chan_make_every_allocation, .timeout = 10)
{
    support_begin();
    chan_env_t env = {chan_make(sizeof(long), 2), 0, 0};
    long       v = 41;
    cr_assert_eq(chan_send(env.before, &v), 0);
    const size_t shapes[][2] = {
        {0, 0}, {0, 1000}, {sizeof(long), 0}, {sizeof(long), 64}, {4096, 16}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        env.elem = shapes[i][0];
        env.cap = shapes[i][1];
        sweep_t s = {"chan_make", make_chan, unmake_chan, chan_still_fine, ENOMEM};
        cr_assert_gt(sweep(&s, &env), 0, "chan_make allocates: its first allocation must fail");
    }
    chan_release(env.before);
    support_end();
}

/* A select over more than 64 cases allocates its bookkeeping: a failure
 * must refuse the whole select, before it takes or waits for anything. */
enum { WIDE = 70 };

typedef struct {
    chan_t     *ch[WIDE];
    chan_case_t cases[WIDE];
    long        out;
    bool        block;
} wide_env_t;

static void *do_wide_select(void *env)
{
    wide_env_t *e = env;
    int         k = e->block ? chan_select(e->cases, WIDE) : chan_try_select(e->cases, WIDE);
    return k < 0 ? NULL : (void *)(intptr_t)(k + 1);
}

static void wide_selected(void *obj, void *env)
{
    wide_env_t *e = env;
    cr_assert_eq((intptr_t)obj - 1, 66, "the one ready case");
    cr_assert_eq(e->out, 66);
}

static void wide_still_fine(void *env)
{
    wide_env_t *e = env;
    for (int i = 0; i < WIDE; i++)
        cr_assert_eq(chan_len(e->ch[i]), i == 66 && e->out != 66 ? 1u : 0u,
                     "a refused select must not take anything (channel %d)", i);
}

Test(faults, select_over_64_cases_every_allocation, .timeout = 10)
{
    support_begin();
    wide_env_t env = {.out = -1};
    for (int i = 0; i < WIDE; i++) {
        env.ch[i] = chan_make(sizeof(long), 1);
        env.cases[i] = chan_case_recv(env.ch[i], &env.out);
    }
    for (int blocking = 0; blocking < 2; blocking++) {
        long v = 66;
        env.out = -1;
        env.block = blocking;
        cr_assert_eq(chan_send(env.ch[66], &v), 0);
        sweep_t s = {blocking ? "chan_select" : "chan_try_select", do_wide_select, wide_selected,
                     wide_still_fine, ENOMEM};
        cr_assert_gt(sweep(&s, &env), 0);
    }

    /* Nothing ready and the bookkeeping cannot be had: fail at once rather
     * than wait (the test's timeout would catch a wait). */
    alloc_fail_after(0);
    errno = 0;
    int k = chan_select(env.cases, WIDE), err = errno;
    alloc_fail_reset();
    cr_assert_eq(k, -1);
    cr_assert_eq(err, ENOMEM);
    for (int i = 0; i < WIDE; i++)
        chan_release(env.ch[i]);
    support_end();
}

/* ------------------------------------------------------------ timers */

typedef struct {
    chan_t   *soon;  /* a time_after made before: it must still fire */
    ticker_t *tick;  /* a ticker made before: it must still tick */
    chan_t  **extra; /* pending hour-long timers, to make the heap grow */
    size_t    n_extra;
} timer_env_t;

static void *make_after(void *env)
{
    (void)env;
    return time_after(HOUR);
}

static void unmake_after(void *obj, void *env)
{
    (void)env;
    chan_release(obj); /* unfired: disarms it */
}

static void *make_ticker(void *env)
{
    (void)env;
    return ticker_new(HOUR);
}

static void unmake_ticker(void *obj, void *env)
{
    (void)env;
    ticker_stop(obj);
}

static void *make_timeout_ctx(void *env)
{
    (void)env;
    return ctx_with_timeout(NULL, HOUR);
}

static void unmake_ctx(void *obj, void *env)
{
    (void)env;
    ctx_cancel(obj);
    ctx_release(obj);
}

static void timers_still_fine(void *env)
{
    timer_env_t *e = env;
    cr_assert_eq(chan_len(e->soon), 0, "an hour has not passed");
}

/* Every timer constructor, swept at every heap size from empty to past two
 * growths (the heap lives in a static array first, then in allocated ones
 * that double), so that the allocation of a bigger heap fails too. */
Test(faults, timers_every_allocation_at_every_heap_size, .timeout = 30)
{
    support_begin();
    timer_env_t env = {.soon = time_after(HOUR), .tick = ticker_new(MS)};
    cr_assert(env.soon && env.tick);
    enum { EXTRA = 300 };
    env.extra = calloc(EXTRA, sizeof *env.extra);
    cr_assert_not_null(env.extra);
    const sweep_t sweeps[] = {
        {"time_after", make_after, unmake_after, timers_still_fine, ENOMEM},
        {"ticker_new", make_ticker, unmake_ticker, timers_still_fine, ENOMEM},
        {"ctx_with_timeout", make_timeout_ctx, unmake_ctx, timers_still_fine, ENOMEM},
    };
    /* One pass per constructor: a heap that has grown stays grown until it
     * is a quarter full, so each one needs its own climb from empty. */
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        int fewest = MAX_BUDGET, most = 0;
        for (env.n_extra = 0; env.n_extra < EXTRA; env.n_extra++) {
            int failures = sweep(&sweeps[i], &env);
            fewest = failures < fewest ? failures : fewest;
            most = failures > most ? failures : most;
            env.extra[env.n_extra] = time_after(HOUR);
            cr_assert_not_null(env.extra[env.n_extra]);
        }
        cr_assert_gt(most, fewest, "%s: a heap that has to grow adds an allocation",
                     sweeps[i].what);
        if (i + 1 < sizeof sweeps / sizeof sweeps[0])
            for (size_t k = 0; k < EXTRA; k++)
                chan_release(env.extra[k]);
    }

    /* The ticker made first still ticks, now that memory is back. */
    int64_t when;
    cr_assert_eq(chan_recv(ticker_chan(env.tick), &when), 0);

    /* Releasing timers shrinks the heap, which allocates a smaller one; with
     * memory out it keeps the bigger one, and nothing is lost. */
    alloc_fail_after(0);
    for (size_t i = 0; i < EXTRA; i += 2)
        chan_release(env.extra[i]);
    alloc_fail_reset();
    cr_assert_eq(time_pending_timers(), EXTRA / 2 + 2, "timers lost while the heap shrank");
    chan_t *now = time_after(MS); /* the heap still orders deadlines */
    cr_assert_not_null(now);
    cr_assert_eq(chan_recv(now, &when), 0);
    chan_release(now);
    for (size_t i = 1; i < EXTRA; i += 2)
        chan_release(env.extra[i]);
    free(env.extra);
    ticker_stop(env.tick);
    chan_release(env.soon);
    support_end();
}

/* ------------------------------------------------------------ contexts */

typedef struct {
    ctx_t *parent;  /* cancelable, or deadline, or value: made before */
    ctx_t *sibling; /* an earlier child: must still be canceled with the parent */
    int    kind;
    int    key;
} ctx_env_t;

static void *make_child(void *env)
{
    ctx_env_t *e = env;
    switch (e->kind) {
    case 0:
        return ctx_with_cancel(e->parent);
    case 1:
        return ctx_with_timeout(e->parent, HOUR);
    case 2:
        return ctx_with_deadline(e->parent, time_now() - 1); /* already past */
    case 3:
        return ctx_with_deadline(e->parent, INT64_MAX);
    default:
        return ctx_with_value(e->parent, &e->key, &e->key);
    }
}

static void ctx_still_fine(void *env)
{
    ctx_env_t *e = env;
    cr_assert_eq(ctx_err(e->parent), 0, "a failed constructor touched the parent");
    cr_assert_eq(ctx_err(e->sibling), 0);
}

Test(faults, contexts_every_allocation_under_every_kind_of_parent, .timeout = 10)
{
    support_begin();
    int    pkey;
    ctx_t *root = ctx_with_cancel(NULL);
    ctx_t *parents[] = {root, ctx_with_timeout(root, HOUR), ctx_with_value(root, &pkey, NULL),
                        ctx_background()};
    for (size_t p = 0; p < sizeof parents / sizeof parents[0]; p++) {
        for (int kind = 0; kind < 5; kind++) {
            ctx_env_t env = {.parent = parents[p], .kind = kind};
            env.sibling = ctx_with_cancel(parents[p]);
            sweep_t s = {"ctx_with_*", make_child, unmake_ctx, ctx_still_fine, ENOMEM};
            cr_assert_gt(sweep(&s, &env), 0);
            if (p < 3) { /* the parent still reaches the child it had before */
                ctx_t *doomed = ctx_with_cancel(parents[p]);
                ctx_cancel(root);
                cr_assert_eq(ctx_err(env.sibling), ECANCELED);
                cr_assert_eq(ctx_err(doomed), ECANCELED);
                ctx_release(doomed);
                ctx_release(env.sibling);
                /* A fresh tree for the next round. */
                ctx_release(parents[1]);
                ctx_release(parents[2]);
                ctx_release(root);
                root = parents[0] = ctx_with_cancel(NULL);
                parents[1] = ctx_with_timeout(root, HOUR);
                parents[2] = ctx_with_value(root, &pkey, NULL);
            } else {
                ctx_release(env.sibling);
            }
        }
    }
    ctx_release(parents[1]);
    ctx_release(parents[2]);
    ctx_release(root);
    support_end();
}
