/*
 * main.c - lesson 01 as a program: a dispatcher, a fixed pool of workers,
 * and a shutdown that loses nothing.
 *
 *     ./build/01-worker-pool [--workers N] [--tasks N] [--queue N] [--work-ms MS]
 *                            [--timeline] [--trace FILE] [--html FILE] [--leak]
 *
 * The article's scenario: 3 workers, 10 tasks, a queue of 100; each task
 * "works" by sleeping (300 ms here, so a run takes about a second). A
 * producer goroutine submits the tasks and then stops the pool; the main
 * thread prints every result until the results channel closes, frees the
 * pool, and proves that nothing is left running or allocated.
 *
 * Why a producer goroutine: submit blocks while the queue is full, and the
 * queue only empties if someone reads results. Submitting everything from
 * the thread that reads results deadlocks as soon as --tasks exceeds what
 * the queue and the results buffer hold together (try --queue 1 with the
 * submit loop moved into main).
 *
 * --timeline, --trace FILE and --html FILE show the run as spans per
 * goroutine, the page with an arrow per hand-off (see
 * common/trace.h). --leak runs the article's pool instead, with its first
 * bug kept on purpose (each worker offers its channel only once), to show
 * what the exit-time leak check reports.
 *
 * Exit status: 0 when every task completed and the shutdown was clean,
 * 1 otherwise (always with --leak), 2 for bad command-line input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "01-worker-pool/worker_pool.h"
#include "common/alloc.h"
#include "common/cli.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/sync.h"
#include "common/timer.h"
#include "common/trace.h"

/* The caller's record for one task: the input the article calls Data, and
 * room for the output its Result carries. */
struct job {
    char input[32];
    char output[64];
};

struct settings {
    int64_t     workers, tasks, queue, work_ms;
    const char *trace_path;  /* --trace FILE, or NULL */
    const char *html_path;   /* --html FILE, or NULL */
    bool        timeline;    /* --timeline */
    bool        leak;        /* --leak */
    bool        article_bug; /* --article-bug: --leak, and main waits for ever */
};

static int process_task(void *env, int worker, const worker_pool_task_t *task)
{
    const struct settings *settings = env;
    struct job            *job = task->data;

    printf("Worker %d processing task %" PRId64 "\n", worker, task->id);
    time_sleep(settings->work_ms * TIME_MILLISECOND);
    snprintf(job->output, sizeof job->output, "processed %s", job->input);
    return 0;
}

struct producer {
    worker_pool_t *pool;
    struct job    *jobs;
    int64_t        tasks;
    int            err; /* the first submit error, read after `done` */
    waitgroup_t    done;
};

/* Submits tasks 1..tasks in order, then stops the pool: with no context,
 * the pool finishes everything queued before it closes the results. */
static void produce(void *arg)
{
    struct producer *p = arg;
    for (int64_t id = 1; id <= p->tasks && p->err == 0; id++) {
        struct job *job = &p->jobs[id - 1];
        snprintf(job->input, sizeof job->input, "Task-%" PRId64 "-Data", id);
        worker_pool_task_t task = {.id = id, .data = job};
        trace_wait("submit task %" PRId64, id);
        p->err = worker_pool_submit(p->pool, &task);
        trace_end();
    }
    worker_pool_stop(p->pool, NULL);
    waitgroup_done(&p->done);
}

/* Prints every result until the pool closes the channel; returns how many
 * tasks completed without error. */
