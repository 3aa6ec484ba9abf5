/*
 * go.c - the `go` statement under both runtimes, and the calls a goroutine
 * makes of its runtime (go.h).
 *
 * Protocol: go_named() registers the new goroutine's record (goroutine.c)
 * before it can first run, so go_count() counts it from the moment go()
 * returns 0, and a goroutine that finishes at once cannot leave before it
 * arrived. Then either the M:N scheduler queues it (sched_spawn), or a
 * detached POSIX thread runs it (the thread runtime). Whichever ran it,
 * the goroutine leaves the registry through go_exited() when its function
 * returns; a start that failed takes the record out again, and fn never
 * runs.
 *
 * The first go() also starts the runtime's watchdog (runtime.h), as Go's
 * runtime starts sysmon: deadlocks need goroutines, so a program that
 * never starts one has no watchdog, and no other call starts it.
 */
#include "common/go.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/alloc.h"
#include "common/fault.h"
#include "common/goroutine.h"
#include "common/os.h"
#include "common/runtime.h"
#include "common/sched.h"

/* ------------------------------------------------------ the thread runtime */

static void *goroutine_thread(void *p)
{
    goroutine_t *g = p;
    os_thread_set_name(g->name);
    go_set_current(g);

    g->fn(g->arg);

    go_exited(g);
    go_set_current(NULL);
    goc_free(g);
    return NULL;
}

static int spawn_thread(goroutine_t *g)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int       rc = pthread_create(&thread, &attr, goroutine_thread, g);
    pthread_attr_destroy(&attr);
    return rc != 0 ? EAGAIN : 0;
}

/* ------------------------------------------------------ the M:N runtime */

/* Runs on the goroutine's own stack; the scheduler frees g after it
 * returns. */
static void goroutine_body(goroutine_t *g)
{
    g->fn(g->arg);
    go_exited(g);
}

/* ------------------------------------------------------ go() */

static fault_countdown_t spawn_faults = FAULT_COUNTDOWN_OFF;

void go_fail_after(int64_t n)
{
    fault_arm(&spawn_faults, n);
}

void go_fail_reset(void)
{
    fault_disarm(&spawn_faults);
}

int go_named(const char *name, void (*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return EINVAL;
    go_self();                /* the caller is a thread that uses the core */
    runtime_watchdog_start(); /* once: the first goroutine brings the watchdog */
    /* Under M:N the scheduler keeps finished goroutines' records, stacks
     * included, for reuse (gpool.h); a thread's record is plain memory. */
    bool         mn = sched_enabled();
    goroutine_t *g = mn ? sched_new_g() : goc_calloc(1, sizeof *g);
    if (g == NULL)
        return ENOMEM;
    g->pooled = mn;                                         /* a dead record: nobody reads it yet */
    go_registry_add(g, name ? name : "goroutine", fn, arg); /* before it can run */
    int rc = EAGAIN;
    if (!fault_strikes(&spawn_faults))
        rc = mn ? sched_spawn(g, goroutine_body) : spawn_thread(g);
    if (rc != 0) {
        go_registry_remove(g);
        if (mn)
            sched_drop(g);
        else
            goc_free(g);
    }
    return rc;
}

int go(void (*fn)(void *arg), void *arg)
{
    return go_named(NULL, fn, arg);
}

size_t go_count(void)
{
    return go_running();
}

const char *go_runtime(void)
{
    return sched_enabled() ? "mn" : "threads";
}

void go_yield(void)
{
    if (sched_current() != NULL)
        sched_gosched();
    else
        sched_yield(); /* POSIX: let another thread have this core */
}

void go_blocking_begin(void)
{
    sched_blocking_begin(); /* a no-op on a thread: only goroutines hold a P */
}

void go_blocking_end(void)
{
    sched_blocking_end();
}

size_t go_dump(FILE *out)
{
    return go_dump_records(out, false);
}
