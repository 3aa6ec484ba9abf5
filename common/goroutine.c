/*
 * goroutine.c - the registry of goroutines and of the threads that wait in
 * the core, and what each of them waits on (goroutine.h).
 *
 * Invariants:
 *   - the list, each record's links and `linked`, and next_id change only
 *     under registry_lock; a record is made live (`alive`) only under it;
 *   - `started` counts records with started_by_go made live, `finished`
 *     those that died since: go_running() is the difference. The starter
 *     adds (under the lock), the finisher subtracts (without it), each on
 *     a cache line of its own;
 *   - a dead record's fields are read by nobody: the iterators and the
 *     dumps skip it. A pooled record (M:N) dies where it is, without the
 *     lock; it is rewritten only under the lock (go_registry_add), which a
 *     dump holds while it reads;
 *   - a thread finds its record in one of two thread-locals: `current`,
 *     the goroutine the runtime says it runs (go_set_current), else `self`,
 *     its own record as a thread the core met (registered on demand, left
 *     at the thread's exit by a pthread key destructor);
 *   - a record's wait and sleep fields are written only by its owner; the
 *     dumps and the watchdog read them as atomics;
 *   - the parker a record sleeps on stays valid while a reader has it
 *     pinned. A Dekker handshake, both sides sequentially consistent: the
 *     owner clears sleeping_on, then waits while sleep_pins != 0; a reader
 *     raises sleep_pins, then reads sleeping_on. One of them sees the
 *     other's store, so either the reader sees NULL or the owner waits.
 *     (It replaced a lock taken twice on every park: bench/README.md.)
 * Nothing here calls a layer above: no scheduler, no timer, no parker.
 */
#include "common/goroutine.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/os.h"

static lock_t       registry_lock; /* zeroed: unlocked */
static goroutine_t *registry_head;
static uint64_t     next_id = 2; /* 1 is the main thread */
static alignas(64) atomic_size_t started;
static alignas(64) atomic_size_t finished;
static _Thread_local goroutine_t *current; /* set by the runtimes */
static _Thread_local goroutine_t *self;    /* a thread's own record */

/* registry_lock held. Links g at the head if it is not in the list yet
 * (a reused record keeps its place), numbers it and makes it live. */
static void make_live(goroutine_t *g, uint64_t id)
{
    if (!g->linked) {
        g->prev = NULL;
        g->next = registry_head;
        if (registry_head)
            registry_head->prev = g;
        registry_head = g;
        g->linked = true;
    }
    g->id = id;
    if (g->started_by_go)
        atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    atomic_store_explicit(&g->alive, true, memory_order_release);
}

/* The name, cut to the record's 47 bytes (as snprintf would, without its
 * cost on every start). */
static void set_name(goroutine_t *g, const char *name)
{
    size_t len = 0;
    while (len < sizeof g->name - 1 && name[len] != '\0')
        len++;
    memcpy(g->name, name, len);
    g->name[len] = '\0';
}

void go_registry_add(goroutine_t *g, const char *name, void (*fn)(void *arg), void *arg)
{
    lock_acquire(&registry_lock);
    memset((char *)g + offsetof(goroutine_t, id), 0, sizeof *g - offsetof(goroutine_t, id));
    g->started_by_go = true;
    g->fn = fn;
    g->arg = arg;
    set_name(g, name);
    make_live(g, next_id++);
    lock_release(&registry_lock);
}

/* g is no longer running (either lock state). */
static void mark_dead(goroutine_t *g)
{
    atomic_store_explicit(&g->alive, false, memory_order_release);
    if (g->started_by_go) /* release: whoever sees the count drop sees g's work */
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
}

void go_registry_remove(goroutine_t *g)
{
    lock_acquire(&registry_lock);
    if (atomic_load_explicit(&g->alive, memory_order_relaxed))
        mark_dead(g);
    if (g->linked) {
        if (g->prev)
            g->prev->next = g->next;
        else
            registry_head = g->next;
        if (g->next)
            g->next->prev = g->prev;
        g->prev = g->next = NULL;
        g->linked = false;
    }
    lock_release(&registry_lock);
}

size_t go_running(void)
{
    /* Finished first: it never passes started, which only grows. Acquire:
     * a caller that sees a goroutine gone (go_count() back to 0, say)
     * sees everything it did. */
    size_t done = atomic_load_explicit(&finished, memory_order_acquire);
    return atomic_load_explicit(&started, memory_order_relaxed) - done;
}

/* ------------------------------------------------------ who is calling */

static pthread_key_t  exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/* A registered thread that was not started by go() leaves the registry
 * when it exits. Its record is plain malloc: it is the core's bookkeeping,
 * not the program's, so it must not count as a live allocation. */
static void forget_thread(void *record)
{
    go_registry_remove(record);
    free(record);
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, forget_thread);
}

/* Not inlined, so that no caller in this file keeps the thread-local's
 * address across a goroutine switch (see go_self in goroutine.h). */
__attribute__((noinline)) static goroutine_t *current_goroutine(void)
{
    return current;
}

