/*
 * timer.c - the clock, sleeping, and the one timer thread behind every
 * time_after channel, ticker (timer_chan.c) and context deadline.
 *
 * Invariants (all under timers.lock):
 *   - heap[0..len) is a binary min-heap on `when`; every entry in it knows
 *     its own slot (entry->slot), so removing any entry is O(log n). An entry
 *     out of the heap has slot NOT_IN_HEAP.
 *   - `firing` is the entry whose fire() is running on the timer thread right
 *     now (with the lock dropped), or NULL. timer_entry_stop waits on
 *     `fire_done` while its entry is firing, so once it returns fire() will
 *     never run again and the entry can be freed.
 *   - the thread sleeps on `wake` until heap[0]->when; it is signalled only
 *     when a new entry becomes the earliest (or at exit), because any other
 *     change cannot make it wake later than it should.
 *   - while fewer than INLINE_SLOTS / 2 timers are pending the heap lives in
 *     static storage, so an idle process holds no timer allocation at all
 *     (tests compare live allocations with a baseline).
 */
#ifndef _POSIX_C_SOURCE         /* a -D on the command line wins */
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask */
#endif

#include "common/timer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/goroutine.h"
#include "common/os.h"
#include "common/park.h"
#include "common/sched.h"
#include "common/timer_internal.h"
#include "common/trace.h"

#define NOT_IN_HEAP SIZE_MAX
#define INLINE_SLOTS 64

struct timer_entry {
    int64_t    when;
    duration_t period; /* 0: one-shot */
    void (*fire)(void *arg);
    void  *arg;
    size_t slot;     /* index in the heap, or NOT_IN_HEAP */
    bool   internal; /* the core's own (the watchdog): not a user's timer */
};

static timer_entry_t *inline_heap[INLINE_SLOTS];

static struct {
    pthread_mutex_t lock;
    pthread_cond_t  wake;      /* the thread: a new earliest deadline, or exit */
    pthread_cond_t  fire_done; /* stoppers: `firing` has returned */
    timer_entry_t **heap;
    size_t          len, cap;
    timer_entry_t  *firing;
    size_t          internal_len; /* internal entries in the heap */
    bool            stopping;
    atomic_bool     running;
    pthread_t       thread;
} timers = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fire_done = PTHREAD_COND_INITIALIZER,
    .heap = inline_heap,
    .cap = INLINE_SLOTS,
};

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

/* --------------------------------------------------------------- clock */

int64_t time_now(void)
{
    return os_monotonic_ns();
}

static void wake_sleeper(void *parker)
{
    parker_unpark(parker);
}

/* A goroutine (M:N runtime) sleeps on the timer heap, switched out, so its
 * worker runs others meanwhile. False if it could not (no memory for the
 * entry): the caller then sleeps as a thread. */
static bool sleep_as_goroutine(int64_t deadline)
{
    if (sched_may_park() == NULL)
        return false;
    parker_t       parker = {0};
    timer_entry_t *entry = timer_entry_start(deadline, 0, wake_sleeper, &parker);
    if (entry == NULL)
        return false;
    parker_park(&parker);
    timer_entry_stop(entry);
    return true;
}

void time_sleep(duration_t d)
{
    if (d <= 0)
        return;
    /* An absolute deadline: a signal that interrupts the sleep does not
     * stretch it when we go back to sleep. */
    int64_t deadline = time_now();
    deadline = deadline > INT64_MAX - d ? INT64_MAX : deadline + d;
    if (trace_enabled())
        go_note_wait(WAIT_SLEEP); /* a traced waiting span says "sleep" */
    if (sleep_as_goroutine(deadline))
        return;
    os_sleep_until(deadline);
}

/* ---------------------------------------------------------------- heap */

static void heap_place(size_t i, timer_entry_t *e)
{
    timers.heap[i] = e;
    e->slot = i;
}

