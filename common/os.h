/*
 * os.h - the one place in the core that knows which system it runs on.
 *
 * Everything else in common/ is ISO C11 plus POSIX threads and calls these
 * functions for what POSIX leaves out or spells differently per system:
 * thread ids and names, the process's thread count, the program's name,
 * monotonic sleeps and timed waits, and sleeping on a word until woken.
 *
 * Three paths, chosen at compile time in os.c:
 *   - Linux (glibc or musl): gettid, pthread_setname_np, clock_nanosleep,
 *     /proc/self/task, and the futex system call.
 *   - macOS: pthread_threadid_np, pthread_main_np, getprogname, Mach's
 *     task_threads, pthread_cond_timedwait_relative_np (macOS has no
 *     pthread_condattr_setclock). Written for macOS, not tested on it.
 *   - Portable (every other system, and Linux built with -DGOC_OS_PORTABLE,
 *     which is how `make check-portable` tests this path): plain POSIX.
 *     Futexes are emulated by a hashed table of waiter lists, each waiter
 *     sleeping on its own condition variable, so a wake on one word wakes
 *     only that word's waiters.
 *
 * Nothing here fails loudly: a platform call that fails (naming a thread,
 * counting threads) degrades to "unknown" and the caller copes.
 */
#ifndef COMMON_OS_H
#define COMMON_OS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "linux", "macos" or "portable": which path os.c was compiled with. */
const char *os_flavour(void);

/* ------------------------------------------------------------ clock */

/* The monotonic clock (CLOCK_MONOTONIC), in nanoseconds. */
int64_t os_monotonic_ns(void);

/* The same clock as of the last timer tick (CLOCK_MONOTONIC_COARSE where
 * there is one, otherwise os_monotonic_ns): never ahead of os_monotonic_ns,
 * up to a few milliseconds behind, and several times cheaper to read (no
 * hardware clock read; on a VM that is tens of nanoseconds). For stamps
 * that are printed in tenths of a second, taken on every park. */
int64_t os_monotonic_coarse_ns(void);

/* Sleeps until os_monotonic_ns() >= deadline_ns. A signal does not cut the
 * sleep short, and does not stretch it either (the deadline is absolute). */
void os_sleep_until(int64_t deadline_ns);

/* Initialises cond so that os_cond_wait_until measures deadlines on the
 * monotonic clock (setting the wall clock must not hurry or delay a wait).
 * 0 or the error of pthread_cond_init. */
int os_cond_init_monotonic(pthread_cond_t *cond);

/* pthread_cond_timedwait on a cond made by os_cond_init_monotonic, with a
 * deadline on os_monotonic_ns()'s clock. 0 (signalled, or spuriously) or
 * ETIMEDOUT. mutex must be held, as for pthread_cond_wait. */
int os_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ns);

/* ---------------------------------------------------------- threads */

/* The calling thread's id: the kernel's thread id on Linux (what top and
 * gdb show), elsewhere a number that is stable for the thread's life and
 * distinct from every other live thread's. Never 0. */
uint64_t os_thread_id(void);

/* True on the process's initial thread (the one that ran main). */
bool os_is_main_thread(void);

/* Names the calling thread for debuggers and `ps`/`top` where the system
 * allows it; truncated to 15 bytes. Best effort: a failure is ignored. */
void os_thread_set_name(const char *name);

/* The calling thread's name as the system knows it (named by
 * os_thread_set_name or by anyone else the system lets name it), into
 * buf. False, with buf empty, if it has none or cannot tell. */
bool os_thread_get_name(char *buf, size_t size);

/* Threads in this process right now, or -1 if the platform cannot tell. */
long os_thread_count(void);

/* For tests: while on, os_thread_count() returns -1 as on a platform that
 * cannot count threads, so the callers' fallbacks can be exercised here. */
void os_pretend_thread_count_unknown(bool on);

/* The core's own threads (the timer thread, the M:N workers) are started
 * with os_core_thread_create, which is pthread_create plus a count of them
 * kept here; os_core_thread_joined takes one off after its pthread_join.
 * Returns pthread_create's result. */
int  os_core_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                           void *arg);
void os_core_thread_joined(void);

/* os_thread_count() less the core's own threads, read as one consistent
 * census: a core thread that already exists but whose start has not yet
 * returned is never counted as foreign (the reading is retried). The
 * count of threads the program or a library started; -1 if unknown. */
long os_foreign_thread_count(void);

/* CPUs this process may run on (its affinity mask on Linux), at least 1. */
int os_cpu_count(void);

/* --------------------------------------------------------- process */

/* The program's name: the basename of argv[0], or "program" where the
 * system does not say. Never NULL; valid for the life of the process. */
const char *os_program_name(void);

/* Installs handler for signo with SA_RESTART (interrupted system calls are
 * restarted), but only if the signal still has its default disposition: a
 * program's own handler is never replaced. True if installed. */
bool os_catch_signal(int signo, void (*handler)(int signo));

/* Makes [addr, addr + len) (whole pages of an anonymous read-write
 * mapping) fault on any access: a stack's guard. On Linux 6.13 and later a
 * guard region inside the mapping (MADV_GUARD_INSTALL), which costs no
 * mapping of its own, so 100,000 guarded stacks fit under the kernel's
 * limit on mappings; elsewhere mprotect(PROT_NONE). False if neither
 * worked. */
bool os_guard_pages(void *addr, size_t len);

/* True if os_guard_pages guards inside a mapping (so a guarded stack costs
 * one kernel mapping, not two). */
bool os_guard_pages_are_free(void);

/* ----------------------------------------------- sleeping on a word */

/* Sleeps while *word == expected, until os_futex_wake on the same word.
 * Returns at once if *word != expected. Spurious returns are allowed:
 * callers re-check their condition in a loop. A wake that follows a change
 * of *word is never lost: either the waiter sees the new value, or it is
 * already queued when the wake comes. */
void os_futex_wait(atomic_int *word, int expected);

/* Same, but gives up at deadline_ns (os_monotonic_ns clock). False if it
 * returned because the deadline passed; true otherwise (woken, *word was
 * not expected, or spuriously). */
bool os_futex_wait_until(atomic_int *word, int expected, int64_t deadline_ns);

/* Wakes up to count threads sleeping on word (INT_MAX: all of them);
 * threads sleeping on other words are not disturbed. */
void os_futex_wake(atomic_int *word, int count);

#endif