static int64_t print_results(worker_pool_t *pool)
{
    int64_t              completed = 0;
    worker_pool_result_t r;
    for (;;) {
        trace_wait("wait for a result");
        int err = chan_recv(worker_pool_results(pool), &r);
        trace_end();
        if (err != 0)
            break;
        if (r.err == 0) {
            const struct job *job = r.data;
            printf("Result for task %" PRId64 ": %s (worker %d)\n", r.id, job->output, r.worker);
            completed++;
        } else {
            printf("Result for task %" PRId64 ": error: %s\n", r.id, strerror(r.err));
        }
    }
    return completed;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [OPTION]...\n"
            "Run tasks on a fixed pool of workers fed by a dispatcher, then shut down\n"
            "gracefully: every task submitted is processed and reported exactly once.\n"
            "\n"
            "  -w, --workers N   worker goroutines (1-1024, default 3)\n"
            "  -t, --tasks N     tasks to submit (1-100000, default 10)\n"
            "  -q, --queue N     task queue capacity; 0 hands each task over directly\n"
            "                    (0-100000, default 100)\n"
            "  -m, --work-ms MS  simulated work per task, in milliseconds (0-60000, default 300)\n"
            "      --timeline    at exit, draw what each goroutine did over time\n"
            "      --trace FILE  at exit, write the spans as Chrome trace JSON to FILE\n"
            "                    (open it in https://ui.perfetto.dev)\n"
            "      --html FILE   at exit, write the timeline as a web page to FILE\n"
            "                    (goroutines, an arrow per hand-off; opens offline)\n"
            "      --leak        run the article's pool, whose workers offer their channel\n"
            "                    only once, to see the leak check name what is stuck\n"
            "      --article-bug the same pool, but main waits for ever, as the article's\n"
            "                    does: the runtime reports the deadlock (exit 2)\n"
            "  -h, --help        show this help and exit\n"
            "\n"
            "Exit status: 0 all tasks completed and the shutdown was clean; 1 otherwise\n"
            "(always with --leak); 2 bad command line, or the deadlock of --article-bug.\n",
            prog);
}

/* Fills *s from argv. Returns 0 to run, -1 after printing the help, or 2
 * after printing what was wrong. */
