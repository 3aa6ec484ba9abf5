/*
 * goroutine.h - the record of every goroutine, and of every other thread
 * that uses the core (internal: not part of the public API).
 *
 * Every goroutine, and every other thread that waits in the core (the main
 * thread above all), has a goroutine_t, linked in one registry. The
 * blocking operations say what they wait on (go_wait_begin/go_wait_end),
 * and the parker says when the goroutine or thread is really asleep
 * (go_sleep_begin/go_sleep_end); from those, runtime.c detects a deadlock
 * and prints goroutine dumps, and the tracer names what a span waited on.
 *
 * Layer: just above the primitives (os, lock, coro, stack). This layer
 * calls nothing above it: it measures time with os_monotonic_ns(), knows
 * a parker only by its address, and learns which goroutine a thread runs
 * from the runtimes, which tell it (go_set_current), instead of asking
 * the scheduler. go.c starts goroutines and puts them in the registry;
 * sched.c switches them in and out.
 *
 * Invariants (under the registry lock): the list holds one live record
 * per running goroutine, from just before it can first run until its
 * function has returned, and one per other thread that has waited in the
 * core, until that thread exits. Under M:N a finished goroutine's record
 * stays in the list, dead (alive false), while the scheduler keeps it for
 * reuse (gpool.h): the goroutine that finishes marks it dead without the
 * lock, so a start and a finish on two workers do not take turns on it.
 * A record is made live, and its fields are written, only while it is
 * dead (nobody reads a dead record's fields) or under the lock. The
 * running count (go_count) is the records with started_by_go made live
 * less those that left; the iterators below see live records only.
 */
#ifndef COMMON_GOROUTINE_H
#define COMMON_GOROUTINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/coro.h"
#include "common/lock.h"
#include "common/stack.h"

struct parker; /* park.h, a layer above: here only its address is kept */

typedef enum {
    WAIT_NONE = 0,
    WAIT_CHAN_RECV,
    WAIT_CHAN_SEND,
    WAIT_SELECT,
    WAIT_SELECT_EMPTY, /* select with no case that can ever proceed */
    WAIT_WAITGROUP,
    WAIT_SEMAPHORE,
    /* Only for the tracer (go_note_wait), never a goroutine's wait_reason:
     * a sleep is not a wait the deadlock watchdog may count, and a select
     * on a context's done channel is a select to the dumps. */
    WAIT_SLEEP,
    WAIT_CONTEXT,
} wait_reason_t;

typedef struct goroutine {
    /* The registry's own, kept when a record is reused: the links and
     * `linked` under the registry lock; `alive` set under it, cleared
     * under it or by the finishing goroutine (go_exited). */
    struct goroutine *prev, *next;
    bool              linked;
    atomic_bool       alive;
    bool              pooled; /* M:N: the record outlives its goroutine */

    /* M:N runtime only (sched.c): the goroutine's own context and stack,
     * kept with a reused record. */
    coro_t   coro;
    gstack_t stack;

    /* From here on, cleared for every new goroutine, under the registry
     * lock (go_registry_add): a dump may still be reading them. */
    uint64_t id; /* 1 is the process's main thread */
    bool     started_by_go;
    void (*fn)(void *arg);
    void *arg;
    char  name[48];

    /* What it waits on: written by the goroutine itself, read by dumps. */
    int                  wait_depth; /* owner only: nested waits keep the outer reason */
    atomic_int           wait_reason;
    atomic_uint_fast64_t wait_chan_id;
    atomic_size_t        wait_elem_size, wait_cap, wait_cases;
    /* Owner only, for the tracer (trace.c reads them on the same thread
     * to tell what a waiting span waited on): outermost waits begun so
     * far, and the reason of the latest. Two plain stores per wait. */
    uint64_t      waits;
    wait_reason_t last_wait;

    /* Asleep on a parker (a thread in the kernel, a goroutine switched
     * out). Written by the owner alone, on every park, so with no lock:
     * readers load them as atomics, and the watchdog, which reads the
     * parker itself, pins it first (go_sleep_pin). */
    _Atomic(struct parker *) sleeping_on;
    atomic_uint_fast64_t     sleep_count; /* times it has gone to sleep */
    atomic_int_fast64_t      sleep_since; /* os_monotonic_coarse_ns() */
    atomic_int               sleep_pins;  /* readers of *sleeping_on right now */

    /* The watchdog's notes from its previous scan (watchdog only). */
    uint64_t seen_sleep_count;
    bool     seen_asleep;

    /* M:N runtime only: its link in a run queue or the pool, nested
     * blocking calls, and its trace buffer (trace.c), or NULL. */
    struct goroutine *sched_next;
    int               blocking_depth;
    void             *trace_buf;
} goroutine_t;

