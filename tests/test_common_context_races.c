/*
 * test_common_context_races.c - cancellation trees (common/context.h) across
 * threads: ctx_err and the done channel agree as other threads see them,
 * deadlines race with releases, a tree grows while threads cancel random
 * nodes (the storm), and every constructor survives each allocation
 * failure leaking nothing. The single-threaded semantics are in
 * test_common_context.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/common_context_helpers.h"
#include "tests/support/support.h"

/* ctx_err() != 0 and a closed done channel must agree in both directions,
 * as seen from other threads, at the very moment of cancellation. */
struct agree {
    ctx_t      *ctx;
    atomic_int  disagreements;
    waitgroup_t wg;
};

static void watch_err_then_done(void *arg)
{
    struct agree *a = arg;
    while (ctx_err(a->ctx) == 0)
        go_yield(); /* a goroutine that spins must let the others have the worker */
    if (chan_try_recv(ctx_done(a->ctx), NULL) != EPIPE)
        atomic_fetch_add(&a->disagreements, 1);
    waitgroup_done(&a->wg);
}

static void watch_done_then_err(void *arg)
{
    struct agree *a = arg;
    while (chan_try_recv(ctx_done(a->ctx), NULL) != EPIPE) /* spinning sees the close soonest */
        go_yield();
    if (ctx_err(a->ctx) == 0)
        atomic_fetch_add(&a->disagreements, 1);
    waitgroup_done(&a->wg);
}

static void block_on_done_then_err(void *arg)
{
    struct agree *a = arg;
    chan_recv(ctx_done(a->ctx), NULL);
    if (ctx_err(a->ctx) == 0)
        atomic_fetch_add(&a->disagreements, 1);
    waitgroup_done(&a->wg);
}

Test(context, err_and_done_agree_across_threads, .timeout = 30)
{
    support_begin();
    struct agree a = {.disagreements = 0};
    waitgroup_init(&a.wg);
    void (*watchers[])(void *) = {watch_err_then_done, watch_done_then_err, block_on_done_then_err};
    enum { WATCHERS = sizeof watchers / sizeof watchers[0] };
    /* Under valgrind every round is a crowd of threads taking turns on one
     * core (and M:N's idle workers nap between looks): a tenth of them. */
    int rounds = support_under_valgrind() ? 30 : 300;
    for (int round = 0; round < rounds; round++) {
        a.ctx = round % 2 ? ctx_with_cancel(NULL) : ctx_with_timeout(NULL, 100 * TIME_MICROSECOND);
        cr_assert_not_null(a.ctx);
        waitgroup_add(&a.wg, WATCHERS);
        for (int i = 0; i < WATCHERS; i++)
            cr_assert_eq(go(watchers[i], &a), 0);
        if (round % 2)
            ctx_cancel(a.ctx);
        waitgroup_wait(&a.wg);
        ctx_release(a.ctx);
    }
    waitgroup_destroy(&a.wg);
    cr_assert_eq(atomic_load(&a.disagreements), 0, "ctx_err and ctx_done disagreed");
    support_end();
}

Test(context, deadlines_race_with_release, .timeout = 20)
{
    support_begin();
    /* Deadlines right around now: the release meets the timer armed,
     * firing, or fired. */
    for (int i = 0; i < 2000; i++) {
        ctx_t *parent = ctx_with_timeout(NULL, (i % 40) * TIME_MICROSECOND);
        ctx_t *child = ctx_with_timeout(parent, (i % 7) * TIME_MICROSECOND);
        cr_assert_not_null(child);
        ctx_release(i % 2 ? parent : child);
        ctx_release(i % 2 ? child : parent);
    }
    support_end();
}

/* The storm: a tree that grows while several threads cancel random nodes. */
enum { STORM_INITIAL = 1000, STORM_ADDERS = 4, STORM_CANCELERS = 4, STORM_ADDS = 500 };
enum { STORM_MAX = STORM_INITIAL + STORM_ADDERS * STORM_ADDS };

struct storm {
    _Atomic(ctx_t *) nodes[STORM_MAX];
    atomic_int       count;
    atomic_int       failures;
    waitgroup_t      wg;
};

static ctx_t *storm_child(ctx_t *parent, unsigned r)
{
    static int key;
    switch (r % 4) {
    case 0:
        return ctx_with_value(parent, &key, NULL);
    case 1:
        return ctx_with_timeout(parent, HOUR);
    default:
        return ctx_with_cancel(parent);
    }
}

