/*
 * sched.c - the M:N scheduler, after Go's runtime/proc.go (names in sched.h).
 *
 * Where a runnable G waits:
 *   - in a P's `runnext` slot: the G most recently readied by the G running
 *     on that P. It runs next, so a sender and the receiver it wakes stay on
 *     one worker, and a hand-off costs one switch and no cross-core traffic;
 *   - in a P's local run queue: a fixed ring, filled by its owner only, from
 *     which the owner takes at the head and idle workers steal half;
 *   - in the global queue (under sched.lock): Gs readied by threads without
 *     a P (main, the timer thread), yielded Gs, and a local ring's overflow.
 *
 * Invariants:
 *   - every P is either held by exactly one M (m->p) or on the idle list
 *     (npidle counts them); both change only under sched.lock;
 *   - a G is in at most one place: running on one M, in one queue, or
 *     parked. It is parked only once its sched_park commit has returned
 *     true, and the M calls that commit on its own stack, after the G has
 *     left its stack (see after_switch): until then no waker can find it;
 *   - nspinning counts Ms that hold a P, have no G and are looking for one.
 *     While one spins, readying a G wakes no one: the spinner will find it.
 *
 * The rule that no wake-up is lost (Go's, "spinning" in proc.go): whoever
 * readies a G publishes it, then (after a full fence) wakes an idle M if
 * there is an idle P and no spinner. A spinner that gives up first stops
 * counting as spinning, then (after a full fence) looks at every queue once
 * more. So either the readier sees no spinner and wakes someone, or the
 * last spinner sees the G.
 *
 * Each M runs its scheduling loop on its thread's own stack (Go's g0); a G
 * always switches back to it, never directly to another G, and the loop
 * finishes what the G could not do on its own stack (commit a park, free
 * its stack at exit). The loop tells the goroutine layer which G its
 * thread runs (go_set_current) on every switch in and out.
 *
 * Functions whose contract says "sched.lock held" assert it.
 */
#ifndef _DEFAULT_SOURCE /* a -D on the command line wins */
#define _DEFAULT_SOURCE /* glibc and musl: sigaltstack, MAP_ANONYMOUS */
#endif

#include "common/sched.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/coro.h"
#include "common/fault.h"
#include "common/goroutine.h"
#include "common/gpool.h"
#include "common/lock.h"
#include "common/os.h"
#include "common/stack.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

enum {
    RUNQ_SIZE = 256,   /* a P's local ring, as in Go */
    GLOBAL_EVERY = 61, /* look at the global queue first every 61 schedules (Go's number) */
    STEAL_ROUNDS = 4,  /* passes over the other Ps before giving up */
    /* An idle spinning M naps before it sleeps (see look_for_work). */
    NAP_NS = 3000,       /* asked for; the kernel's timer slack makes it ~50 us */
    NAPPING_NS = 100000, /* how long an idle M keeps looking */
    MAX_PROCS = 256,     /* GOC_MAXPROCS is clamped to this */
    ALTSTACK_SIZE = 65536,
};

/* What a G asks its M to do once it has switched back to the M's stack. */
typedef enum { AFTER_NOTHING, AFTER_PARK, AFTER_YIELD, AFTER_EXIT, AFTER_LOSE_P } after_t;

typedef struct p {
    int                    id;
    _Atomic uint32_t       runq_head; /* taken by the owner and by thieves (CAS) */
    _Atomic uint32_t       runq_tail; /* written by the owner only */
    _Atomic(goroutine_t *) runq[RUNQ_SIZE];
    _Atomic(goroutine_t *) runnext;
    struct p              *idle_next; /* on the idle list (sched.lock) */
    uint32_t               schedtick; /* owner only */
} p_t;

/* sched_park's commit: true if the G stays parked (see sched.h). */
typedef bool (*commit_t)(void *arg);

