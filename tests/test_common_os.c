/*
 * test_common_os.c - the platform layer (common/os.h): sleeping on a word
 * and waking it, monotonic sleeps and timed waits, thread ids, names and
 * counts, the program's name, and signal handlers.
 *
 * The same tests run against every path os.c has: the Linux one natively,
 * and the portable POSIX one (the emulated futex) in `make check-portable`.
 * A waiter that has not returned is told apart from one that never waited
 * by support_wait_blocked(): whether by the futex system call or by a
 * condition variable, a thread asleep in os_futex_wait sleeps in the futex
 * system call, which /proc/self/task/TID/syscall shows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/go.h"
#include "common/os.h"
#include "common/sync.h"
#include "tests/support/support.h"

/* The OS layer is about threads, so these tests start real ones
 * (support_start_thread): under the M:N runtime go() starts a goroutine,
 * which is no thread of its own, and one blocked in os_futex_wait would
 * hold its worker. */

#define MS (1000 * 1000LL)

/* ------------------------------------------------ sleeping on a word */

/* A thread that sleeps once on *word (expecting 0), then reports its index
 * on `returned`, through a reference of its own: the test may release its
 * own as soon as it has received, while this thread is still in chan_send. */
typedef struct {
    atomic_int *word;
    int         index;
    atomic_int  tid;
    chan_t     *returned;
} sleeper_t;

static void sleep_once(void *arg)
{
    sleeper_t *s = arg;
    atomic_store(&s->tid, (int)gettid());
    os_futex_wait(s->word, 0);
    chan_send(s->returned, &s->index);
    chan_release(s->returned);
}

static void start_sleepers(sleeper_t *s, int n, atomic_int *words[], chan_t *returned)
{
    for (int i = 0; i < n; i++) {
        s[i] = (sleeper_t){.word = words[i], .index = i, .returned = chan_retain(returned)};
        atomic_store(&s[i].tid, 0);
        cr_assert_eq(support_start_thread(sleep_once, &s[i]), 0);
    }
    for (int i = 0; i < n; i++)
        support_wait_blocked(&s[i].tid);
}

Test(os, a_wait_on_a_word_that_changed_returns_at_once, .timeout = 10)
{
    atomic_int word = 1;
    os_futex_wait(&word, 0); /* would hang if it slept */
    cr_assert(os_futex_wait_until(&word, 0, os_monotonic_ns() + 10 * 1000 * MS),
              "a changed word is not a timeout");
}

Test(os, a_wake_before_the_wait_is_not_lost, .timeout = 10)
{
    /* The waker's order: change the word, then wake. A waiter that comes
     * later sees the change and does not sleep. */
    atomic_int word = 0;
    atomic_store(&word, 1);
    os_futex_wake(&word, 1);
    os_futex_wait(&word, 0);
    cr_assert_eq(atomic_load(&word), 1);
}

Test(os, a_wake_wakes_only_the_waiters_on_its_word, .timeout = 30)
{
    support_begin();
    atomic_int  a = 0, b = 0;
    atomic_int *words[] = {&a, &b};
    chan_t     *returned = chan_make(sizeof(int), 2);
    sleeper_t   s[2];
    start_sleepers(s, 2, words, returned);

    atomic_store(&a, 1);
    os_futex_wake(&a, INT_MAX);
    int who = -1;
    cr_assert_eq(chan_recv(returned, &who), 0);
    cr_assert_eq(who, 0, "the waiter on the other word woke");
    support_wait_blocked(&s[1].tid); /* still asleep, after a's waiter left */
    cr_assert_eq(chan_try_recv(returned, &who), EAGAIN, "the waiter on b returned");

    atomic_store(&b, 1);
    os_futex_wake(&b, 1);
    cr_assert_eq(chan_recv(returned, &who), 0);
    cr_assert_eq(who, 1);
    chan_release(returned);
    support_end();
}