static void sift_up(size_t i)
{
    timer_entry_t *e = timers.heap[i];
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (timers.heap[up]->when <= e->when)
            break;
        heap_place(i, timers.heap[up]);
        i = up;
    }
    heap_place(i, e);
}

static void sift_down(size_t i)
{
    timer_entry_t *e = timers.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= timers.len)
            break;
        if (child + 1 < timers.len && timers.heap[child + 1]->when < timers.heap[child]->when)
            child++;
        if (e->when <= timers.heap[child]->when)
            break;
        heap_place(i, timers.heap[child]);
        i = child;
    }
    heap_place(i, e);
}

/* Moves the heap to an array of new_cap slots (the static one if it fits). */
static int heap_resize(size_t new_cap)
{
    timer_entry_t **slots = inline_heap;
    if (new_cap > INLINE_SLOTS) {
        slots = goc_malloc(new_cap * sizeof *slots);
        if (slots == NULL)
            return ENOMEM;
    } else {
        new_cap = INLINE_SLOTS;
    }
    if (slots != timers.heap) {
        memcpy(slots, timers.heap, timers.len * sizeof *slots);
        if (timers.heap != inline_heap)
            goc_free(timers.heap);
    }
    timers.heap = slots;
    timers.cap = new_cap;
    return 0;
}

static int heap_push(timer_entry_t *e)
{
    if (timers.len == timers.cap && heap_resize(timers.cap * 2) != 0)
        return ENOMEM;
    timers.heap[timers.len] = e;
    sift_up(timers.len++);
    return 0;
}

static void heap_remove(timer_entry_t *e)
{
    size_t i = e->slot;
    e->slot = NOT_IN_HEAP;
    timer_entry_t *last = timers.heap[--timers.len];
    if (i < timers.len) {
        heap_place(i, last);
        sift_up(i);
        sift_down(last->slot);
    }
    /* Give memory back after a burst (a shrink never fails: the static
     * array, or a half-size block; if that allocation fails we keep the
     * bigger one). */
    if (timers.heap != inline_heap && timers.len <= timers.cap / 4)
        heap_resize(timers.len <= INLINE_SLOTS / 2 ? INLINE_SLOTS : timers.cap / 2);
}

/* -------------------------------------------------------------- thread */

/* Deadline of a periodic entry after one that was due at `when`: the next
 * multiple of the period still in the future, so a late timer thread skips
 * the missed ticks instead of firing them in a burst. */
static int64_t next_tick(int64_t when, duration_t period, int64_t now)
{
    if (when > INT64_MAX - period)
        return INT64_MAX;
    int64_t next = when + period;
    if (next <= now) {
        int64_t missed = (now - next) / period + 1;
        next = missed > (INT64_MAX - next) / period ? INT64_MAX : next + missed * period;
    }
    return next;
}

static void *timer_thread(void *unused)
{
    (void)unused;
    os_thread_set_name("goc-timer");
    pthread_mutex_lock(&timers.lock);
    while (!timers.stopping) {
        if (timers.len == 0) {
            pthread_cond_wait(&timers.wake, &timers.lock);
            continue;
        }
        timer_entry_t *e = timers.heap[0];
        int64_t        now = time_now();
        if (e->when > now) {
            os_cond_wait_until(&timers.wake, &timers.lock, e->when);
            continue;
        }
        /* A periodic entry is re-armed in place before it fires, so it
         * never needs a new slot (which could fail to allocate). */
        if (e->period > 0) {
            e->when = next_tick(e->when, e->period, now);
            sift_down(0);
        } else {
            heap_remove(e);
        }
        timers.firing = e;
        pthread_mutex_unlock(&timers.lock);

        e->fire(e->arg); /* once it returns, e may be freed by its owner */

        pthread_mutex_lock(&timers.lock);
        timers.firing = NULL;
        pthread_cond_broadcast(&timers.fire_done);
    }
    pthread_mutex_unlock(&timers.lock);
    return NULL;
}