typedef struct m {
    coro_t       g0;           /* the thread's own stack: the scheduling loop */
    goroutine_t *curg;         /* the G it runs, NULL in the loop */
    p_t         *p;            /* the P it holds, or NULL */
    bool         spinning;     /* counted in nspinning */
    after_t      after;        /* set by curg just before it switches to g0 */
    commit_t     after_commit; /* AFTER_PARK: sched_park's commit, and its arg */
    void        *after_arg;
    p_t         *handed_p;  /* a P given to it while it slept (under sched.lock) */
    atomic_int   wake;      /* 0 asleep, 1 woken: its futex word */
    struct m    *idle_next; /* on the idle M list (sched.lock) */
    uint32_t     rand;      /* for the order of stealing */
    int          id;        /* 0, 1, ... in the order the workers started */
} m_t;

static struct {
    pthread_once_t    once;
    int               nprocs;
    p_t              *ps;
    lock_t            lock; /* the global queue, the idle lists */
    goroutine_t      *gq_head, *gq_tail;
    atomic_size_t     gq_len; /* read without the lock as a hint */
    p_t              *idle_ps;
    m_t              *idle_ms;
    atomic_int        npidle;
    atomic_int        nspinning;
    atomic_int        nthreads;      /* Ms started */
    atomic_int        nblocking;     /* Gs inside sched_blocking_begin/end */
    fault_countdown_t thread_faults; /* go_fail_after's kin, for worker threads */
    atomic_int        barrier;       /* see full_barrier */
    atomic_int        next_worker_id;
    struct sigaction  previous_segv, previous_bus;
} sched = {.once = PTHREAD_ONCE_INIT, .thread_faults = FAULT_COUNTDOWN_OFF};

static _Thread_local m_t *self_m;

/* A full memory barrier between "publish, then look" on both sides of the
 * no-lost-wake-up rule (see the top). A read-modify-write of one shared
 * word rather than atomic_thread_fence: every such RMW is ordered with
 * every other, which is all the rule needs, and ThreadSanitizer (which
 * does not model fences) can see it. */
static void full_barrier(void)
{
    atomic_fetch_add_explicit(&sched.barrier, 0, memory_order_seq_cst);
}

/* A thread-local read that a compiler may not hoist across a switch: a G
 * that parked on one thread may resume on another. */
__attribute__((noinline)) static m_t *current_m(void)
{
    return self_m;
}

/* Which of gpool's per-P lists m may use: its P's, or none (-1) off a
 * worker or without a P (inside a blocking call). */
static int pool_slot(const m_t *m)
{
    return m != NULL && m->p != NULL ? m->p->id : -1;
}

/* ------------------------------------------------------------ setup */

static int procs_from_env(void)
{
    const char *env = getenv("GOC_MAXPROCS");
    if (env != NULL && *env != '\0') {
        char *end;
        long  n = strtol(env, &end, 10);
        if (*end == '\0' && n >= 1)
            return n > MAX_PROCS ? MAX_PROCS : (int)n;
        fprintf(stderr, "goc: GOC_MAXPROCS=%s is not a positive number; using the CPU count\n",
                env);
    }
    int cpus = os_cpu_count();
    return cpus > MAX_PROCS ? MAX_PROCS : cpus;
}

static void setup(void)
{
    sched.nprocs = procs_from_env();
    /* The core's bookkeeping, alive for the whole process: plain calloc,
     * not counted as the program's allocations. */
    sched.ps = calloc((size_t)sched.nprocs, sizeof *sched.ps);
    if (sched.ps == NULL) {
        fprintf(stderr, "goc: out of memory starting the scheduler\n");
        abort();
    }
    for (int i = sched.nprocs - 1; i >= 0; i--) {
        sched.ps[i].id = i;
        sched.ps[i].idle_next = sched.idle_ps;
        sched.idle_ps = &sched.ps[i];
    }
    atomic_store(&sched.npidle, sched.nprocs);
}

static void ensure_setup(void)
{
    pthread_once(&sched.once, setup);
}

bool sched_enabled(void)
{
    static atomic_int enabled = -1; /* -1: not read yet */
    int               on = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (on < 0) {
        const char *env = getenv("GOC_RUNTIME");
        on = env == NULL || strcmp(env, "threads") != 0;
        if (on && env != NULL && *env != '\0' && strcmp(env, "mn") != 0)
            fprintf(stderr, "goc: GOC_RUNTIME=%s is unknown (mn or threads); using mn\n", env);
        atomic_store_explicit(&enabled, on, memory_order_relaxed);
    }
    return on;
}

