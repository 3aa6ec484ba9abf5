/*
 * crew.c - the start line the threads of a workload share (see bench.h).
 *
 * Invariants: `ready` counts threads started but not yet at the start line;
 * `running` counts threads whose function has not returned. Both are raised
 * before go_named and lowered again if it fails, so a crew never waits for a
 * thread that does not exist. `aborted` is written before `start` is closed
 * and read after the close is seen, so the channel orders the two.
 */
#include "bench/bench.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/go.h"
#include "common/timer.h"

int crew_init(bench_crew_t *crew)
{
    crew->start = chan_make(0, 0);
    if (crew->start == NULL)
        return ENOMEM;
    waitgroup_init(&crew->ready);
    waitgroup_init(&crew->running);
    atomic_init(&crew->aborted, false);
    return 0;
}

int crew_go(bench_crew_t *crew, const char *name, void (*fn)(void *arg), void *arg)
{
    waitgroup_add(&crew->ready, 1);
    waitgroup_add(&crew->running, 1);
    int rc = go_named(name, fn, arg);
    if (rc != 0) {
        waitgroup_done(&crew->ready);
        waitgroup_done(&crew->running);
    }
    return rc;
}

bool crew_wait_start(bench_crew_t *crew)
{
    waitgroup_done(&crew->ready);
    /* A receive on a closed signal channel returns at once, in every thread. */
    chan_recv(crew->start, NULL);
    return !atomic_load(&crew->aborted);
}

void crew_leave(bench_crew_t *crew)
{
    waitgroup_done(&crew->running);
}

int64_t crew_start(bench_crew_t *crew)
{
    waitgroup_wait(&crew->ready);
    /* Taken before the release, so waking the crew counts against us: the
     * measured time can only be too long, never too short. */
    int64_t t0 = time_now();
    chan_close(crew->start);
    return t0;
}

void crew_abort(bench_crew_t *crew)
{
    atomic_store(&crew->aborted, true);
    chan_close(crew->start);
    waitgroup_wait(&crew->running);
}

int64_t crew_join(bench_crew_t *crew)
{
    waitgroup_wait(&crew->running);
    return time_now();
}

void crew_destroy(bench_crew_t *crew)
{
    chan_release(crew->start);
    waitgroup_destroy(&crew->ready);
    waitgroup_destroy(&crew->running);
}

bool start_line_cross(start_line_t *line)
{
    atomic_fetch_add(&line->arrived, 1);
    for (unsigned spins = 0; atomic_load(&line->arrived) < 2;)
        if (++spins % 128 == 0)
            sched_yield(); /* a thread of our own: yield the core, not a worker */
        else
            bench_cpu_relax();
    return !atomic_load(&line->aborted);
}

int run_pair(void *(*first)(void *), void *(*second)(void *), void *arg, start_line_t *line,
             int64_t *elapsed_ns)
{
    pthread_t threads[2];
    int64_t   t0 = time_now();
    int       rc = pthread_create(&threads[0], NULL, first, arg);
    if (rc != 0)
        return rc;
    rc = pthread_create(&threads[1], NULL, second, arg);
    if (rc != 0) { /* the first one waits for a partner that will not come */
        atomic_store(&line->aborted, true);
        atomic_fetch_add(&line->arrived, 1);
    }
    go_blocking_begin(); /* pthread_join blocks in the kernel */
    pthread_join(threads[0], NULL);
    if (rc == 0)
        pthread_join(threads[1], NULL);
    go_blocking_end();
    *elapsed_ns = time_now() - t0;
    return rc;
}

int bench_fail(const char *workload, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: %s: ", workload);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return err;
}

/* Written by the workload, read by main after the workload has returned
 * (the wait for it orders the two). */
static char extra[128];
static char taken[128];

void bench_extra(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof extra, fmt, ap);
    va_end(ap);
}

const char *bench_take_extra(void)
{
    snprintf(taken, sizeof taken, "%s", extra);
    extra[0] = '\0';
    return taken;
}