/* At exit: stop and join the thread, so that leak checkers and valgrind
 * see no thread left behind. Timers still pending stay in the heap; a
 * timer armed later (by another exit handler) starts a new thread. */
static void timer_thread_exit(void)
{
    pthread_mutex_lock(&timers.lock);
    if (!atomic_load(&timers.running) || pthread_equal(timers.thread, pthread_self())) {
        pthread_mutex_unlock(&timers.lock);
        return;
    }
    timers.stopping = true;
    pthread_cond_signal(&timers.wake);
    pthread_t thread = timers.thread;
    pthread_mutex_unlock(&timers.lock);

    pthread_join(thread, NULL);
    os_core_thread_joined();

    pthread_mutex_lock(&timers.lock);
    timers.stopping = false;
    atomic_store(&timers.running, false);
    pthread_mutex_unlock(&timers.lock);
}

static void init_wake_cond(void)
{
    /* Deadlines are on the monotonic clock, so the wait must be too:
     * setting the wall clock must not delay or hurry a timer. */
    os_cond_init_monotonic(&timers.wake);
}

/* Starts the thread if it is not running. Called with the lock held. */
static int ensure_thread(void)
{
    if (atomic_load(&timers.running))
        return 0;
    /* The thread takes no signals: they belong to the program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = os_core_thread_create(&timers.thread, NULL, timer_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return EAGAIN;
    atomic_store(&timers.running, true);
    /* Registered on every start, so a thread restarted during exit is also
     * joined (glibc runs handlers registered while exit is in progress). */
    atexit(timer_thread_exit);
    return 0;
}

static timer_entry_t *arm(timer_entry_t *e)
{
    pthread_mutex_lock(&timers.lock);
    int rc = ensure_thread();
    if (rc == 0)
        rc = heap_push(e);
    if (rc != 0) {
        pthread_mutex_unlock(&timers.lock);
        errno = rc;
        return NULL;
    }
    if (e->internal)
        timers.internal_len++;
    if (e->slot == 0)
        pthread_cond_signal(&timers.wake);
    pthread_mutex_unlock(&timers.lock);
    return e;
}

timer_entry_t *timer_entry_start(int64_t when, duration_t period, void (*fire)(void *arg),
                                 void *arg)
{
    pthread_once(&wake_once, init_wake_cond);
    timer_entry_t *e = goc_malloc(sizeof *e);
    if (e == NULL)
        return NULL;
    *e = (timer_entry_t){when, period < 0 ? 0 : period, fire, arg, NOT_IN_HEAP, false};
    if (arm(e) == NULL) {
        goc_free(e);
        return NULL;
    }
    return e;
}

void timer_internal_start(int64_t when, duration_t period, void (*fire)(void *arg), void *arg)
{
    pthread_once(&wake_once, init_wake_cond);
    /* Static: the core's own entry is no allocation of the program's. */
    static timer_entry_t entry;
    entry = (timer_entry_t){when, period, fire, arg, NOT_IN_HEAP, true};
    arm(&entry);
}

void timer_entry_stop(timer_entry_t *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&timers.lock);
    if (e->slot != NOT_IN_HEAP)
        heap_remove(e);
    /* The timer thread never waits for itself (it does not touch an entry
     * after its fire returns, so freeing it there is safe). */
    while (timers.firing == e && !pthread_equal(timers.thread, pthread_self()))
        pthread_cond_wait(&timers.fire_done, &timers.lock);
    pthread_mutex_unlock(&timers.lock);
    goc_free(e);
}

size_t time_pending_timers(void)
{
    pthread_mutex_lock(&timers.lock);
    size_t n = timers.len - timers.internal_len;
    pthread_mutex_unlock(&timers.lock);
    return n;
}

bool timer_user_timers_idle(void)
{
    pthread_mutex_lock(&timers.lock);
    bool idle = timers.len == timers.internal_len && (!timers.firing || timers.firing->internal);
    pthread_mutex_unlock(&timers.lock);
    return idle;
}
