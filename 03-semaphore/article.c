/*
 * article.c - lesson 03: the mistake the semaphore pattern invites, kept on
 * purpose for --leak: an early return that skips the release. In Go it is a
 * missing `defer sem.Release(1)`; in C every error path must give the slot
 * back by hand (compare with limiter_run in limiter.c).
 *
 * Here every even-numbered task "fails" after its work and returns holding
 * its slot. Each such task takes a slot away for good; once `limit` of them
 * have, the tasks still queued wait for ever. Main does not (that would
 * hide the lesson in a hang): it gives up once no task has returned for a
 * while, and the leak check at exit names the tasks left waiting. Nothing
 * here is freed: the tasks left waiting still use all of it.
 */
#include "03-semaphore/article.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "03-semaphore/limiter.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/timer.h"
#include "common/trace.h"

typedef struct {
    limiter_t *limiter;
    chan_t    *returned; /* task numbers, cap tasks: never blocks */
    duration_t work;
} leaky_run_t;

typedef struct {
    leaky_run_t *run;
    int          number;
} leaky_task_t;

static void leaky_task_main(void *arg)
{
    leaky_task_t *task = arg;
    leaky_run_t  *run = task->run;
    trace_wait("wait for 1 slot");
    limiter_acquire(run->limiter, NULL, 1); /* no context: it waits as long as it takes */
    trace_end();
    printf("Task %d: start (%" PRId64 "/%" PRId64 " slots in use)\n", task->number,
           limiter_held(run->limiter), limiter_limit(run->limiter));
    trace_begin("hold 1 slot");
    time_sleep(run->work);
    trace_end();
    if (task->number % 2 == 0) {
        printf("Task %d: failed; returns WITHOUT releasing its slot\n", task->number);
        chan_send(run->returned, &task->number);
        return; /* THE BUG: limiter_release(run->limiter, 1) is skipped */
    }
    printf("Task %d: finish, slot released\n", task->number);
    limiter_release(run->limiter, 1);
    chan_send(run->returned, &task->number);
}

int article_forgotten_release(int64_t tasks, int64_t limit, int64_t work_ms, bool use_channel)
{
    duration_t patience = 2 * work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    printf("--leak: %" PRId64 " tasks, %" PRId64
           " slots; every even-numbered task fails and returns\n"
           "without releasing its slot. Main gives up after %lld ms with no task returning.\n",
           tasks, limit, (long long)(patience / TIME_MILLISECOND));
    leaky_run_t  *run = goc_malloc(sizeof *run);
    leaky_task_t *crew = goc_calloc((size_t)tasks, sizeof *crew);
    if (run == NULL || crew == NULL)
        return ENOMEM;
    run->limiter = limiter_new(use_channel ? LIMITER_CHAN : LIMITER_SEMA, limit);
    run->returned = chan_make(sizeof(int), (size_t)tasks);
    run->work = work_ms * TIME_MILLISECOND;
    if (run->limiter == NULL || run->returned == NULL)
        return ENOMEM;
    for (int i = 0; i < tasks; i++) {
        crew[i] = (leaky_task_t){run, i + 1};
        char name[32];
        snprintf(name, sizeof name, "task %d", i + 1);
        go_named(name, leaky_task_main, &crew[i]);
    }
    int returned = 0;
    for (; returned < tasks; returned++) {
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_recv(run->returned, NULL), chan_case_recv(timer, NULL)};
        trace_wait("wait for the tasks");
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0)
            break;
    }
    printf("Main: %d of %" PRId64 " tasks returned; %" PRId64 "/%" PRId64
           " slots are held by tasks that are gone.\n"
           "Main: nothing for %lld ms, giving up on the rest.\n",
           returned, tasks, limiter_held(run->limiter), limit,
           (long long)(patience / TIME_MILLISECOND));
    return 0;
}
