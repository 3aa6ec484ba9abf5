/*
 * wl_go.c - the workloads of goroutines themselves: spawn (start one that
 * finishes at once) and goroutines_100k (start many that all park at once).
 *
 * spawn is Go's `wg.Add(1); go func() { wg.Done() }()`, N times, then
 * `wg.Wait()`: nothing else, so the time is the runtime's own cost of a
 * goroutine's life. goroutines_100k keeps all N alive, parked on one
 * unbuffered channel, and reports the resident memory they added
 * (/proc/self/statm, before and after, all parked), divided by N, as the
 * extra field kib_per_goroutine=. Resident memory is what a goroutine
 * really costs: the pages of its stack it touched and its bookkeeping, not
 * the address space it reserved.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/go.h"
#include "common/timer.h"

/* --------------------------------------------------------------- spawn */

static void spawned(void *arg)
{
    waitgroup_done(arg);
}

int wl_spawn(int64_t n, int64_t *elapsed_ns)
{
    waitgroup_t wg;
    waitgroup_init(&wg);
    int64_t t0 = time_now();
    int64_t started = 0;
    int     rc = 0;
    for (; started < n; started++) {
        waitgroup_add(&wg, 1);
        rc = go_named("spawned", spawned, &wg);
        if (rc != 0) {
            waitgroup_done(&wg);
            break;
        }
    }
    waitgroup_wait(&wg);
    *elapsed_ns = time_now() - t0;
    waitgroup_destroy(&wg);
    if (rc != 0)
        return bench_fail("spawn", rc, "goroutine %lld of %lld could not start",
                          (long long)started + 1, (long long)n);
    return 0;
}

/* ----------------------------------------------------- goroutines_100k */

/* Resident memory of this process in KiB (/proc/self/statm), -1 if unknown. */
static long resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long  pages = 0, resident = -1;
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

typedef struct {
    chan_t     *gate; /* unbuffered, never sent on: closed to release all */
    waitgroup_t parked, done;
    int64_t     released; /* how many saw the close (atomic) */
} herd_t;

static void park_on_gate(void *arg)
{
    herd_t *h = arg;
    waitgroup_done(&h->parked);
    if (chan_recv(h->gate, NULL) == EPIPE)
        __atomic_fetch_add(&h->released, 1, __ATOMIC_RELAXED);
    waitgroup_done(&h->done);
}

/* With one thread per goroutine, more than this many at once is refused:
 * the kernel stops near 32,000 threads, and on the way there a shared
 * machine's load average passed 1,000. */
enum { THREADS_AT_MOST = 10000 };

int wl_goroutines_100k(int64_t n, int64_t *elapsed_ns)
{
    if (n > THREADS_AT_MOST && strcmp(go_runtime(), "threads") == 0)
        return bench_fail("goroutines_100k", EINVAL,
                          "%lld threads at once under GOC_RUNTIME=threads; at most %d (--n)",
                          (long long)n, THREADS_AT_MOST);
    herd_t h = {.gate = chan_make(0, 0), .released = 0};
    if (h.gate == NULL)
        return bench_fail("goroutines_100k", ENOMEM, "cannot make the channel");
    waitgroup_init(&h.parked);
    waitgroup_init(&h.done);
    long rss_before = resident_kib();

    int64_t t0 = time_now();
    int64_t started = 0;
    int     rc = 0;
    for (; started < n; started++) {
        waitgroup_add(&h.parked, 1);
        waitgroup_add(&h.done, 1);
        rc = go_named("parked", park_on_gate, &h);
        if (rc != 0) {
            waitgroup_done(&h.parked);
            waitgroup_done(&h.done);
            break;
        }
    }
    waitgroup_wait(&h.parked);
    int64_t t_parked = time_now();
    long    rss_parked = resident_kib(); /* not timed: it reads /proc */
    int64_t t_release = time_now();
    chan_close(h.gate);
    waitgroup_wait(&h.done);
    *elapsed_ns = (t_parked - t0) + (time_now() - t_release);

    waitgroup_destroy(&h.parked);
    waitgroup_destroy(&h.done);
    chan_release(h.gate);
    if (rc != 0)
        return bench_fail("goroutines_100k", rc, "goroutine %lld of %lld could not start",
                          (long long)started + 1, (long long)n);
    if (h.released != n)
        return bench_fail("goroutines_100k", EPROTO, "%lld of %lld saw the close",
                          (long long)h.released, (long long)n);
    if (rss_before >= 0 && rss_parked >= 0)
        bench_extra("kib_per_goroutine=%.2f", (double)(rss_parked - rss_before) / (double)n);
    return 0;
}
