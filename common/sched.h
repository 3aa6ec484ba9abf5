/*
 * sched.h - the M:N scheduler: goroutines as coroutines on a few worker
 * threads (internal; go.c and park.c are its callers).
 *
 * The names are Go's (runtime/proc.go):
 *   G  a goroutine: a coroutine with its own stack (goroutine_t);
 *   M  a worker thread ("machine"); it runs Gs, one at a time;
 *   P  a processor: the right to run Gs, and a local run queue. There are
 *      GOC_MAXPROCS of them (default: the CPUs), so at most that many Gs
 *      run at once; an M needs a P to run a G.
 * A G that blocks (a channel, a timer, a WaitGroup) is switched out and its
 * M picks the next runnable G: no thread sleeps for a goroutine. A G that
 * must block in the kernel says so (sched_blocking_begin): its M hands its
 * P to another M for the duration.
 *
 * Threads the scheduler did not start (main, a test runner, a library's
 * thread) are not Gs: they block as OS threads, and hand-offs between them
 * and goroutines work as before (park.c decides which kind of wait).
 *
 * Layer: above goroutine, coro, stack, lock, os and alloc; below park,
 * which it does not know: a G parks through sched_park's commit function,
 * Go's gopark shape. Callers: go.c, park.c, timer.c, trace.c, runtime.c,
 * leak.c.
 */
#ifndef COMMON_SCHED_H
#define COMMON_SCHED_H

#include <stdbool.h>
#include <stddef.h>

struct goroutine;

/* True if this process runs the M:N runtime: the default, unless
 * GOC_RUNTIME=threads at the first call (read once) selects one POSIX
 * thread per goroutine. */
bool sched_enabled(void);

/* A dead record with a stack, for go_registry_add to fill in and go.c to pass to
 * sched_spawn: most often a finished goroutine's, from the calling
 * worker's own pool (gpool.h). NULL with errno ENOMEM if none could be
 * had. A record that is not spawned goes back through sched_drop. */
struct goroutine *sched_new_g(void);
void              sched_drop(struct goroutine *g);

/* Makes g (from sched_new_g; fn, arg, name and registry entry already set
 * by go.c) a runnable goroutine: gives it a context that will run body(g)
 * on its stack, and queues it. On success the scheduler owns g: after body
 * returns, g and its stack go back to the pool. Returns 0, ENOMEM (no
 * context) or EAGAIN (no worker thread could be started); on failure the
 * caller still owns g. */
int sched_spawn(struct goroutine *g, void (*body)(struct goroutine *g));

/* The goroutine running on the calling thread, or NULL on a thread the
 * scheduler did not start (so always NULL under the thread runtime, which
 * starts no worker: callers need not ask sched_enabled() first). */
struct goroutine *sched_current(void);

/* Parks the calling goroutine: it switches to its worker's scheduling
 * loop, which then, off the goroutine's stack, calls commit(arg). If
 * commit returns true the goroutine stays parked until sched_ready(g);
 * false means its wake-up came first, and it runs again at once. Either
 * way sched_park returns true once the goroutine runs again. Returns false
 * at once, doing nothing, if the caller is not a goroutine that may park
 * (a plain thread, or a goroutine inside sched_blocking_begin): it must
 * then wait as a thread.
 * This is Go's gopark(unlockf, lock): whatever lets a waker find the
 * goroutine (there the channel's unlock, here park.c's EMPTY -> PARKED_G)
 * must happen only once it is off its stack, or a waker on another worker
 * could resume it while it is still switching out: two workers on one
 * stack. So the scheduler does it, from the loop, for the caller. */
bool sched_park(bool (*commit)(void *arg), void *arg);

/* Makes a parked goroutine runnable (park.c, when it unparks one whose
 * commit returned true). */
void sched_ready(struct goroutine *g);

/* runtime.Gosched: the calling goroutine goes to the back of the global
 * queue and its worker runs others. No-op on a thread. */
void sched_gosched(void);

/* entersyscall/exitsyscall: around a call that may block in the kernel.
 * begin hands the worker's P to another thread; end takes a P back (or, if
 * none is free, queues the goroutine and lets its thread go idle). Nested
 * pairs count; no-ops on a thread. */
void sched_blocking_begin(void);
void sched_blocking_end(void);

/* The number of the worker thread running the calling goroutine (0, 1, ...
 * in the order the workers started), or -1 on a thread the scheduler did
 * not start. A goroutine keeps its worker between two waits (nothing is
 * preempted); after a wait it may resume on another. The trace records it
 * to draw which worker ran what. */
int sched_worker_id(void);

/* The calling goroutine if it may park (switch out and let its worker run
 * others); NULL on a thread the scheduler did not start, and inside
 * sched_blocking_begin/end, where it has no P to give back: callers then
 * wait as a thread. */
struct goroutine *sched_may_park(void);

/* Worker threads started so far (the core's own threads, which leak checks
 * and the deadlock watchdog leave out of the process's thread count). */
int sched_threads(void);

/* Number of Ps (GOC_MAXPROCS, or the CPU count). */
int sched_procs(void);

/* True if no goroutine is runnable or running (all parked, blocked as
 * threads, or none at all), and none is inside a blocking call: what the
 * deadlock watchdog asks, with its own double check around it. */
bool sched_all_parked(void);

/* Fault injection for tests: after n more worker threads start, starting
 * one fails as if pthread_create had (EAGAIN from go() when no worker can
 * run it), until sched_thread_fail_reset(). */
void sched_thread_fail_after(int n);
void sched_thread_fail_reset(void);

#endif
