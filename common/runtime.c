/*
 * runtime.c - the watchdog: deadlock detection and goroutine dumps.
 *
 * A thread is "asleep" when its record says it sleeps on a parker and that
 * parker's state is still SLEEPING: a waker always flips the state before
 * anything else, so a thread someone has woken never looks asleep. One scan
 * reads the threads one after another, and a thread still running early in
 * the scan could wake one already read and then fall asleep itself. So a
 * deadlock needs two scans in a row in which every thread is asleep with the
 * same sleep count (it has not woken in between), and no timer pending or
 * firing: then no thread ran between the scans, and none ever will.
 *
 * Only threads the core knows can be judged, so while the process has any
 * other thread (os_foreign_thread_count: the OS's count less the timer
 * thread and the workers), or while the platform cannot count its threads
 * at all, the watchdog never concludes.
 *
 * Layer: above timer (it runs as the timer thread's internal entry), sched
 * (sched_all_parked), park (parker_is_sleeping), the
 * goroutine records and os. go_named() starts it, with the first
 * goroutine; nothing below calls it.
 */
#include "common/runtime.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/goroutine.h"
#include "common/os.h"
#include "common/park.h"
#include "common/sched.h"
#include "common/timer.h"
#include "common/timer_internal.h"

enum { WATCHDOG_PERIOD_MS = 50 };

static atomic_bool watchdog_started;
static atomic_int  detection = -1; /* -1: not decided yet */
/* Set by the SIGQUIT handler, on whatever thread the signal lands, and
 * taken by the watchdog on the timer thread: a lock-free atomic, which is
 * both safe in a signal handler and race-free between threads (a volatile
 * sig_atomic_t is only the first). */
static atomic_int dump_requested;

static bool detection_enabled(void)
{
    int on = atomic_load(&detection);
    if (on < 0) {
        const char *env = getenv("GOC_DEADLOCK");
        on = !(env && strcmp(env, "0") == 0);
        int undecided = -1;
        atomic_compare_exchange_strong(&detection, &undecided, on);
        on = atomic_load(&detection);
    }
    return on;
}

void runtime_deadlock_detection(bool enabled)
{
    atomic_store(&detection, enabled ? 1 : 0);
}

size_t runtime_dump(FILE *out)
{
    return go_dump_records(out, true);
}

/* True if g sleeps on a parker nobody has unparked; *sleeps is how many
 * times it has gone to sleep (it changes only while g is awake). */
static bool is_asleep(goroutine_t *g, uint64_t *sleeps)
{
    parker_t *p = go_sleep_pin(g, sleeps);
    bool      asleep = p != NULL && parker_is_sleeping(p);
    go_sleep_unpin(g);
    return asleep;
}

/* One scan; true if every known thread is asleep now and was asleep, without
 * waking, at the previous scan. Updates each record's notes. */
static bool everyone_stayed_asleep(void)
{
    /* Under M:N, first the scheduler's cheap answer: if a goroutine is
     * runnable, running or in a blocking call, there is no need to read
     * 100,000 records. Skipping a scan is safe: the sleep counts still
     * tell whether anyone woke in between. */
    if (!sched_all_parked())
        return false;
    bool stayed = true;
    long threads = 0;
    go_registry_lock();
    for (goroutine_t *g = go_registry_first(); g; g = go_registry_next(g)) {
        /* Under M:N a goroutine is not a thread; the workers are counted
         * below instead. */
        if (!(g->started_by_go && sched_enabled()))
            threads++;
        uint64_t count;
        bool     asleep = is_asleep(g, &count);
        if (!asleep || !g->seen_asleep || count != g->seen_sleep_count)
            stayed = false;
        g->seen_asleep = asleep;
        g->seen_sleep_count = count;
    }
    go_registry_unlock();
    /* A thread the core has never met (a raw pthread, a test runner's own
     * thread, the sanitizer's) may be about to wake everyone: while the
     * process has more threads than the core knows, never conclude. */
    long foreign = os_foreign_thread_count();
    if (foreign < 0)
        return false; /* the platform cannot count threads: never guess */
    long unknown = foreign - threads;
    return stayed && threads > 0 && unknown <= 0;
}

static void report_deadlock(void)
{
    fflush(stdout); /* what the program printed before it stuck */
    fprintf(stderr, "fatal error: all goroutines are asleep - deadlock!\n\n");
    runtime_dump(stderr);
    fflush(stderr);
    _exit(2); /* not exit(): we are on the timer thread, which exit() would join */
}

static void watchdog_tick(void *unused)
{
    (void)unused;
    if (atomic_exchange(&dump_requested, 0)) {
        fprintf(stderr, "SIGQUIT: goroutine dump\n");
        runtime_dump(stderr);
        fflush(stderr);
    }
    if (detection_enabled() && timer_user_timers_idle() && everyone_stayed_asleep() &&
        timer_user_timers_idle())
        report_deadlock();
}

static void on_sigquit(int signo)
{
    (void)signo;
    atomic_store(&dump_requested, 1); /* the watchdog prints it: printing here is not safe */
}

void runtime_watchdog_start(void)
{
    /* Every go() asks: a plain load first, so that only the first one
     * writes the shared flag (a failed compare-and-swap writes it too). */
    bool expected = false;
    if (atomic_load_explicit(&watchdog_started, memory_order_relaxed) ||
        !atomic_compare_exchange_strong(&watchdog_started, &expected, true))
        return;
    os_catch_signal(SIGQUIT, on_sigquit); /* unless the program has its own plans for it */
    int64_t first = time_now() + WATCHDOG_PERIOD_MS * TIME_MILLISECOND;
    timer_internal_start(first, WATCHDOG_PERIOD_MS * TIME_MILLISECOND, watchdog_tick, NULL);
}
