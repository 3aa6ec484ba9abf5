/*
 * article.c - lesson 02: the article's fan-out/fan-in program, its bug kept
 * on purpose, for --leak and --article-bug. Compare it with main.c and
 * fan.c: the difference is the one chan_close a worker owes its output.
 *
 * The article's worker ranges over the jobs, sends each result, and returns
 * WITHOUT closing its result channel. The merger (this lesson's fan_in,
 * which is right) closes the merged channel only once every input is
 * closed, so it never does: the merger waits for ever, and so would a main
 * that ranges over the merged channel. With --leak main gives up once no
 * result has come for a while, so that the program reaches its leak check
 * instead of hanging; with --article-bug it does not, and the runtime's
 * deadlock detector ends the program (exit 2).
 *
 * As in the article, main itself fills a buffered job channel and closes
 * it before merging; the merge has no context, so nothing can stop it.
 */
#include "02-fan-in-fan-out/article.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"
#include "common/trace.h"

typedef struct {
    chan_t    *jobs, *out; /* the worker's own references */
    int        id;
    duration_t work;
} leaky_worker_t;

static void leaky_worker_main(void *arg)
{
    leaky_worker_t *w = arg;
    fan_item_t      item;
    trace_wait("wait for a job");
    while (chan_recv(w->jobs, &item) == 0) {
        trace_end();
        printf("Worker %d processing job %" PRId64 "\n", w->id, item.value);
        trace_begin("job %" PRId64, item.value);
        time_sleep(w->work);
        trace_end();
        item.value *= item.value;
        trace_wait("send result %" PRId64, item.value);
        chan_send(w->out, &item);
        trace_end();
        trace_wait("wait for a job");
    }
    trace_end();
    /* THE BUG: the article returns here; chan_close(w->out) is missing. */
    chan_release(w->out);
    chan_release(w->jobs);
    goc_free(w);
}

/* Prints one result as main.c does. */
static void print_result(const fan_item_t *item)
{
    printf("Result: %" PRId64 " (job %" PRIu64 ")\n", item->value, item->seq + 1);
}

int article_fan(int64_t workers, int64_t jobs, int64_t work_ms, bool wait_forever)
{
    duration_t patience = 2 * work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    if (wait_forever)
        printf("--article-bug: the article's workers never close their result channels,\n"
               "and main ranges over the merged channel: expect every result, then the\n"
               "runtime's deadlock report.\n");
    else
        printf("--leak: the article's workers, which never close their result channels.\n"
               "Expect every result, then no end: main gives up after %lld ms without one.\n",
               (long long)(patience / TIME_MILLISECOND));
    /* jobs := make(chan int, numJobs); send them all; close(jobs) */
    chan_t  *input = fan_chan_make((size_t)jobs);
    chan_t **outs = goc_calloc((size_t)workers, sizeof *outs);
    if (input == NULL || outs == NULL)
        return ENOMEM;
    for (int64_t i = 0; i < workers; i++) {
        leaky_worker_t *w = goc_malloc(sizeof *w);
        outs[i] = fan_chan_make(0);
        if (w == NULL || outs[i] == NULL)
            return ENOMEM;
        *w = (leaky_worker_t){chan_retain(input), chan_retain(outs[i]), (int)i + 1,
                              work_ms * TIME_MILLISECOND};
        char name[32];
        snprintf(name, sizeof name, "worker %d", w->id);
        if (go_named(name, leaky_worker_main, w) != 0)
            return EAGAIN;
    }
    for (int64_t job = 1; job <= jobs; job++)
        chan_send(input, &(fan_item_t){(uint64_t)(job - 1), job}); /* never blocks: cap jobs */
    chan_close(input);

    chan_t *merged = fan_in(NULL, outs, (size_t)workers); /* no context: nothing can stop it */
    if (merged == NULL)
        return errno;
    printf("Collecting results...\n");
    fan_item_t item;
    while (wait_forever) { /* for result := range finalResults { ... } */
        if (chan_recv(merged, &item) != 0)
            break; /* never: the merged channel never closes */
        print_result(&item);
    }
    int64_t received = 0;
    for (;;) {
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_recv(merged, &item), chan_case_recv(timer, NULL)};
        trace_wait("wait for a result");
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0 || cases[0].err != 0)
            break;
        print_result(&item);
        received++;
    }
    printf("Main: %" PRId64 " of %" PRId64 " results, but the merged channel never closed;"
           " giving up after %lld ms.\n",
           received, jobs, (long long)(patience / TIME_MILLISECOND));
    /* Main lets go of what it holds; the merger holds its own references. */
    for (int64_t i = 0; i < workers; i++)
        chan_release(outs[i]);
    goc_free(outs);
    chan_release(input);
    chan_release(merged);
    return 0;
}
