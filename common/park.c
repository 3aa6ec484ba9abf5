/*
 * park.c - a goroutine parks by switching out; a thread spins, then
 * yields, then sleeps on a futex (os_futex_wait: the system call on Linux,
 * an emulation elsewhere; see os.h).
 *
 * State machine of parker_t.state:
 *   EMPTY    --unpark--> NOTIFIED --park--> EMPTY       (token taken at once)
 *   EMPTY    --park----> SLEEPING --unpark--> NOTIFIED  (+ futex wake)
 *   EMPTY    --park----> PARKED_G --unpark--> NOTIFIED  (+ sched_ready)
 * Only the owner moves the state away from NOTIFIED, and only the owner
 * (or, for a goroutine, its worker once the goroutine is off its stack:
 * commit_park, which sched_park has the worker's loop call) enters
 * SLEEPING or PARKED_G, so one unpark always matches one park. A thread
 * sleeps in the kernel; a goroutine (M:N runtime) is switched out and its
 * worker runs another one.
 *
 * Layer: uses sched (to switch a goroutine out and to ready it), the
 * goroutine records (go_sleep_begin/end, and the running count for the
 * spin rule), lock.h's cpu_relax and os.h's futex.
 */
#include "common/park.h"

#include <sched.h>
#include <stdbool.h>

#include "common/goroutine.h"
#include "common/os.h"
#include "common/sched.h"

/* Tuned with `make bench` (unbuf_pingpong, pool16): long enough to catch a
 * partner running on the other core, short enough not to steal its time
 * slice when threads outnumber cores. */
enum { SPIN_PAUSES = 200, SPIN_YIELDS = 4, SPIN_STEP_MAX = 32 };

static bool take_token(parker_t *p)
{
    /* A plain look first: a failed compare-and-swap costs as much as one
     * that works, and most looks find no token. */
    if (atomic_load_explicit(&p->state, memory_order_relaxed) != PARK_NOTIFIED)
        return false;
    int expected = PARK_NOTIFIED;
    return atomic_compare_exchange_strong_explicit(&p->state, &expected, PARK_EMPTY,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Threads asleep in the kernel right now, in parker_park. */
static atomic_int asleep_in_kernel;

/* Spinning is a bet that the thread that will wake us is running on another
 * core right now. That only pays while the threads that are awake (the
 * goroutines and the main thread, less those asleep in the kernel) fit on
 * the cores: otherwise the spinner burns the very core its partner needs,
 * and yielding at once is better (bench/README.md: pipeline 8.8 -> 4.6 us,
 * pool16 399 -> 260 ns, pingpong unchanged). Go's runtime limits its
 * spinning threads by the same rule. */
static bool spinning_helps(void)
{
    /* A goroutine never spins: its partner most likely waits in the same
     * worker's run queue, and spinning would only delay it. */
    if (sched_current() != NULL)
        return false;
    static atomic_int cores; /* 0: not yet known */
    int               n = atomic_load_explicit(&cores, memory_order_relaxed);
    if (n == 0) {
        n = os_cpu_count();
        atomic_store_explicit(&cores, n, memory_order_relaxed);
    }
    long awake =
        (long)go_running() + 1 - atomic_load_explicit(&asleep_in_kernel, memory_order_relaxed);
    return n > 1 && awake <= n;
}

bool spin_until(bool (*ready)(void *arg), void *arg)
{
    if (!spinning_helps())
        return ready(arg);
    for (int spent = 0, step = 1; spent < SPIN_PAUSES; spent += step) {
        if (ready(arg))
            return true;
        for (int i = 0; i < step; i++)
            cpu_relax();
        if (step < SPIN_STEP_MAX)
            step *= 2;
    }
    return ready(arg);
}

/* sched_park's commit, on the worker's stack once the goroutine is off
 * its own: EMPTY -> PARKED_G makes it findable by parker_unpark. False if
 * the token came first (NOTIFIED): the goroutine then runs again at once
 * and takes it. */
static bool commit_park(void *parker)
{
    parker_t *p = parker;
    int       expected = PARK_EMPTY;
    return atomic_compare_exchange_strong_explicit(&p->state, &expected, PARK_PARKED_G,
                                                   memory_order_acq_rel, memory_order_acquire);
}

/* A goroutine parks by switching out; it is resumed with the token waiting
 * for it. */
static bool park_goroutine(parker_t *p)
{
    goroutine_t *g = sched_may_park();
    if (g == NULL)
        return false;
    /* Published to the unparker by commit_park's state change. */
    atomic_store_explicit(&p->g, g, memory_order_relaxed);
    go_sleep_begin(p);
    while (!take_token(p))
        sched_park(commit_park, p);
    go_sleep_end();
    return true;
}

void parker_park(parker_t *p)
{
    if (take_token(p) || park_goroutine(p))
        return;
    if (spinning_helps()) {
        for (int i = 0; i < SPIN_PAUSES; i++) {
            if (take_token(p))
                return;
            cpu_relax();
        }
    }
    for (int i = 0; i < SPIN_YIELDS; i++) {
        if (take_token(p))
            return;
        sched_yield();
    }
    /* EMPTY -> SLEEPING, or NOTIFIED -> EMPTY if the token arrived meanwhile. */
    if (atomic_fetch_sub_explicit(&p->state, 1, memory_order_acquire) == PARK_NOTIFIED)
        return;
    go_sleep_begin(p); /* the watchdog may now count us as asleep */
    atomic_fetch_add_explicit(&asleep_in_kernel, 1, memory_order_relaxed);
    do
        os_futex_wait(&p->state, PARK_SLEEPING);
    while (!take_token(p));
    atomic_fetch_sub_explicit(&asleep_in_kernel, 1, memory_order_relaxed);
    go_sleep_end();
}

bool parker_is_sleeping(parker_t *p)
{
    return atomic_load_explicit(&p->state, memory_order_relaxed) < 0;
}

void parker_unpark(parker_t *p)
{
    int was = atomic_exchange_explicit(&p->state, PARK_NOTIFIED, memory_order_acq_rel);
    if (was == PARK_SLEEPING)
        os_futex_wake(&p->state, 1);
    else if (was == PARK_PARKED_G) /* switched out: p lives on until we ready it */
        sched_ready(atomic_load_explicit(&p->g, memory_order_relaxed));
}