int sched_procs(void)
{
    ensure_setup();
    return sched.nprocs;
}

int sched_threads(void)
{
    return atomic_load(&sched.nthreads);
}

/* ------------------------------------------------------------ run queues */

/* Owner only. Puts g in runnext (if next; the G it displaces goes to the
 * ring) or at the ring's tail; a full ring sends half of itself and g to
 * the global queue. */
static void globq_put_list(goroutine_t *first, goroutine_t *last, size_t n);

static void runq_put(p_t *p, goroutine_t *g, bool next)
{
    if (next) {
        g = atomic_exchange_explicit(&p->runnext, g, memory_order_acq_rel);
        if (g == NULL)
            return;
    }
    for (;;) {
        uint32_t head = atomic_load_explicit(&p->runq_head, memory_order_acquire);
        uint32_t tail = atomic_load_explicit(&p->runq_tail, memory_order_relaxed);
        if (tail - head < RUNQ_SIZE) {
            atomic_store_explicit(&p->runq[tail % RUNQ_SIZE], g, memory_order_relaxed);
            atomic_store_explicit(&p->runq_tail, tail + 1, memory_order_release);
            return;
        }
        /* Full: move the older half, then g, to the global queue. */
        uint32_t     half = RUNQ_SIZE / 2;
        goroutine_t *batch[RUNQ_SIZE / 2 + 1];
        for (uint32_t i = 0; i < half; i++)
            batch[i] = atomic_load_explicit(&p->runq[(head + i) % RUNQ_SIZE], memory_order_relaxed);
        if (!atomic_compare_exchange_strong_explicit(&p->runq_head, &head, head + half,
                                                     memory_order_release, memory_order_relaxed))
            continue; /* a thief took some: there is room now */
        batch[half] = g;
        for (uint32_t i = 0; i < half; i++)
            batch[i]->sched_next = batch[i + 1];
        globq_put_list(batch[0], g, half + 1);
        return;
    }
}

