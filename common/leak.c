/*
 * leak.c - snapshots of what is live, and a patient comparison.
 *
 * Protocol: a snapshot counts goroutines (go_count), live allocations,
 * pending user timers and OS threads, less the core's own threads (the
 * timer thread and the scheduler's workers, which come and stay on first
 * use and are no leak; os_foreign_thread_count reads both counts as one).
 * A check is clean when no count is above its baseline; a goroutine that
 * has returned may still be on its way out, so it polls with backoff
 * before it concludes. No state of its own.
 *
 * Layer: the top of the core (above go, alloc, timer and os); the lesson harness
 * and the tests call it, nothing in the core does.
 */
#include "common/leak.h"

#include <errno.h>
#include <inttypes.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/os.h"
#include "common/timer.h"

long leak_thread_count(void)
{
    return os_thread_count();
}

leak_snapshot_t leak_snapshot(void)
{
    leak_snapshot_t s;
    s.goroutines = go_count();
    s.allocations = alloc_live();
    s.timers = time_pending_timers();
    s.threads = os_foreign_thread_count();
    return s;
}

static int is_clean(const leak_snapshot_t *now, const leak_snapshot_t *base, int check_threads)
{
    return now->goroutines <= base->goroutines && now->allocations <= base->allocations &&
           now->timers <= base->timers &&
           (!check_threads || base->threads < 0 || now->threads <= base->threads);
}

int leak_check(const leak_snapshot_t *base, int check_threads, FILE *report)
{
    leak_snapshot_t now = leak_snapshot();
    /* 1 us doubling to 100 ms: about 0.5 s in all, as goleak waits. */
    for (duration_t pause = TIME_MICROSECOND, waited = 0;
         !is_clean(&now, base, check_threads) &&
                 waited<500 * TIME_MILLISECOND; waited += pause, pause = pause * 2> 100 *
                     TIME_MILLISECOND
             ? 100 * TIME_MILLISECOND
             : pause * 2) {
        time_sleep(pause);
        now = leak_snapshot();
    }
    if (is_clean(&now, base, check_threads))
        return 0;
    if (report) {
        fprintf(report, "leak check failed:\n");
        fprintf(report, "  goroutines still running: %zu (baseline %zu)\n", now.goroutines,
                base->goroutines);
        go_dump(report);
        fprintf(report, "  allocations not freed: %" PRId64 " (baseline %" PRId64 ")\n",
                now.allocations, base->allocations);
        fprintf(report, "  timers still pending: %zu (baseline %zu)\n", now.timers, base->timers);
        if (check_threads)
            fprintf(report, "  OS threads: %ld (baseline %ld)\n", now.threads, base->threads);
    }
    return EBUSY;
}
