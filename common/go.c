/*
 * go.c - goroutines as detached POSIX threads, and the registry of every
 * thread the core knows.
 *
 * Invariants (under registry_lock): the list holds one record per running
 * goroutine, from just before pthread_create until its fn has returned, and
 * one per other thread that has used the core, until that thread exits;
 * `running` is the number of goroutine records (what go_count reports).
 * A thread finds its own record through the thread-local `self`.
 */
#include "common/go.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go_internal.h"
#include "common/os.h"
#include "common/runtime.h"
#include "common/sched.h"
#include "common/timer.h"

static pthread_mutex_t            registry_lock = PTHREAD_MUTEX_INITIALIZER;
static goroutine_t               *registry_head;
static atomic_size_t              running;
static uint64_t                   next_id = 2; /* 1 is the main thread */
static _Thread_local goroutine_t *self;

static void registry_add(goroutine_t *g, bool is_main_thread)
{
    pthread_mutex_lock(&registry_lock);
    g->id = is_main_thread ? 1 : next_id++;
    g->prev = NULL;
    g->next = registry_head;
    if (registry_head)
        registry_head->prev = g;
    registry_head = g;
    if (g->started_by_go)
        atomic_fetch_add(&running, 1);
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(goroutine_t *g)
{
    pthread_mutex_lock(&registry_lock);
    if (g->prev)
        g->prev->next = g->next;
    else
        registry_head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    if (g->started_by_go)
        atomic_fetch_sub(&running, 1);
    pthread_mutex_unlock(&registry_lock);
}

static void set_name(goroutine_t *g, const char *name)
{
    strncpy(g->name, name, sizeof g->name - 1);
    g->name[sizeof g->name - 1] = '\0';
}

/* ------------------------------------------------------ other threads */

static pthread_key_t  exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/* A registered thread that was not started by go() leaves the registry
 * when it exits. Its record is plain malloc: it is the core's bookkeeping,
 * not the program's, so it must not count as a live allocation. */
static void forget_thread(void *record)
{
    registry_remove(record);
    free(record);
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, forget_thread);
}

goroutine_t *go_self(void)
{
    if (sched_enabled()) {
        goroutine_t *g = sched_current();
        if (g != NULL)
            return g;
    }
    if (self != NULL)
        return self;
    goroutine_t *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    bool is_main = os_is_main_thread();
    set_name(g, is_main ? "main" : "thread");
    pthread_once(&exit_key_once, make_exit_key);
    if (!is_main) /* the main thread's record lives as long as the process */
        pthread_setspecific(exit_key, g);
    registry_add(g, is_main);
    self = g;
    runtime_watchdog_start();
    return g;
}

goroutine_t *go_self_if_known(void)
{
    if (sched_enabled()) {
        goroutine_t *g = sched_current();
        if (g != NULL)
            return g;
    }
    return self;
}

/* ------------------------------------------------------ goroutines */

static void *goroutine_main(void *p)
{
    goroutine_t *g = p;
    os_thread_set_name(g->name);
    self = g;

    g->fn(g->arg);

    self = NULL;
    registry_remove(g);
    goc_free(g);
    return NULL;
}

/* The M:N runtime's goroutines run this on their own stacks; the scheduler
 * frees g after it returns. */
static _Atomic(void (*)(goroutine_t *)) exit_hook;

void go_set_exit_hook(void (*hook)(goroutine_t *g))
{
    atomic_store(&exit_hook, hook);
}

static void goroutine_body(goroutine_t *g)
{
    g->fn(g->arg);
    void (*hook)(goroutine_t *) = atomic_load(&exit_hook);
    if (hook != NULL)
        hook(g);
    registry_remove(g);
}

static atomic_int_fast64_t spawn_countdown = -1; /* -1: never fail */

void go_fail_after(int64_t n)
{
    atomic_store(&spawn_countdown, n < 0 ? 0 : n);
}

void go_fail_reset(void)
{
    atomic_store(&spawn_countdown, -1);
}

/* True if this start must fail: the countdown reached zero. */
static bool injected_spawn_failure(void)
{
    int_fast64_t left = atomic_load(&spawn_countdown);
    while (left >= 0) {
        if (left == 0)
            return true;
        if (atomic_compare_exchange_weak(&spawn_countdown, &left, left - 1))
            return false;
    }
    return false;
}

int go_named(const char *name, void (*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return EINVAL;
    go_self(); /* the caller is a thread that uses the core */
    goroutine_t *g = goc_calloc(1, sizeof *g);
    if (g == NULL)
        return ENOMEM;
    g->started_by_go = true;
    g->fn = fn;
    g->arg = arg;
    set_name(g, name ? name : "goroutine");

    if (sched_enabled()) {
        registry_add(g, false); /* before it is queued: it may finish at once */
        int rc = injected_spawn_failure() ? EAGAIN : sched_spawn(g, goroutine_body);
        if (rc != 0) {
            registry_remove(g);
            goc_free(g);
        }
        return rc;
    }

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    registry_add(g, false); /* before the thread exists: it may finish at once */
    pthread_t thread;
    int rc = injected_spawn_failure() ? EAGAIN : pthread_create(&thread, &attr, goroutine_main, g);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        registry_remove(g);
        goc_free(g);
        return EAGAIN;
    }
    return 0;
}

int go(void (*fn)(void *arg), void *arg)
{
    return go_named(NULL, fn, arg);
}