Test(os, a_wake_wakes_at_most_count_waiters, .timeout = 30)
{
    support_begin();
    atomic_int  word = 0;
    atomic_int *words[] = {&word, &word, &word};
    chan_t     *returned = chan_make(sizeof(int), 3);
    sleeper_t   s[3];
    start_sleepers(s, 3, words, returned);

    atomic_store(&word, 1);
    os_futex_wake(&word, 1);
    int first = -1, who;
    cr_assert_eq(chan_recv(returned, &first), 0);
    for (int i = 0; i < 3; i++)
        if (i != first)
            support_wait_blocked(&s[i].tid);
    cr_assert_eq(chan_try_recv(returned, &who), EAGAIN, "a wake of 1 woke two");

    os_futex_wake(&word, INT_MAX);
    cr_assert_eq(chan_recv(returned, &who), 0);
    cr_assert_eq(chan_recv(returned, &who), 0);
    chan_release(returned);
    support_end();
}

/* Two threads hand a token back and forth through one word, each sleeping
 * until it is its turn: a lost wake-up hangs the test (its timeout fails
 * it). */
enum { HANDOFFS = 20000 };

typedef struct {
    atomic_int  turn; /* whose turn: 0 or 1 */
    waitgroup_t done;
} handoff_t;

static void take_turns(handoff_t *h, int me)
{
    for (int i = 0; i < HANDOFFS; i++) {
        int seen;
        while ((seen = atomic_load(&h->turn)) != me)
            os_futex_wait(&h->turn, seen);
        atomic_store(&h->turn, 1 - me);
        os_futex_wake(&h->turn, 1);
    }
}

static void player_one(void *arg)
{
    handoff_t *h = arg;
    take_turns(h, 1);
    waitgroup_done(&h->done);
}

Test(os, no_wake_is_lost_in_a_long_handoff, .timeout = 60)
{
    support_begin();
    handoff_t h = {.turn = 0};
    waitgroup_init(&h.done);
    waitgroup_add(&h.done, 1);
    cr_assert_eq(support_start_thread(player_one, &h), 0);
    take_turns(&h, 0);
    waitgroup_wait(&h.done);
    waitgroup_destroy(&h.done);
    cr_assert_eq(atomic_load(&h.turn), 0, "%d turns each", HANDOFFS);
    support_end();
}

Test(os, a_timed_wait_times_out_at_its_deadline, .timeout = 30)
{
    atomic_int word = 0;
    int64_t    start = os_monotonic_ns();
    int64_t    deadline = start + 50 * MS;
    bool       woken = true;
    while (woken && os_monotonic_ns() < deadline) /* spurious returns are allowed */
        woken = os_futex_wait_until(&word, 0, deadline);
    int64_t end = os_monotonic_ns();
    cr_assert_not(woken, "reported a wake nobody made");
    cr_assert_geq(end, deadline, "returned %lld ns early", (long long)(deadline - end));
    cr_assert_lt(end - start, 5000 * MS, "a 50 ms wait took %lld ms",
                 (long long)(end - start) / MS);
    cr_assert_not(os_futex_wait_until(&word, 0, start), "a deadline already past");
}

static void wake_later(void *arg)
{
    atomic_int *word = arg;
    atomic_store(word, 1);
    os_futex_wake(word, INT_MAX);
}

Test(os, a_timed_wait_returns_true_when_woken, .timeout = 30)
{
    support_begin();
    atomic_int word = 0;
    int64_t    deadline = os_monotonic_ns() + 20000 * MS;
    cr_assert_eq(support_start_thread(wake_later, &word), 0);
    while (atomic_load(&word) == 0)
        cr_assert(os_futex_wait_until(&word, 0, deadline), "timed out, never woken");
    cr_assert_lt(os_monotonic_ns(), deadline);
    support_end();
}

/* ---------------------------------------------------- clock and waits */

Test(os, the_monotonic_clock_never_goes_back, .timeout = 10)
{
    int64_t last = os_monotonic_ns();
    cr_assert_gt(last, 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = os_monotonic_ns();
        cr_assert_geq(now, last);
        last = now;
    }
}

