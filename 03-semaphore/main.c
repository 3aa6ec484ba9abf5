/*
 * main.c - lesson 03: ten tasks, at most three at a time.
 *
 * The article's semaphore scenario as a command-line tool. Every task is a
 * goroutine that waits for a slot, works, and gives the slot back; each
 * step is printed with the number of slots in use, so the limit is visible
 * in the output. --weighted adds a big job that needs every slot, to show
 * that a fair (FIFO) semaphore does not starve it; --timeout-ms bounds the
 * waiting with a context; --channel uses the buffered-channel semaphore.
 *
 * --timeline, --trace FILE and --html FILE show the run as spans per
 * goroutine, the page with an arrow per hand-off (see
 * common/trace.h). --leak runs tasks whose error path returns without
 * giving the slot back, to show what the leak check reports.
 *
 * Exit status: 0 after a clean run (tasks that gave up at a deadline are a
 * normal outcome, not an error), 1 if the run failed or shutdown was not
 * clean (always with --leak), 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "03-semaphore/limiter.h"
#include "common/alloc.h"
#include "common/chan.h"
#include "common/cli.h"
#include "common/context.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/timer.h"
#include "common/trace.h"

/* The article: 10 tasks, 3 at a time, 2 s of work each (8 s in all).
 * Scaled: 500 ms of work, so the four rounds take about 2 s. */
#define DEFAULT_TASKS 10
#define DEFAULT_LIMIT 3
#define DEFAULT_WORK_MS 500

typedef struct {
    int         tasks;
    int64_t     limit;
    int64_t     work_ms;
    int64_t     timeout_ms; /* 0: no timeout, as in the article */
    bool        weighted;
    bool        channel;
    const char *trace_path; /* --trace FILE, or NULL */
    const char *html_path;  /* --html FILE, or NULL */
    bool        timeline;   /* --timeline */
    bool        leak;       /* --leak */
} options_t;

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [OPTION]...\n"
            "Run tasks concurrently, at most --limit at a time, through a semaphore.\n"
            "Each task waits for a slot, works, and frees it; every step prints how\n"
            "many slots are in use.\n"
            "\n"
            "  --tasks N        number of tasks (default %d)\n"
            "  --limit N        slots: tasks that may run at once (default %d)\n"
            "  --work-ms N      how long each task works, in ms (default %d)\n"
            "  --timeout-ms N   give up waiting for a slot after N ms (default: wait forever)\n"
            "  --weighted       task LIMIT+1 is a big job that needs every slot at once\n"
            "  --channel        use a buffered channel as the semaphore (no weights)\n"
            "  --timeline       at exit, draw what each goroutine did over time\n"
            "  --trace FILE     at exit, write the spans as Chrome trace JSON to FILE\n"
            "                   (open it in https://ui.perfetto.dev)\n"
            "  --html FILE      at exit, write the timeline as a web page to FILE\n"
            "                   (goroutines, an arrow per hand-off; opens offline)\n"
            "  --leak           run tasks whose error path forgets to release the slot,\n"
            "                   to see the leak check name the tasks left waiting\n"
            "  --help           show this help and exit\n"
            "\n"
            "Default: the weighted semaphore (golang.org/x/sync/semaphore's design).\n",
            prog, DEFAULT_TASKS, DEFAULT_LIMIT, DEFAULT_WORK_MS);
}

