/*
 * go.h - goroutines: the `go` statement, and a count of those still running.
 *
 * Two runtimes stand behind this one API, chosen once per process by the
 * environment variable GOC_RUNTIME:
 *   - mn (the default): as in Go, goroutines are coroutines on their own
 *     small stacks (GOC_STACK_KB, default 64), multiplexed on GOC_MAXPROCS
 *     worker threads (default: the CPUs). Starting one costs a stack from a
 *     cache and a queue push; a hand-off between two goroutines is a
 *     register switch on one worker, no system call. See sched.h.
 *   - threads: each goroutine is a detached POSIX thread. Simpler, and the
 *     reference the M:N runtime is tested against; every hand-off wakes a
 *     thread through the kernel.
 * What both keep from Go is the shape: start a function concurrently and
 * forget it, and a count of the goroutines still running, so a program (or
 * a test) can prove that it shut down cleanly.
 */
#ifndef COMMON_GO_H
#define COMMON_GO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Runs fn(arg) as a new goroutine. Returns 0, EINVAL if fn is NULL, EAGAIN
 * if no thread could be created to run it, or ENOMEM (its bookkeeping, or
 * under M:N its stack); on failure nothing was started and fn will never
 * run. The first call (EINVAL aside) also starts the runtime's deadlock
 * watchdog and SIGQUIT dump (runtime.h), as Go's runtime starts sysmon. */
int go(void (*fn)(void *arg), void *arg);

/* Same, naming the goroutine: the name appears in leak reports, in
 * go_dump(), in traces, in a stack overflow report, and (thread runtime,
 * first 15 bytes) as the thread name in gdb, top and ps. The name is
 * copied; NULL means "goroutine". */
int go_named(const char *name, void (*fn)(void *arg), void *arg);

/* Goroutines started by go()/go_named() whose fn has not yet returned,
 * counted from the moment go() returns 0. The core's own threads (the
 * timer thread) are not counted. */
size_t go_count(void);

/* Fault injection for tests: after `n` more goroutines have started, every
 * go()/go_named() fails with EAGAIN, as if pthread_create had failed, until
 * go_fail_reset(). Process-wide and thread-safe. */
void go_fail_after(int64_t n);
void go_fail_reset(void);

/* Which runtime this process runs: "mn" (goroutines multiplexed on
 * GOC_MAXPROCS worker threads) or "threads" (one POSIX thread each), as
 * chosen by GOC_RUNTIME when the process first used the core. */
const char *go_runtime(void);

/* runtime.Gosched: lets other goroutines run. Under the M:N runtime the
 * caller goes to the back of the global run queue; with one thread per
 * goroutine it is sched_yield(). Nothing is preempted in this core (as in
 * Go before 1.14): a goroutine that loops without touching a channel, a
 * timer or go_yield keeps its worker. */
void go_yield(void);

/* Bracket a call that may block in the kernel (read on a pipe, another
 * library's lock): under the M:N runtime the goroutine's worker is handed
 * to another thread for the duration, so the other goroutines keep
 * running (Go's entersyscall/exitsyscall). Pairs nest. With one thread per
 * goroutine, and on threads the runtime did not start, they do nothing. */
void go_blocking_begin(void);
void go_blocking_end(void);

/* Writes one line per running goroutine ("goroutine 7 [worker 2]") to out.
 * Returns the number of lines written. */
size_t go_dump(FILE *out);

#endif