/* The calling goroutine's record, or this thread's. A thread not started
 * by go() is registered on its first call (that is what "the core knows
 * the main thread" means); NULL only if its record could not be allocated.
 * Always a real call: under M:N a goroutine may resume on another thread,
 * and the answer comes from a thread-local that must be read anew. */
goroutine_t *go_self(void);

/* The same if it has a record, without registering anybody. */
goroutine_t *go_self_if_known(void);

/* The runtimes say which goroutine the calling thread runs from now on
 * (NULL: none, the thread is itself again): the M:N scheduler whenever it
 * switches a goroutine in or out, the thread runtime for a goroutine
 * thread's whole life. go_self() answers with it first. */
void go_set_current(goroutine_t *g);

/* Makes g, a dead record (new and zeroed, or reused: `pooled`, coro and
 * stack are kept), the live record of a goroutine that will run fn(arg):
 * clears the rest, names it (cut to 47 bytes), numbers it, links it if it
 * is not linked, and counts it as running. All under the lock, so that a
 * dump still reading the record's previous goroutine sees none of it. */
void go_registry_add(goroutine_t *g, const char *name, void (*fn)(void *arg), void *arg);

/* Takes it out of the list: for a goroutine that could not be started,
 * and for a pooled record the scheduler frees for good. */
void go_registry_remove(goroutine_t *g);

/* g's function has returned: runs the exit hook (if one is registered),
 * then g no longer counts as running. A pooled record is marked dead
 * where it is, without the lock (the scheduler keeps it for reuse); any
 * other leaves the list, and the caller frees it. */
void go_exited(goroutine_t *g);

/* Registers the function go_exited calls with each goroutine that returns,
 * just before it leaves the registry (the trace closes its buffer there).
 * One hook; registering it again is harmless. */
void go_set_exit_hook(void (*hook)(goroutine_t *g));

/* Goroutines in the registry (started by go(), function not yet
 * returned): go_count()'s answer. */
size_t go_running(void);

/* Blocking operations bracket their wait with these. Nested calls (a
 * semaphore acquire waiting in a select) keep the outermost reason. */
void go_wait_begin(wait_reason_t reason, uint64_t chan_id, size_t elem_size, size_t cap,
                   size_t cases);
void go_wait_end(void);

/* Notes, for the tracer only, what the calling goroutine is about to wait
 * on: a sleep (outside any core wait), or a finer name for the wait it has
 * just begun (a select that includes a context's done channel). It becomes
 * last_wait, nothing else changes; inside a nested wait (a semaphore's
 * select) the outer reason stands. Does nothing for a thread the core does
 * not know yet (and does not register it). */
void go_note_wait(wait_reason_t reason);

/* Called by the parker around a sleep on p (in the kernel, or switched
 * out). go_sleep_end returns only once no reader has p pinned, so p may
 * go out of scope right after it. */
void go_sleep_begin(struct parker *p);
void go_sleep_end(void);

/* For a reader on another thread that must look inside the parker g
 * sleeps on (the watchdog asks whether anyone has woken it): returns that
 * parker, or NULL if g is awake, and the times g has gone to sleep in
 * *sleeps. A non-NULL parker stays valid until go_sleep_unpin(g), which
 * must follow soon: g cannot finish waking until then. Call with the
 * registry locked, so that g itself stays. */
struct parker *go_sleep_pin(goroutine_t *g, uint64_t *sleeps);
void           go_sleep_unpin(goroutine_t *g);

/* Iterating over the live records: hold the lock while reading the list.
 * NULL after the last. */
void         go_registry_lock(void);
void         go_registry_unlock(void);
goroutine_t *go_registry_first(void);
goroutine_t *go_registry_next(goroutine_t *g);

/* One line per record ("goroutine 7 [chan receive, 2.0s]: worker 2 ...");
 * all threads if include_others, else only goroutines started by go().
 * Takes the registry lock. Returns the number of lines. */
size_t go_dump_records(FILE *out, bool include_others);

#endif
