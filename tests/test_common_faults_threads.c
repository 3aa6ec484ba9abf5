/*
 * test_common_faults_threads.c - fault injection where threads wait or
 * start: the semaphore's slow path (a waiter that has to sleep allocates
 * its wake-up channel) and go() (its bookkeeping, and pthread_create
 * failing through go_fail_after). The invariants are those of
 * test_common_faults.c: the failure is reported (ENOMEM, or EAGAIN for a
 * thread), nothing is left behind, and what was made before still works:
 * a waiter queued earlier is still served, goroutines already started run.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/sync.h"
#include "common/timer.h"
#include "tests/faults.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND

/* ------------------------------------------------------------ semaphore */

static void *make_sema(void *env)
{
    (void)env;
    return sema_new(3);
}

static void unmake_sema(void *obj, void *env)
{
    (void)env;
    cr_assert_eq(sema_acquire(obj, NULL, 3), 0);
    cr_assert_eq(sema_release(obj, 3), 0);
    sema_free(obj);
}

typedef struct {
    sema_t     *s;     /* size 2, both tokens held by the test */
    ctx_t      *ctx;   /* the failing acquirer's: ends after a few ms */
    atomic_int  first; /* the waiter queued before: 0 waiting, 1 granted */
    waitgroup_t wg;
} queue_env_t;

static void queued_first(void *arg)
{
    queue_env_t *e = arg;
    int          rc = sema_acquire(e->s, NULL, 1); /* queued before every sweep */
    cr_assert_eq(rc, 0);
    atomic_store(&e->first, 1);
    waitgroup_done(&e->wg);
}

/* The slow path: the request has to queue, and a sleeping waiter needs a
 * wake-up channel. Success here means "queued and timed out": ETIMEDOUT. */
static void *acquire_slow(void *env)
{
    queue_env_t *e = env;
    ctx_t       *ctx = ctx_with_timeout(NULL, 2 * MS);
    if (ctx == NULL)
        return NULL;
    int rc = sema_acquire(e->s, ctx, 1);
    ctx_release(ctx);
    if (rc == ENOMEM) {
        errno = ENOMEM;
        return NULL;
    }
    cr_assert_eq(rc, ETIMEDOUT, "the acquire had no token to get");
    return e;
}

static void acquired_nothing(void *obj, void *env)
{
    (void)obj;
    (void)env;
}

static void queue_still_fine(void *env)
{
    queue_env_t *e = env;
    cr_assert_eq(sema_held(e->s), 2, "a failed acquire took or gave tokens");
    cr_assert_eq(atomic_load(&e->first), 0, "the first waiter was served without a release");
}

Test(faults, sema_new_and_the_acquire_slow_path, .timeout = 20)
{
    support_begin();
    sweep_t s = {"sema_new", make_sema, unmake_sema, NULL, ENOMEM};
    cr_assert_gt(sweep(&s, NULL), 0);

    queue_env_t env = {.s = sema_new(2)};
    cr_assert_eq(sema_acquire(env.s, NULL, 2), 0);
    waitgroup_init(&env.wg);
    waitgroup_add(&env.wg, 1);
    int64_t live = alloc_live();
    cr_assert_eq(go_named("queued first", queued_first, &env), 0);
    /* Until it is queued and asleep: its record (if counted) and its
     * wake-up channel allocated, so that no injected failure can hit it. */
    while (sema_try_acquire(env.s, 0) || alloc_live() < live + support_record_allocs() + 1)
        time_sleep(100 * TIME_MICROSECOND);
    sweep_t slow = {"sema_acquire", acquire_slow, acquired_nothing, queue_still_fine, ENOMEM};
    sweep(&slow, &env);
    cr_assert_eq(sema_release(env.s, 1), 0); /* the waiter queued first still gets it */
    waitgroup_wait(&env.wg);
    cr_assert_eq(atomic_load(&env.first), 1);
    cr_assert_eq(sema_release(env.s, 2), 0);
    cr_assert_eq(sema_held(env.s), 0);
    waitgroup_destroy(&env.wg);
    sema_free(env.s);
    support_end();
}

/* ------------------------------------------------------------ goroutines */

typedef struct {
    chan_t     *gate;
    atomic_int  ran;
    waitgroup_t wg;
} go_env_t;

static void blocked_on_gate(void *arg)
{
    go_env_t *e = arg;
    atomic_fetch_add(&e->ran, 1);
    chan_recv(e->gate, NULL);
    waitgroup_done(&e->wg);
}

static void *start_goroutine(void *env)
{
    go_env_t *e = env;
    waitgroup_add(&e->wg, 1);
    int rc = go_named("gated", blocked_on_gate, e);
    if (rc != 0) {
        waitgroup_done(&e->wg);
        errno = rc;
        return NULL;
    }
    return e;
}

static void started(void *obj, void *env)
{
    (void)obj;
    (void)env;
}

Test(faults, go_every_allocation, .timeout = 10)
{
    support_begin();
    go_env_t env = {.gate = chan_make(0, 0)};
    waitgroup_init(&env.wg);
    sweep_t s = {"go_named", start_goroutine, started, NULL, ENOMEM};
    cr_assert_gt(sweep(&s, &env), 0);
    cr_assert_eq(chan_close(env.gate), 0);
    waitgroup_wait(&env.wg);
    cr_assert_eq(atomic_load(&env.ran), 1, "a goroutine whose go() failed ran anyway");
    waitgroup_destroy(&env.wg);
    chan_release(env.gate);
    support_end();
}

/* pthread_create failing (go_fail_after): after n goroutines have started,
 * the next go() says EAGAIN, starts nothing and leaves go_count alone; the
 * n already started are unharmed. */
Test(faults, go_when_threads_cannot_be_created, .timeout = 20)
{
    support_begin();
    size_t base = go_count();
    for (int64_t n = 0; n < 6; n++) {
        go_env_t env = {.gate = chan_make(0, 0)};
        waitgroup_init(&env.wg);
        int64_t live = alloc_live();
        go_fail_after(n);
        for (int64_t i = 0; i < n; i++)
            cr_assert_not_null(start_goroutine(&env), "goroutine %lld of %lld allowed",
                               (long long)i + 1, (long long)n);
        errno = 0;
        cr_assert_null(start_goroutine(&env));
        cr_assert_eq(errno, EAGAIN, "go() failing to create a thread: %d", errno);
        cr_assert_eq(go(blocked_on_gate, &env), EAGAIN, "and it keeps failing until reset");
        go_fail_reset();
        cr_assert_eq(go_count(), base + (size_t)n, "go_count counted a failed start");
        cr_assert_eq(alloc_live(), live + n * support_record_allocs(),
                     "a failed start left its bookkeeping behind");
        cr_assert_eq(chan_close(env.gate), 0);
        waitgroup_wait(&env.wg);
        cr_assert_eq(atomic_load(&env.ran), n, "only the goroutines that started ran");
        waitgroup_destroy(&env.wg);
        chan_release(env.gate);
        /* They leave a moment after their last waitgroup_done: wait, so the
         * next round counts from a quiet start. */
        support_settle(base, live - 1);
        cr_assert_eq(go_count(), base);
    }
    go_fail_after(-3); /* negative: the next one fails */
    cr_assert_eq(go(blocked_on_gate, NULL), EAGAIN);
    go_fail_reset();
    support_end();
}