/* Owner only: runnext first, then the ring's head. */
static goroutine_t *runq_get(p_t *p)
{
    goroutine_t *next = atomic_load_explicit(&p->runnext, memory_order_relaxed);
    if (next != NULL && atomic_compare_exchange_strong_explicit(
                            &p->runnext, &next, NULL, memory_order_acq_rel, memory_order_relaxed))
        return next;
    for (;;) {
        uint32_t head = atomic_load_explicit(&p->runq_head, memory_order_acquire);
        uint32_t tail = atomic_load_explicit(&p->runq_tail, memory_order_relaxed);
        if (tail == head)
            return NULL;
        goroutine_t *g = atomic_load_explicit(&p->runq[head % RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(&p->runq_head, &head, head + 1,
                                                    memory_order_release, memory_order_relaxed))
            return g;
    }
}

/* Gs in p's ring (runnext aside); any thread may ask. Head is read first:
 * the tail read after it is never behind it. */
static uint32_t runq_len(p_t *p)
{
    uint32_t head = atomic_load_explicit(&p->runq_head, memory_order_acquire);
    uint32_t tail = atomic_load_explicit(&p->runq_tail, memory_order_acquire);
    return tail - head;
}

static bool runq_empty(p_t *p)
{
    return runq_len(p) == 0 && atomic_load_explicit(&p->runnext, memory_order_acquire) == NULL;
}

/* A thief takes half of victim's ring into batch (and, if the ring is empty
 * and take_next, its runnext). Returns how many. */
static uint32_t runq_grab(p_t *victim, goroutine_t **batch, bool take_next)
{
    for (;;) {
        uint32_t head = atomic_load_explicit(&victim->runq_head, memory_order_acquire);
        uint32_t tail = atomic_load_explicit(&victim->runq_tail, memory_order_acquire);
        uint32_t n = tail - head;
        n -= n / 2;
        if (n == 0) {
            if (!take_next)
                return 0;
            goroutine_t *next = atomic_load_explicit(&victim->runnext, memory_order_acquire);
            if (next == NULL || !atomic_compare_exchange_strong_explicit(&victim->runnext, &next,
                                                                         NULL, memory_order_acq_rel,
                                                                         memory_order_relaxed))
                return 0;
            batch[0] = next;
            return 1;
        }
        if (n > RUNQ_SIZE / 2)
            continue; /* head and tail read at different moments */
        for (uint32_t i = 0; i < n; i++)
            batch[i] =
                atomic_load_explicit(&victim->runq[(head + i) % RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(&victim->runq_head, &head, head + n,
                                                    memory_order_release, memory_order_relaxed))
            return n;
    }
}

/* Steals from victim into p's (empty) ring; returns one G to run. */
static goroutine_t *runq_steal(p_t *p, p_t *victim, bool take_next)
{
    goroutine_t *batch[RUNQ_SIZE / 2];
    uint32_t     n = runq_grab(victim, batch, take_next);
    if (n == 0)
        return NULL;
    for (uint32_t i = 1; i < n; i++)
        runq_put(p, batch[i], false);
    return batch[0];
}

/* ------------------------------------------------------------ global queue */

static void globq_put_list(goroutine_t *first, goroutine_t *last, size_t n)
{
    last->sched_next = NULL;
    lock_acquire(&sched.lock);
    if (sched.gq_tail)
        sched.gq_tail->sched_next = first;
    else
        sched.gq_head = first;
    sched.gq_tail = last;
    atomic_fetch_add(&sched.gq_len, n);
    lock_release(&sched.lock);
}

static void globq_put(goroutine_t *g)
{
    globq_put_list(g, g, 1);
}

/* Takes one G to run, and moves a fair share of the rest into p's ring. */
static goroutine_t *globq_get(p_t *p)
{
    if (atomic_load_explicit(&sched.gq_len, memory_order_relaxed) == 0)
        return NULL;
    lock_acquire(&sched.lock);
    size_t len = atomic_load(&sched.gq_len);
    if (len == 0) { /* another worker emptied it since we looked */
        lock_release(&sched.lock);
        return NULL;
    }
    size_t n = len / (size_t)sched.nprocs + 1;
    if (n > len)
        n = len;
    if (n > RUNQ_SIZE / 2)
        n = RUNQ_SIZE / 2;
    /* The batch is cut off the queue's head as one list, kept in order. */
    goroutine_t *first = sched.gq_head, *last = first;
    for (size_t i = 1; i < n; i++)
        last = last->sched_next;
    sched.gq_head = last->sched_next;
    last->sched_next = NULL;
    if (sched.gq_head == NULL)
        sched.gq_tail = NULL;
    atomic_fetch_sub(&sched.gq_len, n);
    lock_release(&sched.lock);
    /* First come, first served: the first runs now, the rest queue locally
     * in the order they were readied (as Go's globrunqget does). */
    for (goroutine_t *g = first->sched_next; g != NULL;) {
        goroutine_t *next = g->sched_next;
        g->sched_next = NULL;
        runq_put(p, g, false);
        g = next;
    }
    first->sched_next = NULL;
    return first;
}

/* ------------------------------------------------------------ idle lists */

/* sched.lock held. */
static p_t *pidle_get(void)
{
    assert(lock_is_held(&sched.lock));
    p_t *p = sched.idle_ps;
    if (p != NULL) {
        sched.idle_ps = p->idle_next;
        p->idle_next = NULL;
        atomic_fetch_sub(&sched.npidle, 1);
    }
    return p;
}

/* sched.lock held. */
static void pidle_put(p_t *p)
{
    assert(lock_is_held(&sched.lock));
    p->idle_next = sched.idle_ps;
    sched.idle_ps = p;
    atomic_fetch_add(&sched.npidle, 1);
}

static void *m_main(void *arg);

void sched_thread_fail_after(int n)
{
    fault_arm(&sched.thread_faults, n);
}

void sched_thread_fail_reset(void)
{
    fault_disarm(&sched.thread_faults);
}

/* Starts a new M that will run with p (spinning if asked). Its record is
 * the core's own, alive as long as the process: plain calloc. */
static int m_start(p_t *p, bool spinning)
{
    m_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return ENOMEM;
    m->handed_p = p;
    m->spinning = spinning;
    m->rand = (uint32_t)(p->id * 2654435761u + 1);
    m->id = atomic_fetch_add(&sched.next_worker_id, 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int       rc = fault_strikes(&sched.thread_faults) ? EAGAIN
                                                       : os_core_thread_create(&thread, &attr, m_main, m);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(m);
        return EAGAIN;
    }
    atomic_fetch_add(&sched.nthreads, 1);
    return 0;
}

/* Hands p to an idle M (or a new one) and wakes it. With p NULL, takes an
 * idle P first, and does nothing if there is none. If no thread can run it,
 * p goes back to the idle list and the error is returned. */
static int m_hand_p(p_t *p, bool spinning)
{
    lock_acquire(&sched.lock);
    if (p == NULL && (p = pidle_get()) == NULL) {
        lock_release(&sched.lock);
        if (spinning)
            atomic_fetch_sub(&sched.nspinning, 1);
        return 0;
    }
    m_t *m = sched.idle_ms;
    if (m != NULL) {
        sched.idle_ms = m->idle_next;
        m->handed_p = p;
        m->spinning = spinning;
    }
    lock_release(&sched.lock);
    if (m != NULL) {
        atomic_store_explicit(&m->wake, 1, memory_order_release);
        os_futex_wake(&m->wake, 1);
        return 0;
    }
    int rc = m_start(p, spinning);
    if (rc != 0) {
        lock_acquire(&sched.lock);
        pidle_put(p);
        lock_release(&sched.lock);
        if (spinning)
            atomic_fetch_sub(&sched.nspinning, 1);
    }
    return rc;
}

/* Go's wakep: there is new work; if a P is idle and no M is looking for
 * work, start one looking. */
static void wake_p(void)
{
    full_barrier(); /* the work is published before we look */
    if (atomic_load(&sched.npidle) == 0)
        return;
    int none = 0;
    if (!atomic_compare_exchange_strong(&sched.nspinning, &none, 1))
        return; /* a spinner will find it */
    m_hand_p(NULL, true);
}

/* An M with no P sleeps until someone hands it one. sched.lock held; it
 * is released while the M sleeps, and not held on return. */
static void m_sleep(m_t *m)
{
    assert(lock_is_held(&sched.lock));
    atomic_store_explicit(&m->wake, 0, memory_order_relaxed);
    m->idle_next = sched.idle_ms;
    sched.idle_ms = m;
    lock_release(&sched.lock);
    while (atomic_load_explicit(&m->wake, memory_order_acquire) == 0)
        os_futex_wait(&m->wake, 0);
    lock_acquire(&sched.lock);
    m->p = m->handed_p;
    m->handed_p = NULL;
    lock_release(&sched.lock);
}

/* The spinner found work: it stops spinning, and if it was the last one,
 * another is started, since there may be more work than it can take. */
static void stop_spinning(m_t *m)
{
    if (!m->spinning)
        return;
    m->spinning = false;
    if (atomic_fetch_sub(&sched.nspinning, 1) == 1)
        wake_p();
}

/* ------------------------------------------------------------ finding work */

static bool work_anywhere(void)
{
    if (atomic_load(&sched.gq_len) > 0)
        return true;
    for (int i = 0; i < sched.nprocs; i++)
        if (!runq_empty(&sched.ps[i]))
            return true;
    return false;
}

static goroutine_t *steal_work(m_t *m, bool may_take_next)
{
    p_t *p = m->p;
    for (int round = 0; round < STEAL_ROUNDS; round++) {
        m->rand = m->rand * 1103515245u + 12345u;
        int start = (int)(m->rand >> 16) % sched.nprocs;
        for (int i = 0; i < sched.nprocs; i++) {
            p_t *victim = &sched.ps[(start + i) % sched.nprocs];
            if (victim == p)
                continue;
            /* A victim's runnext is about to run there: take it only on the
             * last round, when its owner has had time to get to it. */
            goroutine_t *g = runq_steal(p, victim, may_take_next && round == STEAL_ROUNDS - 1);
            if (g != NULL)
                return g;
        }
        goroutine_t *g = globq_get(p);
        if (g != NULL)
            return g;
        cpu_relax();
    }
    return NULL;
}

/* A spinning M's search: steal, then nap and look again for NAPPING_NS,
 * then one last look that may take a busy P's runnext. Go's spinning M does
 * the same in effect (runqgrab sleeps 3 us before taking a runnext, and the
 * timer slack makes that ~50 us). While it naps the M still counts as
 * spinning, so readying a G wakes no one: on a hand-off-heavy program the
 * second worker is not woken through the kernel for every item and sent
 * back to sleep a microsecond later, which cost a futex wake per hand-off
 * and a stolen runnext now and then, the partner then running on the other
 * core. bench/README.md measures it: unbuf_pingpong 580 -> 309 ns, pipeline
 * 642 -> 371, pool 83 -> 53. The price is a late start: work that arrives
 * while the M naps waits until it wakes (tens of microseconds) unless a
 * running M gets to it first. Naps leave runnext alone: the busy owner is
 * about to run it. */
static goroutine_t *look_for_work(m_t *m)
{
    goroutine_t *g = steal_work(m, true);
    for (int64_t until = os_monotonic_ns() + NAPPING_NS; g == NULL && os_monotonic_ns() < until;) {
        os_sleep_until(os_monotonic_ns() + NAP_NS);
        g = steal_work(m, false);
    }
    return g != NULL ? g : steal_work(m, true);
}

/* Returns the next G for m to run, sleeping while there is none. On return
 * m holds a P and is not spinning. */
static goroutine_t *find_runnable(m_t *m)
{
    for (;;) {
        p_t         *p = m->p;
        goroutine_t *g = NULL;
        if (p == NULL) {
            lock_acquire(&sched.lock);
            m_sleep(m); /* returns holding a P */
            continue;
        }
        if (++p->schedtick % GLOBAL_EVERY == 0) /* the global queue is not starved */
            g = globq_get(p);
        if (g == NULL)
            g = runq_get(p);
        if (g == NULL)
            g = globq_get(p);
        if (g == NULL) {
            /* Spin only while spinners are fewer than busy Ps (Go's rule):
             * more would only burn the cores the busy ones need. */
            int busy = sched.nprocs - atomic_load(&sched.npidle);
            if (m->spinning || 2 * atomic_load(&sched.nspinning) < busy) {
                if (!m->spinning) {
                    m->spinning = true;
                    atomic_fetch_add(&sched.nspinning, 1);
                }
                g = look_for_work(m);
            }
        }
        if (g != NULL) {
            stop_spinning(m);
            return g;
        }
        /* Nothing: give the P back, then look once more (see the top). */
        lock_acquire(&sched.lock);
        if (atomic_load(&sched.gq_len) > 0) {
            lock_release(&sched.lock);
            continue;
        }
        pidle_put(p);
        m->p = NULL;
        lock_release(&sched.lock);
        if (m->spinning) {
            m->spinning = false;
            atomic_fetch_sub(&sched.nspinning, 1);
        }
        full_barrier();
        if (work_anywhere()) {
            lock_acquire(&sched.lock);
            m->p = pidle_get();
            lock_release(&sched.lock);
            if (m->p != NULL) {
                m->spinning = true;
                atomic_fetch_add(&sched.nspinning, 1);
            }
        }
    }
}

/* ------------------------------------------------------------ running a G */

/* On g0, after g switched back: finish what g asked for. */
static void after_switch(m_t *m, goroutine_t *g)
{
    switch (m->after) {
    case AFTER_PARK:
        /* g is off its stack now, so whoever wakes it may resume it at once
         * on another M: only now may the commit make it findable. */
        if (!m->after_commit(m->after_arg))
            runq_put(m->p, g, true); /* the wake-up came first: run g again */
        break;
    case AFTER_YIELD:
        globq_put(g);
        break;
    case AFTER_EXIT:
        coro_destroy(&g->coro);
        gpool_put(pool_slot(m), g);
        break;
    case AFTER_LOSE_P: /* back from a blocking call with no P free */
        globq_put(g);
        wake_p();
        break;
    case AFTER_NOTHING:
        break;
    }
    m->after = AFTER_NOTHING;
    m->after_commit = NULL;
    m->after_arg = NULL;
}

static void schedule_loop(m_t *m)
{
    for (;;) {
        goroutine_t *g = find_runnable(m);
        m->curg = g;
        go_set_current(g); /* go_self() on this thread is g until it switches back */
        coro_switch(&m->g0, &g->coro);
        go_set_current(NULL);
        m->curg = NULL;
        after_switch(m, g);
    }
}

/* errno lives in thread-local storage, and a C compiler may compute its
 * address once per function (glibc declares __errno_location const). A G
 * that resumes on another thread must write the errno of that thread, so
 * the write goes through a call the compiler cannot merge with the read
 * made before the switch. */
__attribute__((noinline)) static void set_errno(int value)
{
    errno = value;
}

/* On g's stack: back to its M's loop, asking for `after` (with commit and
 * arg for AFTER_PARK). Returns when g runs again, maybe on another M.
 * errno is g's own across the switch. */
static void switch_to_loop(goroutine_t *g, after_t after, commit_t commit, void *arg)
{
    int  saved_errno = errno;
    m_t *m = current_m();
    m->after = after;
    m->after_commit = commit;
    m->after_arg = arg;
    coro_switch(&g->coro, &m->g0);
    set_errno(saved_errno);
}

/* What every G runs (go.c's body: the goroutine's function, then leaving
 * the registry); set by every spawn, always to the same function. */
static _Atomic(void (*)(goroutine_t *)) g_body;

/* Where every G starts, on its own stack. */

static void g_entry(void *arg)
{
    goroutine_t *g = arg;
    coro_started(&g->coro);
    atomic_load_explicit(&g_body, memory_order_relaxed)(g);
    m_t *m = current_m();
    m->after = AFTER_EXIT;
    coro_switch_final(&g->coro, &m->g0);
    abort(); /* never resumed */
}

goroutine_t *sched_current(void)
{
    m_t *m = current_m();
    return m != NULL ? m->curg : NULL;
}

int sched_worker_id(void)
{
    m_t *m = current_m();
    return m != NULL && m->curg != NULL ? m->id : -1;
}

goroutine_t *sched_may_park(void)
{
    goroutine_t *g = sched_current();
    return g != NULL && g->blocking_depth == 0 ? g : NULL;
}

bool sched_park(bool (*commit)(void *arg), void *arg)
{
    goroutine_t *g = sched_may_park();
    if (g == NULL)
        return false;
    switch_to_loop(g, AFTER_PARK, commit, arg);
    return true;
}

/* The P of the worker the calling goroutine runs on, or NULL if the caller
 * is no goroutine holding one (main, the timer thread, a goroutine inside
 * a blocking call). */
static p_t *running_p(void)
{
    m_t *m = current_m();
    return m != NULL && m->curg != NULL ? m->p : NULL;
}

void sched_ready(goroutine_t *g)
{
    p_t *p = running_p();
    if (p != NULL)
        runq_put(p, g, true);
    else
        globq_put(g);
    wake_p();
}

void sched_gosched(void)
{
    goroutine_t *g = sched_current();
    if (g != NULL && g->blocking_depth == 0)
        switch_to_loop(g, AFTER_YIELD, NULL, NULL);
}

void sched_blocking_begin(void)
{
    goroutine_t *g = sched_current();
    if (g == NULL || g->blocking_depth++ > 0)
        return;
    atomic_fetch_add(&sched.nblocking, 1);
    m_t *m = current_m();
    p_t *p = m->p;
    m->p = NULL;
    /* Go's handoffp: a P with work goes to another M at once; an idle one
     * waits on the idle list for whoever readies a G next. */
    if (!runq_empty(p) || atomic_load(&sched.gq_len) > 0) {
        if (m_hand_p(p, false) != 0)
            m->p = p; /* no thread to take it: keep it, and block with it */
    } else {
        lock_acquire(&sched.lock);
        pidle_put(p);
        lock_release(&sched.lock);
        wake_p(); /* in case work arrived while we looked */
    }
}

void sched_blocking_end(void)
{
    goroutine_t *g = sched_current();
    if (g == NULL || g->blocking_depth == 0 || --g->blocking_depth > 0)
        return;
    atomic_fetch_sub(&sched.nblocking, 1);
    m_t *m = current_m();
    if (m->p != NULL)
        return; /* it kept its P (see begin) */
    lock_acquire(&sched.lock);
    m->p = pidle_get();
    lock_release(&sched.lock);
    if (m->p == NULL) /* every P is busy: queue g; this M goes idle */
        switch_to_loop(g, AFTER_LOSE_P, NULL, NULL);
}

bool sched_all_parked(void)
{
    if (!sched_enabled())
        return true;
    ensure_setup();
    if (atomic_load(&sched.nblocking) > 0 || atomic_load(&sched.npidle) != sched.nprocs)
        return false;
    return !work_anywhere();
}

/* ------------------------------------------------------------ stack overflow */

/* Writes the decimal digits of v into buf (no libc: a signal handler). */
static size_t format_decimal(char *buf, unsigned long long v)
{
    char   digits[24];
    size_t n = 0, len = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        buf[len++] = digits[--n];
    return len;
}

static size_t append(char *buf, size_t len, const char *text)
{
    while (*text && len < 255)
        buf[len++] = *text++;
    return len;
}

/* A fault in the running G's guard page is its stack overflowing: say so by
 * name and exit 2. Any other fault is not ours: the previous handler (or
 * the default, a core dump) gets it when the instruction runs again. */
static void on_fault(int signo, siginfo_t *info, void *context)
{
    (void)context;
    m_t         *m = self_m;
    goroutine_t *g = m != NULL ? m->curg : NULL;
    if (g != NULL && gstack_in_guard(&g->stack, info->si_addr)) {
        char   msg[256];
        size_t len = append(msg, 0, "goroutine ");
        len += format_decimal(msg + len, g->id);
        len = append(msg, len, " (");
        len = append(msg, len, g->name);
        len = append(msg, len, "): stack overflow (");
        len += format_decimal(msg + len, g->stack.size / 1024);
        len = append(msg, len, " KiB); raise GOC_STACK_KB\n");
        ssize_t ignored = write(2, msg, len);
        (void)ignored;
        _exit(2);
    }
    sigaction(signo, signo == SIGSEGV ? &sched.previous_segv : &sched.previous_bus, NULL);
}

static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void install_fault_handler(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &sched.previous_segv);
    sigaction(SIGBUS, &action, &sched.previous_bus);
}

/* The handler must run on a stack of its own: the goroutine's has none
 * left. One per M, for the life of the thread (and the process). */
static void give_thread_altstack(void)
{
    void *mem =
        mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return; /* an overflow is then a plain crash: nothing else breaks */
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = mem;
    ss.ss_size = ALTSTACK_SIZE;
    sigaltstack(&ss, NULL);
}

/* ------------------------------------------------------------ threads */

static void *m_main(void *arg)
{
    m_t *m = arg;
    self_m = m;
    coro_init_thread(&m->g0);
    os_thread_set_name("goc-worker");
    give_thread_altstack();
    pthread_once(&fault_once, install_fault_handler);
    lock_acquire(&sched.lock);
    m->p = m->handed_p;
    m->handed_p = NULL;
    lock_release(&sched.lock);
    schedule_loop(m);
    return NULL;
}

goroutine_t *sched_new_g(void)
{
    return gpool_get(pool_slot(current_m())); /* sched_spawn sets the scheduler up */
}

void sched_drop(goroutine_t *g)
{
    gpool_put(pool_slot(current_m()), g);
}

int sched_spawn(goroutine_t *g, void (*body)(goroutine_t *g))
{
    ensure_setup();
    atomic_store_explicit(&g_body, body, memory_order_relaxed);
    if (coro_init(&g->coro, g->stack.lo, g->stack.size, g_entry, g) != 0)
        return ENOMEM;
    /* The first goroutine needs a worker: if none can be started, go()
     * fails rather than queue a G that would never run. */
    if (atomic_load(&sched.nthreads) == 0) {
        lock_acquire(&sched.lock);
        p_t *p = pidle_get();
        lock_release(&sched.lock);
        int rc = p != NULL ? m_hand_p(p, false) : 0;
        if (rc != 0) {
            coro_destroy(&g->coro);
            return EAGAIN;
        }
    }
    sched_ready(g);
    /* A goroutine that starts goroutines faster than they run would
     * otherwise pile them up without bound, each on a fresh stack: once
     * its worker's ring is full, it lets the ring run first. */
    p_t *p = running_p();
    if (p != NULL && runq_len(p) >= RUNQ_SIZE)
        sched_gosched();
    return 0;
}
