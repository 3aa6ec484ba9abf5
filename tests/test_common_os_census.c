/*
 * test_common_os_census.c - counting the threads that are not the core's
 * (os_core_thread_create, os_core_thread_joined, os_foreign_thread_count).
 *
 * The leak checks and the deadlock watchdog both ask "how many threads did
 * someone other than the core start?". The answer is two readings (the
 * OS's count, the core's own count) that a thread being started changes one
 * after the other; these tests prove that a reader never sees the gap,
 * which once made a benchmark's "pending timers start no thread" check fail
 * under qemu on a loaded machine.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/os.h"
#include "common/timer.h"

/* A thread that sleeps until *release is non-zero. */
static void *wait_for_release(void *arg)
{
    atomic_int *release = arg;
    while (atomic_load(release) == 0)
        os_futex_wait(release, 0);
    return NULL;
}

static void release_all(atomic_int *release)
{
    atomic_store(release, 1);
    os_futex_wake(release, 0x7fffffff);
}

/* Polls (with a deadline, never a fixed sleep) until the census reads
 * want; threads that pthread_join has returned for may linger in the
 * OS's list for a moment. */
static bool census_reaches(long want)
{
    int64_t deadline = os_monotonic_ns() + 10 * TIME_SECOND;
    while (os_foreign_thread_count() != want) {
        if (os_monotonic_ns() > deadline)
            return false;
        os_sleep_until(os_monotonic_ns() + TIME_MILLISECOND);
    }
    return true;
}

Test(os_census, a_core_thread_is_not_foreign_and_a_plain_one_is, .timeout = 30)
{
    long base = os_foreign_thread_count();
    cr_assert_gt(base, 0, "this test runs where threads can be counted");
    atomic_int release = 0;

    pthread_t core, plain;
    cr_assert_eq(os_core_thread_create(&core, NULL, wait_for_release, &release), 0);
    cr_assert_eq(os_foreign_thread_count(), base, "the core's own thread is left out");
    cr_assert_eq(pthread_create(&plain, NULL, wait_for_release, &release), 0);
    cr_assert_eq(os_foreign_thread_count(), base + 1, "a plain pthread is counted");

    release_all(&release);
    pthread_join(plain, NULL);
    pthread_join(core, NULL);
    os_core_thread_joined();
    cr_assert(census_reaches(base), "the census is back to %ld, not %ld", base,
              os_foreign_thread_count());
}

/* The reader: every census it takes while core threads are being started
 * must read what it read first. */
typedef struct {
    atomic_int ready, stop;
    long       base, reads, wrong, last_wrong;
} reader_t;

static void *read_census(void *arg)
{
    reader_t *r = arg;
    r->base = os_foreign_thread_count();
    atomic_store(&r->ready, 1);
    while (!atomic_load(&r->stop)) {
        long now = os_foreign_thread_count();
        r->reads++;
        if (now != r->base) {
            r->wrong++;
            r->last_wrong = now;
        }
    }
    return NULL;
}

Test(os_census, no_census_counts_a_core_thread_that_is_still_starting, .timeout = 120)
{
    enum { STARTS = 100 };
    reader_t  r = {0};
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, read_census, &r), 0);
    while (!atomic_load(&r.ready))
        sched_yield();

    /* Small stacks: the threads only sleep. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    atomic_int release = 0;
    pthread_t  core[STARTS];
    int        started = 0;
    for (; started < STARTS; started++)
        if (os_core_thread_create(&core[started], &attr, wait_for_release, &release) != 0)
            break;
    pthread_attr_destroy(&attr);

    atomic_store(&r.stop, 1);
    pthread_join(reader, NULL);
    release_all(&release);
    for (int i = 0; i < started; i++) {
        pthread_join(core[i], NULL);
        os_core_thread_joined();
    }
    cr_assert_eq(started, STARTS, "only %d threads could be started", started);
    cr_assert_gt(r.reads, 0);
    cr_assert_eq(r.wrong, 0, "%ld of %ld readings were not %ld (one read %ld)", r.wrong, r.reads,
                 r.base, r.last_wrong);
}
