/*
 * leak.h - proving a clean shutdown, at the end of a test or of a program.
 *
 * Take a snapshot before starting work; after shutting it down, leak_check
 * waits (polling with backoff, like uber-go/goleak, since a goroutine that
 * has returned may need a moment to leave) until the goroutine count, the
 * live allocations and the pending timers are back where they were. If they
 * are not, it names what is still running.
 */
#ifndef COMMON_LEAK_H
#define COMMON_LEAK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    size_t  goroutines;  /* go_count() */
    int64_t allocations; /* alloc_live() */
    size_t  timers;      /* time_pending_timers() */
    long    threads;     /* os_foreign_thread_count(): OS threads not the core's (-1 if unknown) */
} leak_snapshot_t;

/* The current counts. */
leak_snapshot_t leak_snapshot(void);

/* Polls for about half a second (1 us doubling to 100 ms) until every count
 * is back to at most its value in *base. Returns 0 when clean; otherwise
 * writes a report naming the goroutines still running to report (if not
 * NULL) and returns EBUSY. The OS thread count is compared only if
 * check_threads is non-zero (the timer thread, once started, stays). */
int leak_check(const leak_snapshot_t *base, int check_threads, FILE *report);

/* Number of threads of this process (os_thread_count); -1 if the platform
 * cannot tell. */
long leak_thread_count(void);

#endif
