/*
 * sema_storm.c - stress: a weighted semaphore under many threads, random
 * weights and random cancellations.
 *
 *     build/stress/sema_storm [--threads T] [--rounds R] [--size S]
 *
 * T threads each make R requests of a random weight (0..S) on one semaphore
 * of S tokens, each under a random context: none (waits as long as it
 * takes), a timeout of up to 200 us, a cancelable one that a canceler
 * thread may cancel while it waits, one already canceled, or a value
 * context that can never be done. Some requests are try-acquires, and now
 * and then a thread asks for more than S (it waits only for its context,
 * or is refused at once without one) or releases more than S (refused).
 *
 * Invariants:
 *   - the tokens held by the threads that got theirs never exceed S, and
 *     sema_held never reports more than S;
 *   - a request with no context that can end is always granted, even the
 *     biggest (no lost wake-up, no starvation: the watchdog fails a hang);
 *   - a request that gives up reports its context's reason and holds nothing;
 *   - misuse is refused with EINVAL; at the end the count is back to zero
 *     and nothing is left running or allocated.
 */
#include <stdatomic.h>

#include "common/context.h"
#include "common/go.h"
#include "common/sema.h"
#include "common/sync.h"
#include "stress/stress.h"

typedef struct {
    pthread_mutex_t lock;
    ctx_t          *waiting; /* the cancelable context its owner waits under, or NULL */
} slot_t;

typedef struct {
    int64_t      threads, rounds, size;
    sema_t      *sema;
    slot_t      *slots;
    atomic_llong in_use, peak;
    atomic_long  granted, gave_up, refused, canceled_by_other;
    atomic_bool  workers_done;
    waitgroup_t  workers, cancelers;
} storm_t;

typedef struct {
    storm_t *st;
    int64_t  id;
} role_t;

static char key; /* for the never-done value context */

static void hold(storm_t *st, int64_t n, uint64_t *rng)
{
    long long now = atomic_fetch_add(&st->in_use, n) + n;
    STRESS_CHECK(now <= st->size, "%lld tokens held at once, the size is %" PRId64, now, st->size);
    long long peak = atomic_load(&st->peak);
    while (now > peak && !atomic_compare_exchange_weak(&st->peak, &peak, now))
        ;
    int64_t held = sema_held(st->sema);
    STRESS_CHECK(held >= 0 && held <= st->size, "sema_held says %" PRId64, held);
    if (stress_below(rng, 2))
        go_yield();
    atomic_fetch_sub(&st->in_use, n);
    STRESS_CHECK(sema_release(st->sema, n) == 0, "releasing %" PRId64 " held tokens failed", n);
    atomic_fetch_add(&st->granted, 1);
}

static void worker(void *arg)
{
    role_t  *r = arg;
    storm_t *st = r->st;
    slot_t  *slot = &st->slots[r->id];
    uint64_t rng = 0x5E3A ^ ((uint64_t)(r->id + 1) << 28);
    for (int64_t round = 0; round < st->rounds; round++) {
        int64_t n = (int64_t)stress_below(&rng, (uint64_t)st->size + 1);
        int     how = (int)stress_below(&rng, 16);
        if (how == 0) { /* misuse, refused without a change */
            STRESS_CHECK(sema_release(st->sema, st->size + 1) == EINVAL, "over-release accepted");
            STRESS_CHECK(sema_acquire(st->sema, NULL, -1) == EINVAL, "a negative weight");
            STRESS_CHECK(sema_acquire(st->sema, NULL, st->size + 1) == EINVAL,
                         "a weight above the size with no context must be refused");
            atomic_fetch_add(&st->refused, 1);
            continue;
        }
        if (how == 1) {
            if (sema_try_acquire(st->sema, n))
                hold(st, n, &rng);
            continue;
        }
        ctx_t *ctx = NULL;
        bool   can_end = true;
        switch (how % 5) {
        case 0:
            can_end = false;
            break; /* NULL: never done */
        case 1:
            ctx = ctx_with_timeout(NULL, (duration_t)stress_below(&rng, 200 * TIME_MICROSECOND));
            break;
        case 2:
            ctx = ctx_with_cancel(NULL);
            ctx_cancel(ctx); /* already done: must fail even with free tokens */
            break;
        case 3:
            ctx = ctx_with_value(NULL, &key, NULL);
            can_end = false;
            break;
        default:
            ctx = ctx_with_cancel(NULL);
            break;
        }
        STRESS_CHECK(how % 5 == 0 || ctx != NULL, "context constructor failed");
        if (how % 5 == 4) { /* a canceler may end this one while it waits */
            pthread_mutex_lock(&slot->lock);
            slot->waiting = ctx_retain(ctx);
            pthread_mutex_unlock(&slot->lock);
        }
        bool too_big = can_end && stress_below(&rng, 32) == 0;
        int  rc = sema_acquire(st->sema, ctx, too_big ? st->size + 1 : n);
        if (how % 5 == 4) {
            pthread_mutex_lock(&slot->lock);
            ctx_t *mine = slot->waiting;
            slot->waiting = NULL;
            pthread_mutex_unlock(&slot->lock);
            ctx_release(mine);
        }
        if (rc == 0) {
            STRESS_CHECK(!too_big, "a request above the size was granted");
            STRESS_CHECK(how % 5 != 2, "granted under a context that was already canceled");
            hold(st, n, &rng);
        } else {
            STRESS_CHECK(can_end, "a request with no end gave up: %d", rc);
            int err = ctx_err(ctx);
            STRESS_CHECK(err != 0 && rc == err, "gave up with %d, the context says %d", rc, err);
            atomic_fetch_add(&st->gave_up, 1);
        }
        ctx_cancel(ctx);
        ctx_release(ctx);
    }
    waitgroup_done(&st->workers);
}

