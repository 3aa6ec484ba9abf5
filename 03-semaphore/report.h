/*
 * report.h - what lesson 03's program prints about the run: a line per
 * event, and the summary at the end (see report.c).
 */
#ifndef LESSON03_REPORT_H
#define LESSON03_REPORT_H

#include "03-semaphore/limiter.h"

/* A limiter_job_t's on_event (arg unused): one line per event on stdout,
 * "[ 0.500s] Task 4: start (3/3 slots in use)", so the limit shows. */
void report_event(void *arg, const limiter_event_t *event);

/* The last line of a run: how long it took, how many of the `tasks` tasks
 * finished or gave up, and the most of the `limit` slots in use at once. */
void report_summary(const limiter_stats_t *stats, int tasks, int64_t limit);

#endif
