/*
 * support.h - what every test in tests/ uses to prove a clean shutdown and
 * to run a lesson's program end to end.
 *
 *     Test(chan, unbuffered_rendezvous, .timeout = 10) {
 *         support_begin();
 *         ... start goroutines, check results, shut them down ...
 *         support_end();   // fails the test, naming what is still running
 *     }
 *
 * support_end() belongs at the end of the test body, not in .fini (Criterion
 * ignores assertions there).
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/leak.h"

/* Takes the baseline: goroutines, live allocations, pending timers and OS
 * threads (the core's own timer thread excluded). */
void support_begin(void);

/* Polls (about 0.5 s at most, with backoff) until every count is back to the
 * baseline; fails the test with a report naming the goroutines still running
 * otherwise. */
void support_end(void);

/* Waits until the thread whose id (gettid()) the goroutine stored in *tid
 * is asleep inside the core: /proc/self/task/TID/syscall shows, three polls
 * in a row, the same system call that a thread asleep in os_futex_wait shows
 * (the futex call; learned once per process from a probe thread, so it also
 * holds under qemu-user, where /proc shows the host's numbers). Polls every
 * 0.2 ms, 10 s at most, and fails the test otherwise. Sleeping "long enough"
 * would prove nothing; this is how a test knows that a send, receive or
 * select really blocked. */
void support_wait_blocked(atomic_int *tid);

/* The same for a goroutine under either runtime, by its record (go_self(),
 * published by the goroutine itself; it must not return meanwhile): waits
 * until it is asleep in a core wait, on a parker nobody has woken, three
 * looks in a row without waking in between. A thread id cannot say that
 * under M:N, where a goroutine that wakes may resume on another worker
 * and the thread it started on may be asleep with nothing to do. */
struct goroutine;
void support_wait_asleep(struct goroutine *g);

/* The same for a goroutine that publishes its record (go_self()) in
 * *record as it starts: first waits (10 s at most) for it to appear. */
void support_wait_asleep_at(_Atomic(struct goroutine *) *record);

/* True when the test runs under valgrind (30-50x slower, and a limit of
 * 500 threads): tests scale their sizes and wall-clock bounds by it. */
bool support_under_valgrind(void);

/* Runs fn(arg) on a new detached POSIX thread: for tests of things that
 * block threads, not goroutines (the OS layer, a mutex-and-condvar
 * channel), where under the M:N runtime a goroutine would hold its
 * worker. 0 or pthread_create's error (ENOMEM if out of memory). */
int support_start_thread(void (*fn)(void *arg), void *arg);

/* The result of running a program to completion. */
typedef struct {
    int   exit_code; /* exit status, or 128 + signal number if killed */
    char *out;       /* everything written to stdout, NUL-terminated */
    char *err;       /* everything written to stderr, NUL-terminated */
} run_result_t;

/* Runs the program `name` from the build folder of this configuration (for
 * example "01-worker-pool" runs build/01-worker-pool, or build/asan/... in
 * the ASan build) with argv (NULL-terminated, argv[0] excluded) and waits for
 * it; behind the words of $GOC_RUN_WRAPPER if set (an emulator). Fails the test if it cannot be
 * started. Free with run_result_free. */
run_result_t run_program(const char *name, const char *const argv[]);
void         run_result_free(run_result_t *r);

/* The last line every lesson program prints after a clean shutdown. */
#define CLEAN_SHUTDOWN_LINE "Clean shutdown: every goroutine returned, every allocation freed.\n"

/* True if text ends with tail. */
bool support_ends_with(const char *text, const char *tail);

/* Fails the test unless r is a clean run of a lesson program: exit status 0,
 * nothing on stderr, and CLEAN_SHUTDOWN_LINE as the last line of stdout. */
void support_assert_clean_run(const run_result_t *r);

/* Creates an empty file of its own under /tmp and writes its path to path
 * (size >= 32 bytes). Fails the test if it cannot. The caller unlinks it. */
void support_temp_file(char *path, size_t size);

/* Number of lines of text that contain needle. */
size_t count_lines_containing(const char *text, const char *needle);

/* Counted allocations (alloc_live) a live goroutine holds for its own
 * record: 1 under the thread runtime (go() allocates it), 0 under M:N,
 * where the scheduler's pool owns records and their stacks (gpool.h). */
int64_t support_record_allocs(void);

/* Polls (every millisecond, about 2 s at most) until go_count() is at most
 * goroutines and alloc_live() at most live. A goroutine leaves the count a
 * moment before its bookkeeping is freed, so a test that has seen a
 * goroutine finish waits here before it counts. Asserts nothing: the
 * caller checks what it needs. */
void support_settle(size_t goroutines, int64_t live);

/* support_settle, then fails the test unless go_count() == goroutines and
 * alloc_live() == live (a failed start left something running, or leaked). */
void support_wait_quiet(size_t goroutines, int64_t live);

#endif
