/*
 * bench.h - the benchmark's workloads and the few helpers they share.
 *
 * Every workload is a function that runs n operations of one shape (see
 * /work/shared/BENCH.md and bench/README.md) and reports the wall-clock time
 * from the first operation to the last. The rules every workload keeps:
 *
 *   - threads are goroutines (go_named), so go_count() is back to where it
 *     was when the workload returns, and everything allocated is freed;
 *   - no thread starts working before all of them exist: each checks in on
 *     a wait group and then blocks on a start channel that the timing thread
 *     closes (a closed channel releases every receiver at once), so thread
 *     creation is never part of the time;
 *   - results are checked (every item counted once, sums add up), so a fast
 *     but wrong core cannot produce a good-looking number.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/sync.h"

/* A workload: runs n operations, stores the nanoseconds between the first
 * and the last in *elapsed_ns. Returns 0, or a positive errno value after
 * printing what went wrong to stderr (ENOMEM, or EPROTO for wrong results). */
typedef int (*bench_fn_t)(int64_t n, int64_t *elapsed_ns);

typedef struct {
    const char *name;      /* as printed: workload=<name> */
    int64_t     default_n; /* the N of BENCH.md (or of issue 8 for the extras) */
    bench_fn_t  run;
    const char *op; /* what one operation is, for --help */
} bench_workload_t;

/* The table of workloads, in the order `./build/bench` runs them, ended by
 * an entry with a NULL name. */
extern const bench_workload_t bench_workloads[];

/* Prints the memory report: one `memory=<what> bytes=<N>` line per object,
 * the average live bytes (alloc_live_bytes) of `count` such objects.
 * Returns 0 or a positive errno value. */
int bench_memory_report(int64_t count);

/* The crew: the threads of one workload and the start line they share.
 *
 *     bench_crew_t crew;
 *     crew_init(&crew);                       // may fail: ENOMEM
 *     crew_go(&crew, "producer", fn, arg);    // fn calls crew_wait_start()
 *     int64_t t0 = crew_start(&crew);         // all checked in: go
 *     ... (main may take part) ...
 *     int64_t t1 = crew_join(&crew);          // every fn has returned
 *     crew_destroy(&crew);
 *
 * If crew_go fails, call crew_abort instead of crew_start: every thread
 * started so far is released with crew_wait_start() returning false, and
 * must then return without doing anything. */
typedef struct {
    chan_t     *start;   /* signal channel, closed to release the crew */
    waitgroup_t ready;   /* one count per thread until it reaches the start */
    waitgroup_t running; /* one count per thread until its fn returns */
    atomic_bool aborted; /* set before start is closed when setup failed */
} bench_crew_t;

/* Initialises crew. Returns 0 or ENOMEM. */
int crew_init(bench_crew_t *crew);

/* Starts fn(arg) as a goroutine named name, counted in the crew. Returns 0
 * or the error of go_named (nothing started then). */
int crew_go(bench_crew_t *crew, const char *name, void (*fn)(void *arg), void *arg);

/* In a crew thread: checks in and waits for the start. True: go ahead.
 * False: the workload was aborted, return at once. */
bool crew_wait_start(bench_crew_t *crew);

/* In a crew thread: its last call, when its part is done. */
void crew_leave(bench_crew_t *crew);

/* Waits until every thread has checked in, then releases them all and
 * returns time_now() taken just before the release. */
int64_t crew_start(bench_crew_t *crew);

/* Releases every thread started so far with crew_wait_start() false and
 * waits for them to return. */
void crew_abort(bench_crew_t *crew);

/* Waits until every crew thread has returned; returns time_now() then. */
int64_t crew_join(bench_crew_t *crew);

/* Frees what crew_init made. Only after crew_join or crew_abort. */
void crew_destroy(bench_crew_t *crew);

/* Prints "bench: <workload>: <message>" to stderr and returns err, so a
 * workload can `return bench_fail("pool", EPROTO, "sum is %lld", s);`. */
int bench_fail(const char *workload, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A cheap "I am spinning" hint to the CPU (x86 pause, arm yield). */
static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* The workloads (bench/wl_*.c). */
int wl_buf_spsc(int64_t n, int64_t *elapsed_ns);
int wl_buf_mpmc(int64_t n, int64_t *elapsed_ns);
int wl_unbuf_pingpong(int64_t n, int64_t *elapsed_ns);
int wl_select2(int64_t n, int64_t *elapsed_ns);
int wl_pool(int64_t n, int64_t *elapsed_ns);
int wl_pool16(int64_t n, int64_t *elapsed_ns);
int wl_pipeline(int64_t n, int64_t *elapsed_ns);
int wl_ctx_cancel(int64_t n, int64_t *elapsed_ns);
int wl_sema_uncontended(int64_t n, int64_t *elapsed_ns);
int wl_sema_contended(int64_t n, int64_t *elapsed_ns);
int wl_timers(int64_t n, int64_t *elapsed_ns);
int wl_ref_spsc_ring(int64_t n, int64_t *elapsed_ns);
int wl_ref_cacheline(int64_t n, int64_t *elapsed_ns);
int wl_textbook_spsc(int64_t n, int64_t *elapsed_ns);
int wl_textbook_pingpong(int64_t n, int64_t *elapsed_ns);

#endif