Test(os, sleep_until_honours_its_deadline, .timeout = 30)
{
    int64_t start = os_monotonic_ns();
    int64_t deadline = start + 30 * MS;
    os_sleep_until(deadline);
    int64_t end = os_monotonic_ns();
    cr_assert_geq(end, deadline, "woke %lld ns early", (long long)(deadline - end));
    cr_assert_lt(end - start, 5000 * MS, "a 30 ms sleep took %lld ms",
                 (long long)(end - start) / MS);

    start = os_monotonic_ns();
    os_sleep_until(start - 1000 * MS); /* in the past: at once */
    os_sleep_until(INT64_MIN);
    cr_assert_lt(os_monotonic_ns() - start, 1000 * MS);
}

/* Interrupts the main thread with SIGUSR2 every 2 ms until told to stop. */
typedef struct {
    pthread_t   target;
    atomic_bool stop;
    atomic_int  sent;
    waitgroup_t done;
} interrupter_t;

static atomic_int interruptions;

static void count_interruption(int signo)
{
    (void)signo;
    atomic_fetch_add(&interruptions, 1);
}

static void interrupt_often(void *arg)
{
    interrupter_t *it = arg;
    while (!atomic_load(&it->stop)) {
        pthread_kill(it->target, SIGUSR2);
        atomic_fetch_add(&it->sent, 1);
        os_sleep_until(os_monotonic_ns() + 2 * MS);
    }
    waitgroup_done(&it->done);
}

Test(os, a_signal_does_not_cut_a_sleep_short, .timeout = 30)
{
    support_begin();
    struct sigaction action = {.sa_handler = count_interruption}, old;
    sigemptyset(&action.sa_mask);
    cr_assert_eq(sigaction(SIGUSR2, &action, &old), 0);
    atomic_store(&interruptions, 0);
    interrupter_t it = {.target = pthread_self()};
    waitgroup_init(&it.done);
    waitgroup_add(&it.done, 1);
    cr_assert_eq(support_start_thread(interrupt_often, &it), 0);

    int64_t deadline = os_monotonic_ns() + 100 * MS;
    os_sleep_until(deadline);
    int64_t end = os_monotonic_ns();

    atomic_store(&it.stop, true);
    waitgroup_wait(&it.done);
    waitgroup_destroy(&it.done);
    sigaction(SIGUSR2, &old, NULL);
    cr_assert_geq(end, deadline, "a signal ended the sleep %lld ns early",
                  (long long)(deadline - end));
    cr_assert_gt(atomic_load(&interruptions), 0, "no signal arrived during the sleep (%d sent)",
                 atomic_load(&it.sent));
    support_end();
}

Test(os, a_monotonic_cond_wait_times_out_at_its_deadline, .timeout = 30)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t  cond;
    cr_assert_eq(os_cond_init_monotonic(&cond), 0);
    int64_t start = os_monotonic_ns(), deadline = start + 40 * MS;
    int     rc = 0;
    pthread_mutex_lock(&lock);
    while (rc == 0)
        rc = os_cond_wait_until(&cond, &lock, deadline);
    pthread_mutex_unlock(&lock);
    int64_t end = os_monotonic_ns();
    cr_assert_eq(rc, ETIMEDOUT);
    cr_assert_geq(end, deadline);
    cr_assert_lt(end - start, 5000 * MS);
    pthread_mutex_lock(&lock);
    cr_assert_eq(os_cond_wait_until(&cond, &lock, start), ETIMEDOUT, "a deadline already past");
    pthread_mutex_unlock(&lock);
    pthread_cond_destroy(&cond);
}

/* ------------------------------------------------------------ threads */

typedef struct {
    uint64_t    id, id_again;
    bool        is_main;
    char        name[32];
    bool        named;
    waitgroup_t done;
} about_t;

static void describe_self(void *arg)
{
    about_t *a = arg;
    a->id = os_thread_id();
    a->id_again = os_thread_id();
    a->is_main = os_is_main_thread();
    os_thread_set_name("a-name-longer-than-fifteen-bytes");
    a->named = os_thread_get_name(a->name, sizeof a->name);
    waitgroup_done(&a->done);
}

