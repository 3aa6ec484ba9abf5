/*
 * test_common_lock.c - the core's small lock (common/lock.h): what
 * lock_is_held reports, and mutual exclusion between threads and between
 * goroutines, contended on purpose (a counter that only the lock keeps
 * exact, with a read and a write far enough apart to be interleaved).
 */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "common/go.h"
#include "common/lock.h"
#include "common/sync.h"
#include "tests/support/support.h"

enum { WORKERS = 4, ROUNDS = 20000 };

typedef struct {
    lock_t      lock;
    long        counter; /* only under lock */
    atomic_int  inside;  /* how many are in the critical section right now */
    atomic_int  overlaps;
    atomic_int  not_held; /* times lock_is_held said no to a holder */
    waitgroup_t done;
} shared_t;

static void count_under_lock(void *arg)
{
    shared_t *s = arg;
    for (int i = 0; i < ROUNDS; i++) {
        lock_acquire(&s->lock);
        if (!lock_is_held(&s->lock)) /* asserted by the test, not here: not its thread */
            atomic_fetch_add(&s->not_held, 1);
        if (atomic_fetch_add(&s->inside, 1) != 0)
            atomic_fetch_add(&s->overlaps, 1);
        long seen = s->counter;
        for (int spin = 0; spin < 8; spin++)
            cpu_relax(); /* widen the window a broken lock would let others in */
        s->counter = seen + 1;
        atomic_fetch_sub(&s->inside, 1);
        lock_release(&s->lock);
    }
    waitgroup_done(&s->done);
}

static void run_contended(bool as_goroutines)
{
    shared_t s = {.counter = 0};
    waitgroup_init(&s.done);
    waitgroup_add(&s.done, WORKERS);
    for (int i = 0; i < WORKERS; i++) {
        int rc = as_goroutines ? go_named("counter", count_under_lock, &s)
                               : support_start_thread(count_under_lock, &s);
        cr_assert_eq(rc, 0);
    }
    waitgroup_wait(&s.done);
    waitgroup_destroy(&s.done);
    cr_assert_eq(s.counter, (long)WORKERS * ROUNDS, "lost updates: %ld", s.counter);
    cr_assert_eq(atomic_load(&s.overlaps), 0, "two holders at once %d times",
                 atomic_load(&s.overlaps));
    cr_assert_eq(atomic_load(&s.not_held), 0, "lock_is_held denied a holder");
    cr_assert_not(lock_is_held(&s.lock), "free again once everyone released it");
}

Test(lock, is_held_follows_acquire_and_release, .timeout = 10)
{
    lock_t l = {0};
    cr_assert_not(lock_is_held(&l), "zero-initialised is free");
    lock_acquire(&l);
    cr_assert(lock_is_held(&l));
    lock_release(&l);
    cr_assert_not(lock_is_held(&l));
}

Test(lock, threads_exclude_each_other, .timeout = 30)
{
    support_begin();
    run_contended(false);
    support_end();
}

Test(lock, goroutines_exclude_each_other, .timeout = 30)
{
    support_begin();
    run_contended(true);
    support_end();
}
