/*
 * wl_misc.c - the workloads of the other core objects: ctx_cancel,
 * sema_uncontended, sema_contended and timers_100k.
 */
#include <errno.h>
#include <stdio.h>

#include "bench/bench.h"
#include "common/alloc.h"
#include "common/context.h"
#include "common/leak.h"
#include "common/sema.h"
#include "common/timer.h"

/* ---------------------------------------------------------- ctx_cancel */

int wl_ctx_cancel(int64_t n, int64_t *elapsed_ns)
{
    ctx_t *parent = ctx_with_cancel(NULL);
    if (parent == NULL)
        return bench_fail("ctx_cancel", ENOMEM, "cannot make the parent context");

    int64_t t0 = time_now();
    int64_t done = 0;
    for (; done < n; done++) {
        ctx_t *child = ctx_with_cancel(parent);
        if (child == NULL)
            break;
        ctx_cancel(child);
        ctx_release(child);
    }
    int64_t t1 = time_now();

    int parent_err = ctx_err(parent);
    ctx_cancel(parent);
    ctx_release(parent);
    *elapsed_ns = t1 - t0;
    if (done != n)
        return bench_fail("ctx_cancel", ENOMEM, "child %lld of %lld could not be made",
                          (long long)done, (long long)n);
    if (parent_err != 0)
        return bench_fail("ctx_cancel", EPROTO, "cancelling children made the parent done");
    return 0;
}

/* ---------------------------------------------------- sema_uncontended */

int wl_sema_uncontended(int64_t n, int64_t *elapsed_ns)
{
    sema_t *s = sema_new(1);
    ctx_t  *ctx = ctx_with_cancel(NULL); /* live and cancelable: the usual case */
    if (s == NULL || ctx == NULL) {
        sema_free(s);
        ctx_release(ctx);
        return bench_fail("sema_uncontended", ENOMEM, "cannot make the semaphore or context");
    }

    int64_t t0 = time_now();
    int64_t pairs = 0;
    for (; pairs < n; pairs++)
        if (sema_acquire(s, ctx, 1) != 0 || sema_release(s, 1) != 0)
            break;
    int64_t t1 = time_now();

    int64_t held = sema_held(s);
    sema_free(s);
    ctx_cancel(ctx);
    ctx_release(ctx);
    *elapsed_ns = t1 - t0;
    if (pairs != n || held != 0)
        return bench_fail("sema_uncontended", EPROTO, "pair %lld of %lld failed, %lld held",
                          (long long)pairs, (long long)n, (long long)held);
    return 0;
}

/* ------------------------------------------------------ sema_contended */

enum { SEMA_THREADS = 4, SEMA_SIZE = 2 };

typedef struct {
    bench_crew_t *crew;
    sema_t       *sema;
    ctx_t        *ctx;
    int64_t       pairs; /* to do, then done */
} sema_user_t;

static void sema_user(void *arg)
{
    sema_user_t *u = arg;
    int64_t      done = 0;
    if (crew_wait_start(u->crew)) {
        for (; done < u->pairs; done++)
            if (sema_acquire(u->sema, u->ctx, 1) != 0 || sema_release(u->sema, 1) != 0)
                break;
    }
    u->pairs = done;
    crew_leave(u->crew);
}

int wl_sema_contended(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("sema_contended", ENOMEM, "out of memory");
    sema_t     *s = sema_new(SEMA_SIZE);
    ctx_t      *ctx = ctx_with_cancel(NULL);
    sema_user_t users[SEMA_THREADS];
    int         rc = s == NULL || ctx == NULL ? ENOMEM : 0;
    for (int i = 0; i < SEMA_THREADS && rc == 0; i++) {
        users[i] = (sema_user_t){&crew, s, ctx, n / SEMA_THREADS + (i < n % SEMA_THREADS)};
        char name[32];
        snprintf(name, sizeof name, "sema user %d", i);
        rc = crew_go(&crew, name, sema_user, &users[i]);
    }
    if (rc != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        sema_free(s);
        ctx_release(ctx);
        return bench_fail("sema_contended", rc, "cannot set up the semaphore and threads");
    }

    int64_t t0 = crew_start(&crew);
    int64_t t1 = crew_join(&crew);
    crew_destroy(&crew);
    int64_t held = sema_held(s);
    sema_free(s);
    ctx_cancel(ctx);
    ctx_release(ctx);

    *elapsed_ns = t1 - t0;
    int64_t pairs = 0;
    for (int i = 0; i < SEMA_THREADS; i++)
        pairs += users[i].pairs;
    if (pairs != n || held != 0)
        return bench_fail("sema_contended", EPROTO, "%lld of %lld pairs done, %lld held",
                          (long long)pairs, (long long)n, (long long)held);
    return 0;
}

/* --------------------------------------------------------- timers_100k */

/* Deadlines an hour or two away, in a scrambled order, so the heap sees
 * inserts and removals all over it rather than only at one end. */
static duration_t scrambled_delay(int64_t i)
{
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15u;
    return TIME_SECOND * 3600 + (duration_t)((h >> 16) % (uint64_t)(TIME_SECOND * 3600));
}

int wl_timers(int64_t n, int64_t *elapsed_ns)
{
    chan_t **timers = goc_calloc((size_t)n, sizeof *timers);
    if (timers == NULL)
        return bench_fail("timers_100k", ENOMEM, "cannot allocate %lld slots", (long long)n);
    size_t pending_before = time_pending_timers();

    /* The clock is paused twice for the checks (they read /proc). The first
     * timer may start the timer thread (and, under TSan, its helper
     * thread); the n - 1 after it must not start any. Threads of an earlier
     * workload may still be leaving, so the count may drop, never rise. */
    int64_t t0 = time_now();
    timers[0] = time_after(scrambled_delay(0));
    int64_t t_first = time_now();
    /* The core's own threads (the timer thread, M:N workers that start
     * when a goroutine first needs one) are left out: only a thread per
     * timer would be a failure. */
    long    threads_after_first = leak_snapshot().threads;
    int64_t t_rest = time_now();
    int64_t armed = timers[0] != NULL;
    for (; armed > 0 && armed < n; armed++) {
        timers[armed] = time_after(scrambled_delay(armed));
        if (timers[armed] == NULL)
            break;
    }
    int64_t t_armed = time_now();

    size_t pending = time_pending_timers() - pending_before;
    long   threads_added = leak_snapshot().threads - threads_after_first;

    int64_t t_release = time_now();
    for (int64_t i = armed - 1; i >= 0; i--)
        chan_release(timers[i]);
    int64_t t1 = time_now();
    goc_free(timers);

    *elapsed_ns = (t_first - t0) + (t_armed - t_rest) + (t1 - t_release);
    if (armed != n)
        return bench_fail("timers_100k", ENOMEM, "timer %lld of %lld could not be armed",
                          (long long)armed, (long long)n);
    if (pending != (size_t)n)
        return bench_fail("timers_100k", EPROTO, "%zu timers pending, expected %lld", pending,
                          (long long)n);
    if (threads_after_first >= 0 && threads_added > 0)
        return bench_fail("timers_100k", EPROTO, "%lld more pending timers added %ld threads",
                          (long long)n - 1, threads_added);
    return 0;
}