static void canceler(void *arg)
{
    role_t  *r = arg;
    storm_t *st = r->st;
    uint64_t rng = 0xCA11 ^ ((uint64_t)(r->id + 1) << 32);
    while (!atomic_load(&st->workers_done)) {
        slot_t *slot = &st->slots[stress_below(&rng, (uint64_t)st->threads)];
        pthread_mutex_lock(&slot->lock);
        ctx_t *ctx = ctx_retain(slot->waiting);
        pthread_mutex_unlock(&slot->lock);
        if (ctx) {
            ctx_cancel(ctx);
            atomic_fetch_add(&st->canceled_by_other, 1);
            ctx_release(ctx);
        }
        time_sleep((duration_t)stress_below(&rng, 50 * TIME_MICROSECOND));
    }
    waitgroup_done(&st->cancelers);
}

int main(int argc, char **argv)
{
    storm_t         st = {.threads = 16, .rounds = 20000, .size = 10};
    int64_t         cancelers = 2, limit = 300;
    stress_option_t opts[] = {
        {"threads", &st.threads, 1, 512, "threads acquiring and releasing"},
        {"rounds", &st.rounds, 1, INT64_C(1) << 32, "requests per thread"},
        {"size", &st.size, 1, 1 << 20, "tokens in the semaphore"},
        {"cancelers", &cancelers, 0, 64, "threads canceling waiters' contexts"},
        {"limit-s", &limit, 1, 86400, "fail if the whole program takes longer (seconds)"},
    };
    stress_parse("sema_storm",
                 "A weighted semaphore under random weights and cancellations: never over its "
                 "size, back to zero at the end.",
                 argc, argv, opts, sizeof opts / sizeof opts[0]);
    stress_watchdog_start(limit);
    leak_snapshot_t base = leak_snapshot();
    double          t0 = stress_seconds();

    st.sema = sema_new(st.size);
    st.slots = calloc((size_t)st.threads, sizeof *st.slots);
    role_t *roles = calloc((size_t)(st.threads + cancelers), sizeof *roles);
    STRESS_CHECK(st.sema && st.slots && roles, "out of memory");
    for (int64_t i = 0; i < st.threads; i++)
        pthread_mutex_init(&st.slots[i].lock, NULL);
    waitgroup_init(&st.workers);
    waitgroup_init(&st.cancelers);
    waitgroup_add(&st.workers, st.threads);
    waitgroup_add(&st.cancelers, cancelers);
    for (int64_t i = 0; i < st.threads + cancelers; i++) {
        bool is_worker = i < st.threads;
        roles[i] = (role_t){&st, is_worker ? i : i - st.threads};
        char name[32];
        snprintf(name, sizeof name, "%s %" PRId64, is_worker ? "worker" : "canceler", roles[i].id);
        int rc = go_named(name, is_worker ? worker : canceler, &roles[i]);
        STRESS_CHECK(rc == 0, "go_named failed: %d", rc);
    }
    waitgroup_wait(&st.workers);
    atomic_store(&st.workers_done, true);
    waitgroup_wait(&st.cancelers);

    STRESS_CHECK(sema_held(st.sema) == 0, "%" PRId64 " tokens still held at the end",
                 sema_held(st.sema));
    STRESS_CHECK(atomic_load(&st.in_use) == 0, "bookkeeping");
    STRESS_CHECK(sema_try_acquire(st.sema, st.size), "the whole size is not free at the end");
    STRESS_CHECK(sema_release(st.sema, st.size) == 0, "release");
    sema_free(st.sema);
    for (int64_t i = 0; i < st.threads; i++)
        pthread_mutex_destroy(&st.slots[i].lock);
    waitgroup_destroy(&st.workers);
    waitgroup_destroy(&st.cancelers);
    free(st.slots);
    free(roles);
    stress_check_clean(&base);
    stress_watchdog_stop();
    printf("stress sema_storm: OK: %" PRId64 " threads x %" PRId64 " requests on %" PRId64
           " tokens: %ld granted (peak %lld in use), %ld gave up (%ld cancels from outside), "
           "%ld misuses refused; back to zero: %.2f s\n",
           st.threads, st.rounds, st.size, atomic_load(&st.granted), atomic_load(&st.peak),
           atomic_load(&st.gave_up), atomic_load(&st.canceled_by_other), atomic_load(&st.refused),
           stress_seconds() - t0);
    return 0;
}