size_t go_count(void)
{
    return atomic_load(&running);
}

const char *go_runtime(void)
{
    return sched_enabled() ? "mn" : "threads";
}

void go_yield(void)
{
    if (sched_enabled() && sched_current() != NULL)
        sched_gosched();
    else
        sched_yield(); /* POSIX: let another thread have this core */
}

void go_blocking_begin(void)
{
    if (sched_enabled())
        sched_blocking_begin();
}

void go_blocking_end(void)
{
    if (sched_enabled())
        sched_blocking_end();
}

/* ------------------------------------------------------ waiting */

void go_wait_begin(wait_reason_t reason, uint64_t chan_id, size_t elem_size, size_t cap,
                   size_t cases)
{
    goroutine_t *g = go_self();
    if (g == NULL || g->wait_depth++ > 0)
        return;
    g->waits++;
    g->last_wait = reason;
    atomic_store_explicit(&g->wait_chan_id, chan_id, memory_order_relaxed);
    atomic_store_explicit(&g->wait_elem_size, elem_size, memory_order_relaxed);
    atomic_store_explicit(&g->wait_cap, cap, memory_order_relaxed);
    atomic_store_explicit(&g->wait_cases, cases, memory_order_relaxed);
    atomic_store_explicit(&g->wait_reason, (int)reason, memory_order_release);
}

void go_note_wait(wait_reason_t reason)
{
    goroutine_t *g = go_self_if_known();
    if (g == NULL || g->wait_depth > 1)
        return; /* inside another wait, whose reason stands */
    if (g->wait_depth == 0)
        g->waits++; /* a wait of its own (a sleep); else go_wait_begin counted it */
    g->last_wait = reason;
}

void go_wait_end(void)
{
    goroutine_t *g = go_self_if_known();
    if (g != NULL && g->wait_depth > 0 && --g->wait_depth == 0)
        atomic_store_explicit(&g->wait_reason, WAIT_NONE, memory_order_release);
}

void go_sleep_begin(parker_t *p)
{
    goroutine_t *g = go_self();
    if (g == NULL)
        return;
    int64_t now = time_now();
    lock_acquire(&g->sleep_lock);
    g->sleeping_on = p;
    g->sleep_count++;
    g->sleep_since = now;
    lock_release(&g->sleep_lock);
}

void go_sleep_end(void)
{
    goroutine_t *g = go_self_if_known();
    if (g == NULL)
        return;
    lock_acquire(&g->sleep_lock);
    g->sleeping_on = NULL;
    lock_release(&g->sleep_lock);
}

/* ------------------------------------------------------ dumps */

void go_registry_lock(void)
{
    pthread_mutex_lock(&registry_lock);
}

void go_registry_unlock(void)
{
    pthread_mutex_unlock(&registry_lock);
}

goroutine_t *go_registry_first(void)
{
    return registry_head;
}

static const char *reason_text(wait_reason_t reason)
{
    switch (reason) {
    case WAIT_CHAN_RECV:
        return "chan receive";
    case WAIT_CHAN_SEND:
        return "chan send";
    case WAIT_SELECT:
        return "select";
    case WAIT_SELECT_EMPTY:
        return "select (no cases)";
    case WAIT_WAITGROUP:
        return "waitgroup wait";
    case WAIT_SEMAPHORE:
        return "semaphore acquire";
    case WAIT_SLEEP:   /* never a wait_reason (go_note_wait), so never shown */
    case WAIT_CONTEXT: /* the same */
    default:
        return "running";
    }
}

static void dump_record(FILE *out, goroutine_t *g, int64_t now)
{
    wait_reason_t reason = atomic_load_explicit(&g->wait_reason, memory_order_acquire);
    lock_acquire(&g->sleep_lock);
    bool    asleep = g->sleeping_on != NULL;
    int64_t since = g->sleep_since;
    lock_release(&g->sleep_lock);

    fprintf(out, "goroutine %llu [%s", (unsigned long long)g->id, reason_text(reason));
    if (reason == WAIT_SELECT)
        fprintf(out, ", %zu cases", atomic_load_explicit(&g->wait_cases, memory_order_relaxed));
    if (reason != WAIT_NONE && asleep)
        fprintf(out, ", %.1fs", (double)(now - since) / TIME_SECOND);
    fprintf(out, "]: %s", g->name);
    if (reason == WAIT_CHAN_RECV || reason == WAIT_CHAN_SEND)
        fprintf(out, " on chan #%llu (elem %zu bytes, cap %zu)",
                (unsigned long long)atomic_load_explicit(&g->wait_chan_id, memory_order_relaxed),
                atomic_load_explicit(&g->wait_elem_size, memory_order_relaxed),
                atomic_load_explicit(&g->wait_cap, memory_order_relaxed));
    fputc('\n', out);
}

size_t go_dump_records(FILE *out, bool include_others)
{
    size_t  lines = 0;
    int64_t now = time_now();
    pthread_mutex_lock(&registry_lock);
    goroutine_t *oldest = registry_head;
    while (oldest && oldest->next)
        oldest = oldest->next;
    for (goroutine_t *g = oldest; g; g = g->prev) { /* in order of arrival, like Go's */
        if (g->started_by_go || include_others) {
            dump_record(out, g, now);
            lines++;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return lines;
}

size_t go_dump(FILE *out)
{
    return go_dump_records(out, false);
}
