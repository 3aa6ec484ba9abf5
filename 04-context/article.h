/*
 * article.h - lesson 04: two classic context mistakes, kept on purpose for
 * --leak (see article.c; compare it with task.c and examples.c, which
 * cancel every context they make and release every timer).
 */
#ifndef ARTICLE_04_H
#define ARTICLE_04_H

#include "common/timer.h"

/* Runs a task whose code forgets to release its timer (work `task_work`, given
 * `timeout`), then serves a request whose context is never canceled, so a
 * watcher goroutine waits for ever. Both are left for the exit-time leak
 * check to find. Returns 0, or ENOMEM / EAGAIN. */
int article_context_leaks(duration_t task_work, duration_t timeout);

#endif
