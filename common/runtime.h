/*
 * runtime.h - what Go's runtime tells you when things go wrong.
 *
 * Deadlock detection: when every goroutine, and every other thread that has
 * used the core (the main thread), is asleep inside a core wait (a channel
 * send or receive, a select, a wait group, a semaphore) and no timer is
 * pending that could wake one of them, nothing can ever happen again. Go
 * then stops the program with "fatal error: all goroutines are asleep -
 * deadlock!"; so does this core: it prints that line and a goroutine dump to
 * stderr and exits with status 2, within about 100 ms.
 *
 * A thread blocked outside the core (read(), sleep(), a mutex of its own)
 * counts as running, so the detector never fires falsely for it; but a
 * thread the core has never seen cannot be counted at all. A program whose
 * threads wait on such things turns the detector off: GOC_DEADLOCK=0 in the
 * environment, or runtime_deadlock_detection(false).
 *
 * Goroutine dump: one line per known thread with its name, what it waits on
 * and for how long, and the channel's identity:
 *     goroutine 7 [chan receive, 2.0s]: worker 2 on chan #3 (elem 4 bytes, cap 0)
 * Printed on SIGQUIT (Ctrl-\) as well, after which the program goes on.
 *
 * The watchdog runs on the timer thread (no thread of its own): it looks
 * every 50 ms, and needs two looks in a row that see the same sleepers.
 * The first go() starts it, as Go's runtime starts its sysmon thread, and
 * installs the SIGQUIT handler: a deadlock needs goroutines. So a program
 * that never calls go() gets no watchdog and no SIGQUIT dump: a main
 * thread alone waiting for ever on a channel just waits. Making a channel
 * or any other object starts nothing.
 */
#ifndef COMMON_RUNTIME_H
#define COMMON_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Turns deadlock detection on or off (on by default, unless the
 * environment says GOC_DEADLOCK=0). */
void runtime_deadlock_detection(bool enabled);

/* Writes the goroutine dump (every known thread) to out; returns the number
 * of lines. */
size_t runtime_dump(FILE *out);

/* Starts the watchdog if it is not running (go_named calls this before it
 * starts a goroutine; calling it again does nothing). Also installs the
 * SIGQUIT dump handler if SIGQUIT still has its default action. */
void runtime_watchdog_start(void);

#endif