static int parse_args(int argc, char **argv, const char *prog, struct settings *s)
{
    enum { OPT_TIMELINE = 256, OPT_TRACE, OPT_HTML, OPT_LEAK, OPT_ARTICLE_BUG };
    static const struct option options[] = {
        {"workers", required_argument, NULL, 'w'},
        {"tasks", required_argument, NULL, 't'},
        {"queue", required_argument, NULL, 'q'},
        {"work-ms", required_argument, NULL, 'm'},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"html", required_argument, NULL, OPT_HTML},
        {"leak", no_argument, NULL, OPT_LEAK},
        {"article-bug", no_argument, NULL, OPT_ARTICLE_BUG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0; /* we print our own messages, in the "<prog>: ..." format */
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:t:q:m:h", options, NULL)) != -1) {
        int err = 0;
        switch (opt) {
        case 'w':
            err = cli_parse_int(prog, "--workers", optarg, 1, 1024, &s->workers);
            break;
        case 't':
            err = cli_parse_int(prog, "--tasks", optarg, 1, 100000, &s->tasks);
            break;
        case 'q':
            err = cli_parse_int(prog, "--queue", optarg, 0, 100000, &s->queue);
            break;
        case 'm':
            err = cli_parse_int(prog, "--work-ms", optarg, 0, 60000, &s->work_ms);
            break;
        case OPT_TIMELINE:
            s->timeline = true;
            break;
        case OPT_TRACE:
            s->trace_path = optarg;
            break;
        case OPT_HTML:
            s->html_path = optarg;
            break;
        case OPT_LEAK:
            s->leak = true;
            break;
        case OPT_ARTICLE_BUG:
            s->leak = s->article_bug = true;
            break;
        case 'h':
            usage(stdout, prog);
            return -1;
        default:
            err = cli_option_error(prog, opt, argv);
        }
        if (err != 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return 2;
    }
    return 0;
}

/* Runs the scenario. Returns 0 if every task completed, else 1. */
static int run(struct settings *s, const char *prog)
{
    struct producer producer = {.tasks = s->tasks};
    producer.jobs = goc_calloc((size_t)s->tasks, sizeof producer.jobs[0]);
    producer.pool =
        producer.jobs ? worker_pool_new((int)s->workers, (size_t)s->queue, process_task, s) : NULL;
    if (producer.pool == NULL) {
        fprintf(stderr, "%s: cannot start the pool: %s\n", prog, strerror(errno));
        goc_free(producer.jobs);
        return 1;
    }

    int64_t completed = 0;
    waitgroup_init(&producer.done);
    waitgroup_add(&producer.done, 1);
    int err = go_named("producer", produce, &producer);
    if (err != 0) {
        /* Nobody will stop the pool, so do not wait for its results:
         * worker_pool_free below takes its emergency exit. */
        waitgroup_done(&producer.done);
        fprintf(stderr, "%s: cannot start the producer: %s\n", prog, strerror(err));
    } else {
        completed = print_results(producer.pool);
    }
    waitgroup_wait(&producer.done);
    waitgroup_destroy(&producer.done);
    if (producer.err != 0)
        fprintf(stderr, "%s: submit failed: %s\n", prog, strerror(producer.err));
    worker_pool_free(producer.pool);
    goc_free(producer.jobs);

    if (completed != s->tasks) {
        printf("%" PRId64 " of %" PRId64 " tasks completed.\n", completed, s->tasks);
        return 1;
    }
    printf("All tasks completed.\n");
    return 0;
}

/* ---------------------------------------------------------------- --leak */

/* The article's pool, its first bug kept on purpose: each worker offers its
 * task channel to the pool of free workers once, before its loop, and never
 * again. So each runs one task; then the dispatcher waits for a free worker
 * that will never come, and the workers wait for tasks that will never
 * come. Main does not wait for ever (that would hide the lesson in a hang):
 * it gives up once no result has come for a while, and returns without
 * shutting anything down, as the article's main would if it could. The
 * leak check at exit then names the goroutines still running. */
struct leaky_pool {
    chan_t    *queue;        /* task ids (int64_t), cap --queue */
    chan_t    *free_workers; /* chan_t *: a worker's own task channel */
    chan_t    *results;      /* task ids done, cap --tasks */
    duration_t work;
};

struct leaky_worker {
    struct leaky_pool *pool;
    int                id;
    chan_t            *tasks; /* int64_t, unbuffered */
};

static void leaky_worker_main(void *arg)
{
    struct leaky_worker *w = arg;
    int64_t              id;
    chan_send(w->pool->free_workers, &w->tasks); /* THE BUG: once, not after every task */
    trace_wait("wait for task");
    while (chan_recv(w->tasks, &id) == 0) {
        trace_end();
        printf("Worker %d processing task %" PRId64 "\n", w->id, id);
        trace_begin("task %" PRId64, id);
        time_sleep(w->pool->work);
        trace_end();
        chan_send(w->pool->results, &id); /* cap --tasks: never blocks */
        trace_wait("wait for task");      /* ...but nobody knows we are free */
    }
    trace_end();
}

static void leaky_dispatcher_main(void *arg)
{
    struct leaky_pool *pool = arg;
    int64_t            id;
    chan_t            *worker;
    for (;;) {
        trace_wait("wait for the queue");
        int err = chan_recv(pool->queue, &id);
        trace_end();
        if (err != 0)
            return;
        trace_wait("wait for a free worker");
        chan_recv(pool->free_workers, &worker); /* blocks for ever after the first round */
        trace_end();
        chan_send(worker, &id);
    }
}

/* Receives from c into out, or gives up after patience (< 0: never gives
 * up, like the article's main). True if received. */
static bool recv_within(chan_t *c, void *out, duration_t patience)
{
    if (patience < 0)
        return chan_recv(c, out) == 0;
    chan_t     *timer = time_after(patience);
    chan_case_t cases[2] = {chan_case_recv(c, out), chan_case_recv(timer, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0 && cases[0].err == 0;
}

static int run_leaky(const struct settings *s, const char *prog)
{
    duration_t patience = 2 * s->work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    if (s->article_bug) {
        patience = -1;
        printf("--article-bug: the article's pool, where each worker offers its channel only\n"
               "once, and a main that waits for its results for ever: expect the runtime's\n"
               "deadlock report once every thread is stuck.\n");
    } else
        printf("--leak: the article's pool, where each worker offers its channel only once.\n"
               "Expect %" PRId64 " tasks to run, then nothing: main gives up after %lld ms\n"
               "without a result and returns without shutting the pool down.\n",
               s->workers < s->tasks ? s->workers : s->tasks,
               (long long)(patience / TIME_MILLISECOND));

    /* Nothing below is ever freed or closed: that is the leak on show. */
    struct leaky_pool   *pool = goc_calloc(1, sizeof *pool);
    struct leaky_worker *workers = goc_calloc((size_t)s->workers, sizeof *workers);
    if (pool == NULL || workers == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    pool->queue = chan_make(sizeof(int64_t), (size_t)s->queue);
    pool->free_workers = chan_make(sizeof(chan_t *), (size_t)s->workers);
    pool->results = chan_make(sizeof(int64_t), (size_t)s->tasks);
    pool->work = s->work_ms * TIME_MILLISECOND;
    for (int i = 0; i < s->workers; i++) {
        workers[i] = (struct leaky_worker){pool, i + 1, chan_make(sizeof(int64_t), 0)};
        char name[32];
        snprintf(name, sizeof name, "worker %d", i + 1);
        go_named(name, leaky_worker_main, &workers[i]);
    }
    go_named("dispatcher", leaky_dispatcher_main, pool);

    int64_t submitted = 0, received = 0, id;
    for (; submitted < s->tasks; submitted++) {
        int64_t task = submitted + 1;
        if (patience < 0) { /* the article's Submit: block until there is room */
            chan_send(pool->queue, &task);
            continue;
        }
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_send(pool->queue, &task), chan_case_recv(timer, NULL)};
        trace_wait("submit task %" PRId64, task);
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0)
            break; /* the queue stayed full: nobody takes tasks any more */
    }
    for (; received < submitted; received++) {
        trace_wait("wait for a result");
        bool got = recv_within(pool->results, &id, patience);
        trace_end();
        if (!got)
            break;
        printf("Result for task %" PRId64 "\n", id);
    }
    printf("Main: %" PRId64 " of %" PRId64 " tasks submitted, %" PRId64
           " results; nothing for %lld ms, giving up.\n",
           submitted, s->tasks, received, (long long)(patience / TIME_MILLISECOND));
    return 1;
}

int main(int argc, char **argv)
{
    leak_snapshot_t start = leak_snapshot();
    const char     *prog = cli_program_name(argc > 0 ? argv[0] : "01-worker-pool");
    struct settings s = {.workers = 3, .tasks = 10, .queue = 100, .work_ms = 300};
    int             parsed = parse_args(argc, argv, prog, &s);
    if (parsed != 0) {
        if (parsed == 2)
            usage(stderr, prog);
        return parsed == 2 ? 2 : 0;
    }
    if (s.timeline || s.trace_path != NULL || s.html_path != NULL)
        trace_enable();
    printf("Starting %" PRId64 " workers for %" PRId64 " tasks (queue %" PRId64 ", %" PRId64
           " ms of work each)\n",
           s.workers, s.tasks, s.queue, s.work_ms);

    int status = s.leak ? run_leaky(&s, prog) : run(&s, prog);

    fflush(stdout);
    trace_outputs_t outputs = {s.trace_path, s.html_path, s.timeline ? stdout : NULL};
    if (trace_finish_outputs(prog, &outputs) != 0)
        status = 1;
    /* The lesson's last check: everything started above has ended. */
    fflush(stdout);
    if (leak_check(&start, 0, stderr) != 0)
        return 1;
    printf("Clean shutdown: every goroutine returned, every allocation freed.\n");
    return status;
}
