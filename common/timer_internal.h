/*
 * timer_internal.h - the timer thread's entries, shared by timer.c and
 * context.c; not part of the public API.
 *
 * An entry runs fire(arg) on the timer thread at `when` (time_now() clock),
 * and again every `period` if period > 0. Its owner calls
 * timer_entry_stop() exactly once, whether or not it has fired.
 */
#ifndef COMMON_TIMER_INTERNAL_H
#define COMMON_TIMER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/timer.h"

typedef struct timer_entry timer_entry_t;

/* Arms an entry. fire runs on the timer thread with no core lock held; it
 * must not call timer_entry_stop on its own entry. NULL with errno ENOMEM
 * (or EAGAIN if the timer thread cannot be started). */
timer_entry_t *timer_entry_start(int64_t when, duration_t period, void (*fire)(void *arg),
                                 void *arg);

/* Disarms and frees the entry. If fire is running on the timer thread, waits
 * for it to return first, so after this returns fire will never run again.
 * NULL is ignored. */
void timer_entry_stop(timer_entry_t *entry);

/* Arms the core's one internal periodic entry (the deadlock watchdog). It
 * is not counted by time_pending_timers() and is never stopped. Call once;
 * a failure to start the thread leaves it unarmed. */
void timer_internal_start(int64_t when, duration_t period, void (*fire)(void *arg), void *arg);

/* True if no user timer is pending or firing: nothing but a program's own
 * threads can wake a program's threads. */
bool timer_user_timers_idle(void);

#endif
