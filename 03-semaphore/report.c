/*
 * report.c - lesson 03's program, the lines it prints about the run: one
 * per limiter event (waiting, start, finish, gave up), each with the slots
 * in use, and the summary once limiter_run has returned. Only printing:
 * kept out of main.c so that main.c reads as the run being set up, driven
 * and taken down.
 */
#include "03-semaphore/report.h"

#include <inttypes.h>
#include <stdio.h>

void report_event(void *arg, const limiter_event_t *ev)
{
    (void)arg;
    printf("[%6.3fs] Task %d: ", (double)ev->elapsed_ns / 1e9, ev->task);
    switch (ev->kind) {
    case LIMITER_WAITING:
        printf("waiting for %" PRId64 " slot%s", ev->weight, ev->weight == 1 ? "" : "s");
        break;
    case LIMITER_STARTED:
        printf("start");
        break;
    case LIMITER_FINISHED:
        printf("finish");
        break;
    case LIMITER_GAVE_UP:
        printf("gave up waiting: %s", limiter_reason(ev->err));
        break;
    }
    printf(" (%" PRId64 "/%" PRId64 " slots in use)\n", ev->in_use, ev->limit);
}

void report_summary(const limiter_stats_t *stats, int tasks, int64_t limit)
{
    printf("Done in %.2f s: %d of %d tasks finished, %d gave up; at most %" PRId64 " of %" PRId64
           " slots were in use at once.\n",
           (double)stats->elapsed_ns / 1e9, stats->started, tasks, stats->gave_up, stats->peak,
           limit);
}
