/*
 * article.h - lesson 03: the mistake the semaphore pattern invites, an
 * error path that keeps its slot, for --leak (see article.c; compare it
 * with the task driver in limiter.c, which releases on every way out).
 */
#ifndef ARTICLE_03_H
#define ARTICLE_03_H

#include <stdbool.h>
#include <stdint.h>

/* Runs `tasks` tasks through a limiter of `limit` slots (the buffered
 * channel if use_channel, else the weighted semaphore); every even-numbered
 * task "fails" after work_ms of work and returns holding its slot. Main
 * gives up once no task has returned for a while, leaving the tasks still
 * waiting for the exit-time leak check to find. Returns 0, or ENOMEM. */
int article_forgotten_release(int64_t tasks, int64_t limit, int64_t work_ms, bool use_channel);

#endif