static void storm_adder(void *arg)
{
    struct storm *s = arg;
    unsigned      seed = (unsigned)(uintptr_t)&seed;
    for (int i = 0; i < STORM_ADDS; i++) {
        ctx_t *parent = NULL;
        while (parent == NULL) /* a slot may be claimed but not yet filled */
            parent = atomic_load(&s->nodes[rand_r(&seed) % atomic_load(&s->count)]);
        ctx_t *child = storm_child(parent, (unsigned)rand_r(&seed));
        if (child == NULL) {
            atomic_fetch_add(&s->failures, 1);
            continue;
        }
        atomic_store(&s->nodes[atomic_fetch_add(&s->count, 1)], child);
    }
    waitgroup_done(&s->wg);
}

static void storm_canceler(void *arg)
{
    struct storm *s = arg;
    unsigned      seed = (unsigned)(uintptr_t)&seed ^ 0x5bd1e995u;
    for (int i = 0; i < 2000; i++) {
        ctx_t *victim = atomic_load(&s->nodes[1 + rand_r(&seed) % (atomic_load(&s->count) - 1)]);
        if (victim) /* a slot may be claimed but not yet filled */
            ctx_cancel(victim);
    }
    waitgroup_done(&s->wg);
}

Test(context, cancel_storm, .timeout = 60)
{
    support_begin();
    struct storm *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    unsigned seed = 12345;
    atomic_store(&s->nodes[0], ctx_with_cancel(NULL));
    for (int i = 1; i < STORM_INITIAL; i++)
        atomic_store(&s->nodes[i], storm_child(atomic_load(&s->nodes[rand_r(&seed) % i]),
                                               (unsigned)rand_r(&seed)));
    atomic_store(&s->count, STORM_INITIAL);
    waitgroup_init(&s->wg);
    waitgroup_add(&s->wg, STORM_ADDERS + STORM_CANCELERS);
    for (int i = 0; i < STORM_ADDERS; i++)
        cr_assert_eq(go_named("storm adder", storm_adder, s), 0);
    for (int i = 0; i < STORM_CANCELERS; i++)
        cr_assert_eq(go_named("storm canceler", storm_canceler, s), 0);
    waitgroup_wait(&s->wg);
    waitgroup_destroy(&s->wg);
    cr_assert_eq(atomic_load(&s->failures), 0);
    int n = atomic_load(&s->count);
    cr_assert_eq(n, STORM_MAX);

    ctx_t *root = atomic_load(&s->nodes[0]);
    ctx_cancel(root);
    for (int i = 0; i < n; i++) {
        ctx_t *c = atomic_load(&s->nodes[i]);
        int    err = ctx_err(c);
        cr_assert(err == ECANCELED, "node %d: err %d after the root was canceled", i, err);
        cr_assert(is_done(c), "node %d: done not closed", i);
    }
    for (int i = 0; i < n; i++) { /* release in a scrambled order */
        int k = (int)(((long)i * 7919) % n);
        ctx_release(atomic_load(&s->nodes[k]));
    }
    free(s);
    cr_assert_eq(time_pending_timers(), 0);
    support_end();
}

Test(context, allocation_failure_leaks_nothing, .timeout = 10)
{
    support_begin();
    ctx_t *parent = ctx_with_cancel(NULL);
    int    key;
    size_t pending = time_pending_timers();
    for (int kind = 0; kind < 3; kind++) {
        for (int64_t budget = 0;; budget++) {
            cr_assert_lt(budget, 100, "still failing with a large allocation budget");
            int64_t live = alloc_live();
            alloc_fail_after(budget);
            errno = 0;
            ctx_t *c = kind == 0   ? ctx_with_cancel(parent)
                       : kind == 1 ? ctx_with_timeout(parent, HOUR)
                                   : ctx_with_value(parent, &key, NULL);
            int    err = errno;
            alloc_fail_reset();
            if (c != NULL) {
                ctx_cancel(c);
                ctx_release(c);
                break;
            }
            cr_assert_eq(err, ENOMEM);
            cr_assert_eq(alloc_live(), live, "a failed constructor leaked");
            cr_assert_eq(time_pending_timers(), pending);
        }
    }
    cr_assert_eq(ctx_err(parent), 0, "failures must not touch the parent");
    ctx_cancel(parent);
    ctx_release(parent);
    support_end();
}