/* Returns 0, or 2 after reporting bad usage; *help is set for --help. */
static int parse(int argc, char **argv, options_t *opt, bool *help)
{
    /* One option a line, as getopt_long reads them; clang-format would pack
     * them in columns. */
    /* clang-format off */
    static const struct option longopts[] = {
        {"tasks", required_argument, NULL, 't'},
        {"limit", required_argument, NULL, 'l'},
        {"work-ms", required_argument, NULL, 'w'},
        {"timeout-ms", required_argument, NULL, 'o'},
        {"weighted", no_argument, NULL, 'W'},
        {"channel", no_argument, NULL, 'c'},
        {"timeline", no_argument, NULL, 'T'},
        {"trace", required_argument, NULL, 'f'},
        {"html", required_argument, NULL, 'H'},
        {"leak", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    const char *prog = cli_program_name(argv[0]);
    int64_t     tasks = DEFAULT_TASKS;
    int         c;
    opterr = 0; /* we print our own messages */
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        int err = 0;
        switch (c) {
        case 't':
            err = cli_parse_int(prog, "--tasks", optarg, 1, 1000, &tasks);
            break;
        case 'l':
            err = cli_parse_int(prog, "--limit", optarg, 1, 1000, &opt->limit);
            break;
        case 'w':
            err = cli_parse_int(prog, "--work-ms", optarg, 0, 60000, &opt->work_ms);
            break;
        case 'o':
            err = cli_parse_int(prog, "--timeout-ms", optarg, 1, 3600000, &opt->timeout_ms);
            break;
        case 'W':
            opt->weighted = true;
            break;
        case 'c':
            opt->channel = true;
            break;
        case 'T':
            opt->timeline = true;
            break;
        case 'f':
            opt->trace_path = optarg;
            break;
        case 'H':
            opt->html_path = optarg;
            break;
        case 'L':
            opt->leak = true;
            break;
        case 'h':
            *help = true;
            return 0;
        default:
            err = cli_option_error(prog, c, argv);
            break;
        }
        if (err != 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return 2;
    }
    if (opt->weighted && opt->channel) {
        fprintf(stderr,
                "%s: --weighted needs the weighted semaphore; a channel of tokens "
                "cannot take several slots atomically\n",
                prog);
        return 2;
    }
    opt->tasks = (int)tasks;
    return 0;
}

static void print_event(void *arg, const limiter_event_t *ev)
{
    (void)arg;
    printf("[%6.3fs] Task %d: ", (double)ev->elapsed_ns / 1e9, ev->task);
    switch (ev->kind) {
    case LIMITER_WAITING:
        printf("waiting for %" PRId64 " slot%s", ev->weight, ev->weight == 1 ? "" : "s");
        break;
    case LIMITER_STARTED:
        printf("start");
        break;
    case LIMITER_FINISHED:
        printf("finish");
        break;
    case LIMITER_GAVE_UP:
        printf("gave up waiting: %s", limiter_reason(ev->err));
        break;
    }
    printf(" (%" PRId64 "/%" PRId64 " slots in use)\n", ev->in_use, ev->limit);
}

/* Runs the scenario; returns 0 or an errno value. */
static int run(const options_t *opt)
{
    limiter_t *limiter = limiter_new(opt->channel ? LIMITER_CHAN : LIMITER_SEMA, opt->limit);
    if (limiter == NULL)
        return errno;
    int64_t *weights = goc_calloc((size_t)opt->tasks, sizeof *weights);
    ctx_t   *ctx = opt->timeout_ms > 0 ? ctx_with_timeout(NULL, opt->timeout_ms * TIME_MILLISECOND)
                                       : ctx_background();
    if (weights == NULL || ctx == NULL) {
        int err = errno ? errno : ENOMEM;
        goc_free(weights);
        ctx_release(ctx);
        limiter_free(limiter);
        return err;
    }

    limiter_job_t job = {
        .tasks = opt->tasks,
        .weights = weights,
        .work = opt->work_ms * TIME_MILLISECOND,
        .ctx = ctx,
        .on_event = print_event,
    };
    for (int i = 0; i < opt->tasks; i++)
        weights[i] = 1;
    /* The big job comes right after the first wave has filled every slot,
     * and the rest arrive behind it, one after another, so the order in
     * which they queue is the order of their numbers. */
    int big = opt->tasks < opt->limit + 1 ? opt->tasks : (int)opt->limit + 1;
    if (opt->weighted) {
        weights[big - 1] = opt->limit;
        job.arrival_gap = job.work / 20;
    }

    printf("%d tasks, at most %" PRId64 " at a time, %" PRId64 " ms of work each, using %s.\n",
           opt->tasks, opt->limit, opt->work_ms,
           opt->channel ? "a buffered channel of tokens" : "the weighted semaphore");
    if (opt->weighted)
        printf("Task %d is a big job: it needs all %" PRId64 " slots at once.\n", big, opt->limit);
    if (opt->timeout_ms > 0)
        printf("Tasks give up waiting after %" PRId64 " ms (a context with a timeout).\n",
               opt->timeout_ms);

    limiter_stats_t stats;
    int             err = limiter_run(limiter, &job, &stats);
    if (err == 0)
        printf("Done in %.2f s: %d of %d tasks finished, %d gave up; at most %" PRId64
               " of %" PRId64 " slots were in use at once.\n",
               (double)stats.elapsed_ns / 1e9, stats.started, opt->tasks, stats.gave_up, stats.peak,
               opt->limit);

    ctx_cancel(ctx);
    ctx_release(ctx);
    goc_free(weights);
    limiter_free(limiter);
    return err;
}

/* ---------------------------------------------------------------- --leak */

/* The mistake this pattern invites: an early return that skips the
 * release. In Go it is a missing `defer sem.Release(1)`; in C every error
 * path must give the slot back by hand. Here every even-numbered task
 * "fails" after its work and returns holding its slot. Each such task
 * takes a slot away for good; once `limit` of them have, the tasks still
 * queued wait for ever. Main does not (that would hide the lesson in a
 * hang): it gives up once no task has returned for a while, and the leak
 * check at exit names the tasks left waiting. */
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

static int run_leaky(const options_t *opt)
{
    duration_t patience = 2 * opt->work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    printf("--leak: %d tasks, %" PRId64 " slots; every even-numbered task fails and returns\n"
           "without releasing its slot. Main gives up after %lld ms with no task returning.\n",
           opt->tasks, opt->limit, (long long)(patience / TIME_MILLISECOND));
    /* Nothing here is freed: the tasks left waiting still use all of it. */
    leaky_run_t  *run = goc_malloc(sizeof *run);
    leaky_task_t *tasks = goc_calloc((size_t)opt->tasks, sizeof *tasks);
    if (run == NULL || tasks == NULL)
        return ENOMEM;
    run->limiter = limiter_new(opt->channel ? LIMITER_CHAN : LIMITER_SEMA, opt->limit);
    run->returned = chan_make(sizeof(int), (size_t)opt->tasks);
    run->work = opt->work_ms * TIME_MILLISECOND;
    if (run->limiter == NULL || run->returned == NULL)
        return ENOMEM;
    for (int i = 0; i < opt->tasks; i++) {
        tasks[i] = (leaky_task_t){run, i + 1};
        char name[32];
        snprintf(name, sizeof name, "task %d", i + 1);
        go_named(name, leaky_task_main, &tasks[i]);
    }
    int returned = 0;
    for (; returned < opt->tasks; returned++) {
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_recv(run->returned, NULL), chan_case_recv(timer, NULL)};
        trace_wait("wait for the tasks");
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0)
            break;
    }
    printf("Main: %d of %d tasks returned; %" PRId64 "/%" PRId64
           " slots are held by tasks that are gone.\n"
           "Main: nothing for %lld ms, giving up on the rest.\n",
           returned, opt->tasks, limiter_held(run->limiter), opt->limit,
           (long long)(patience / TIME_MILLISECOND));
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = cli_program_name(argv[0]);
    options_t   opt = {.tasks = DEFAULT_TASKS, .limit = DEFAULT_LIMIT, .work_ms = DEFAULT_WORK_MS};
    bool        help = false;
    if (parse(argc, argv, &opt, &help) != 0) {
        usage(stderr, prog);
        return 2;
    }
    if (help) {
        usage(stdout, prog);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* show each step as it happens, even in a pipe */

    leak_snapshot_t snap = leak_snapshot();
    if (opt.timeline || opt.trace_path != NULL || opt.html_path != NULL)
        trace_enable();
    int err = opt.leak ? run_leaky(&opt) : run(&opt);
    if (err != 0)
        fprintf(stderr, "%s: %s\n", prog, strerror(err));
    fflush(stdout);
    if (trace_finish_outputs(prog, &(trace_outputs_t){opt.trace_path, opt.html_path,
                                                      opt.timeline ? stdout : NULL}) != 0 &&
        err == 0)
        err = EIO;

    fflush(stdout);
    if (leak_check(&snap, 0, stderr) != 0)
        return 1;
    printf("Clean shutdown: every goroutine returned, every allocation freed.\n");
    return err == 0 ? 0 : 1;
}