void go_set_current(goroutine_t *g)
{
    current = g;
}

goroutine_t *go_self(void)
{
    goroutine_t *g = current_goroutine();
    if (g != NULL)
        return g;
    if (self != NULL)
        return self;
    g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    bool is_main = os_is_main_thread();
    snprintf(g->name, sizeof g->name, "%s", is_main ? "main" : "thread");
    pthread_once(&exit_key_once, make_exit_key);
    if (!is_main) /* the main thread's record lives as long as the process */
        pthread_setspecific(exit_key, g);
    lock_acquire(&registry_lock);
    make_live(g, is_main ? 1 : next_id++);
    lock_release(&registry_lock);
    self = g;
    return g;
}

goroutine_t *go_self_if_known(void)
{
    goroutine_t *g = current_goroutine();
    return g != NULL ? g : self;
}

/* ------------------------------------------------------ leaving */

static _Atomic(void (*)(goroutine_t *)) exit_hook;

void go_set_exit_hook(void (*hook)(goroutine_t *g))
{
    atomic_store(&exit_hook, hook);
}

void go_exited(goroutine_t *g)
{
    void (*hook)(goroutine_t *) = atomic_load(&exit_hook);
    if (hook != NULL)
        hook(g);
    if (g->pooled)
        mark_dead(g); /* stays linked, for the scheduler to reuse */
    else
        go_registry_remove(g);
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

void go_sleep_begin(struct parker *p)
{
    goroutine_t *g = go_self();
    if (g == NULL)
        return;
    /* Dumps print the time asleep in tenths of a second: the last tick's
     * time will do, and this runs on every park (bench/README.md). */
    int64_t  now = os_monotonic_coarse_ns();
    uint64_t count = atomic_load_explicit(&g->sleep_count, memory_order_relaxed);
    atomic_store_explicit(&g->sleep_count, count + 1, memory_order_relaxed);
    atomic_store_explicit(&g->sleep_since, now, memory_order_relaxed);
    /* Release: a reader that sees p sees the count and time above. */
    atomic_store_explicit(&g->sleeping_on, p, memory_order_release);
}

void go_sleep_end(void)
{
    goroutine_t *g = go_self_if_known();
    if (g == NULL)
        return;
    atomic_store_explicit(&g->sleeping_on, NULL, memory_order_seq_cst);
    /* A reader pinned the parker before it could see NULL: it is looking
     * inside it right now, for a few instructions. */
    for (int spins = 0; atomic_load_explicit(&g->sleep_pins, memory_order_seq_cst) != 0; spins++) {
        if (spins < 100)
            cpu_relax();
        else
            sched_yield(); /* the reader's thread may be waiting for a core */
    }
}

struct parker *go_sleep_pin(goroutine_t *g, uint64_t *sleeps)
{
    atomic_fetch_add_explicit(&g->sleep_pins, 1, memory_order_seq_cst);
    struct parker *p = atomic_load_explicit(&g->sleeping_on, memory_order_seq_cst);
    *sleeps = atomic_load_explicit(&g->sleep_count, memory_order_relaxed);
    return p;
}

void go_sleep_unpin(goroutine_t *g)
{
    atomic_fetch_sub_explicit(&g->sleep_pins, 1, memory_order_release);
}

/* ------------------------------------------------------ dumps */

void go_registry_lock(void)
{
    lock_acquire(&registry_lock);
}

void go_registry_unlock(void)
{
    lock_release(&registry_lock);
}

static bool is_live(goroutine_t *g)
{
    return atomic_load_explicit(&g->alive, memory_order_acquire);
}

/* registry_lock held: g, or the first live record after it. */
static goroutine_t *live_from(goroutine_t *g)
{
    while (g != NULL && !is_live(g))
        g = g->next;
    return g;
}

goroutine_t *go_registry_first(void)
{
    return live_from(registry_head);
}

goroutine_t *go_registry_next(goroutine_t *g)
{
    return live_from(g->next);
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
    bool          asleep = atomic_load_explicit(&g->sleeping_on, memory_order_acquire) != NULL;
    int64_t       since = atomic_load_explicit(&g->sleep_since, memory_order_relaxed);

    fprintf(out, "goroutine %llu [%s", (unsigned long long)g->id, reason_text(reason));
    if (reason == WAIT_SELECT)
        fprintf(out, ", %zu cases", atomic_load_explicit(&g->wait_cases, memory_order_relaxed));
    if (reason != WAIT_NONE && asleep)
        fprintf(out, ", %.1fs", (double)(now - since) / 1e9);
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
    int64_t now = os_monotonic_ns();
    lock_acquire(&registry_lock);
    goroutine_t *oldest = registry_head;
    while (oldest && oldest->next)
        oldest = oldest->next;
    /* Oldest record first; a reused record keeps its place, as a reused G
     * keeps its place in Go's allgs. */
    for (goroutine_t *g = oldest; g; g = g->prev) {
        if (is_live(g) && (g->started_by_go || include_others)) {
            dump_record(out, g, now);
            lines++;
        }
    }
    lock_release(&registry_lock);
    return lines;
}