Test(os, threads_have_distinct_stable_ids_and_only_one_is_main, .timeout = 30)
{
    support_begin();
    enum { N = 4 };
    about_t about[N];
    for (int i = 0; i < N; i++) {
        memset(&about[i], 0, sizeof about[i]);
        waitgroup_init(&about[i].done);
        waitgroup_add(&about[i].done, 1);
        cr_assert_eq(support_start_thread(describe_self, &about[i]), 0);
    }
    uint64_t mine = os_thread_id();
    cr_assert_neq(mine, 0);
    cr_assert_eq(os_thread_id(), mine, "the id changed");
    cr_assert(os_is_main_thread(), "tests run on the main thread");
    for (int i = 0; i < N; i++) {
        waitgroup_wait(&about[i].done);
        waitgroup_destroy(&about[i].done);
        cr_assert_neq(about[i].id, 0);
        cr_assert_eq(about[i].id, about[i].id_again, "thread %d: the id changed", i);
        cr_assert_not(about[i].is_main, "thread %d says it is main", i);
        cr_assert_neq(about[i].id, mine);
        for (int j = 0; j < i; j++)
            cr_assert_neq(about[i].id, about[j].id, "threads %d and %d share an id", i, j);
        cr_assert(about[i].named, "thread %d has no name", i);
        cr_assert_str_eq(about[i].name, "a-name-longer-t", "truncated to 15 bytes");
    }
    if (strcmp(os_flavour(), "linux") == 0)
        cr_assert_eq(mine, (uint64_t)gettid(), "on Linux the id is the kernel's");
    support_end();
}

Test(os, naming_with_null_or_a_tiny_buffer_is_harmless, .timeout = 10)
{
    char name[4] = "xyz";
    os_thread_set_name(NULL);
    cr_assert_not(os_thread_get_name(NULL, 16));
    cr_assert_not(os_thread_get_name(name, 0));
    cr_assert_str_eq(name, "xyz", "a zero-sized buffer is not written");
    os_thread_set_name("abcdef");
    cr_assert(os_thread_get_name(name, sizeof name));
    cr_assert_str_eq(name, "abc", "truncated to the buffer, NUL-terminated");
}

Test(os, the_thread_count_sees_a_new_thread, .timeout = 30)
{
    long before = os_thread_count();
    cr_assert_gt(before, 0, "this test runs where threads can be counted");
    os_pretend_thread_count_unknown(true);
    cr_assert_eq(os_thread_count(), -1);
    os_pretend_thread_count_unknown(false);
    cr_assert_eq(os_thread_count(), before);
}

Test(os, cpus_and_the_program_name, .timeout = 10)
{
    cr_assert_geq(os_cpu_count(), 1);
    const char *name = os_program_name();
    cr_assert_not_null(name);
    if (strcmp(os_flavour(), "portable") == 0)
        cr_assert_str_eq(name, "program", "POSIX cannot tell the name");
    else
        cr_assert_str_eq(name, program_invocation_short_name, "argv[0]'s basename");
}

/* ------------------------------------------------------------ signals */

static atomic_int caught;

static void count_signal(int signo)
{
    (void)signo;
    atomic_fetch_add(&caught, 1);
}

static void other_handler(int signo)
{
    (void)signo;
}

Test(os, catch_signal_never_replaces_a_programs_handler, .timeout = 10)
{
    signal(SIGUSR1, SIG_DFL);
    atomic_store(&caught, 0);
    cr_assert(os_catch_signal(SIGUSR1, count_signal), "the default disposition is replaced");
    cr_assert_not(os_catch_signal(SIGUSR1, other_handler), "ours is there now: kept");
    raise(SIGUSR1);
    cr_assert_eq(atomic_load(&caught), 1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    cr_assert(now.sa_flags & SA_RESTART, "interrupted calls are restarted");
    signal(SIGUSR1, SIG_DFL);
    cr_assert_not(os_catch_signal(-1, count_signal), "a bad signal number is refused");
}
