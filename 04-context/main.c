/*
 * main.c - lesson 04 as a command-line tool: four short runs that show a
 * context stopping work.
 *
 *   1. a task canceled by hand            (the article's example 1)
 *   2. a task stopped by a timeout        (the article's example 2)
 *   3. one request, three workers, each with a sub-task: cancel one worker,
 *      then the whole request; every log line carries the request id
 *   4. a child whose own timeout is later than its parent's: the parent's
 *      deadline wins
 *
 * The article draws each task's duration at random (1-5 s). Here durations
 * come from the flags, so every run tells the same story; the defaults make
 * the cancel and the timeouts land in the middle of the work.
 *
 * main never sleeps to "give a goroutine time to print": it waits for each
 * task's result on a channel, and for the request's workers on their done
 * channels. At the end it proves that every goroutine returned, every timer
 * was disarmed and every allocation was freed.
 *
 * --timeline, --trace FILE and --html FILE show the run as spans per
 * goroutine, the page with an arrow per hand-off (see
 * common/trace.h). --leak runs two classic context mistakes instead (a
 * context never canceled, a timer never released) to show what the leak
 * check reports.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "04-context/task.h"
#include "common/alloc.h"
#include "common/cli.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/trace.h"

#define MAX_MS 600000 /* ten minutes: any longer is a typo */

struct config {
    duration_t  task;         /* how long every task takes if left alone */
    duration_t  cancel_after; /* when main cancels (examples 1 and 3) */
    duration_t  timeout;      /* the timeout of examples 2 and 4 */
    const char *trace_path;   /* --trace FILE, or NULL */
    const char *html_path;    /* --html FILE, or NULL */
    bool        timeline;     /* --timeline */
    bool        leak;         /* --leak */
};

/* The article's numbers (a 1-5 s task, cancel and timeout at 2 s) scaled
 * down, and made fixed so that every cancel lands mid-task. */
static const struct config defaults = {
    .task = 1500 * TIME_MILLISECOND,
    .cancel_after = 600 * TIME_MILLISECOND,
    .timeout = 600 * TIME_MILLISECOND,
};

static const char usage_text[] =
    "Usage: %s [options]\n"
    "Shows a context stopping work, in four examples:\n"
    "  1. a task canceled by hand after --cancel-after-ms\n"
    "  2. a task given a timeout of --timeout-ms\n"
    "  3. request req-1: three workers, each with a sub-task; main cancels worker 2\n"
    "     after --cancel-after-ms, then the whole request --cancel-after-ms later\n"
    "  4. a child context asking for twice --timeout-ms under a parent with\n"
    "     --timeout-ms: the parent's earlier deadline wins\n"
    "Durations are fixed, not random, so every run tells the same story.\n"
    "\n"
    "Options:\n"
    "  --task-ms N          how long each task takes if left alone (default 1500)\n"
    "  --cancel-after-ms N  when main cancels in examples 1 and 3 (default 600)\n"
    "  --timeout-ms N       the timeout of examples 2 and 4 (default 600)\n"
    "  --timeline           at exit, draw what each goroutine did over time\n"
    "  --trace FILE         at exit, write the spans as Chrome trace JSON to FILE\n"
    "                       (open it in https://ui.perfetto.dev)\n"
    "  --html FILE          at exit, write the timeline as a web page to FILE\n"
    "                       (goroutines, an arrow per hand-off; opens offline)\n"
    "  --leak               instead of the examples, forget a cancel and a timer,\n"
    "                       to see the leak check name what is left behind\n"
    "  -h, --help           print this help and exit\n"
    "All durations are in milliseconds, 1 to 600000.\n";

static long long to_ms(duration_t d)
{
    return (long long)(d / TIME_MILLISECOND);
}

/* ---------------------------------------------------------------- tasks */

struct task_run {
    ctx_t     *ctx; /* the goroutine's own reference */
    int        id;
    duration_t duration;
    chan_t    *result; /* cap 1, int; the goroutine's own reference */
};

static void task_goroutine(void *arg)
{
    struct task_run *run = arg;
    int              err = long_running_task(run->ctx, run->id, run->duration, stdout);
    chan_send(run->result, &err); /* never blocks: cap 1 and one send */
    chan_release(run->result);
    ctx_release(run->ctx);
    goc_free(run);
}

/* Go: done := make(chan error, 1); go func() { done <- longRunningTask(ctx, id) }()
 * Returns done, or NULL if the goroutine could not be started. */
static chan_t *start_task(ctx_t *ctx, int id, duration_t duration)
{
    chan_t          *done = chan_make(sizeof(int), 1);
    struct task_run *run = goc_malloc(sizeof *run);
    if (done == NULL || run == NULL) {
        chan_release(done);
        goc_free(run);
        return NULL;
    }
    *run = (struct task_run){ctx_retain(ctx), id, duration, chan_retain(done)};
    char name[32];
    snprintf(name, sizeof name, "task %d", id);
    if (go_named(name, task_goroutine, run) != 0) {
        ctx_release(run->ctx);
        chan_release(run->result);
        goc_free(run);
        chan_release(done);
        return NULL;
    }
    return done;
}

/* Waits until event delivers (into out) or d has passed; true if the event
 * came first. A main that has nothing to do until then waits like this, not
 * with a sleep: it stops waiting the moment the event happens. */
static bool wait_for(chan_t *event, void *out, duration_t d)
{
    chan_t     *timer = time_after(d); /* NULL (no memory): wait for the event alone */
    chan_case_t cases[2] = {chan_case_recv(event, out), chan_case_recv(timer, NULL)};
    trace_wait("wait, at most %lld ms", to_ms(d));
    int chosen = chan_select(cases, 2);
    trace_end();
    chan_release(timer);
    return chosen == 0;
}

/* ---------------------------------------------------------------- examples */

static int example_manual_cancel(const struct config *cfg)
{
    printf("--- Example 1: cancel by hand ---\n");
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *done = ctx ? start_task(ctx, 1, cfg->task) : NULL;
    if (done == NULL) {
        ctx_release(ctx);
        return ENOMEM;
    }
    int err = 0;
    if (wait_for(done, &err, cfg->cancel_after)) {
        printf("Main: task 1 ended before the cancel\n");
    } else {
        printf("Main: canceling task 1 after %lld ms\n", to_ms(cfg->cancel_after));
        ctx_cancel(ctx);
        trace_wait("wait for task 1");
        chan_recv(done, &err); /* wait for its answer; no sleep needed */
        trace_end();
    }
    printf("Main: task 1 returned: %s\n", task_err_text(err));
    chan_release(done);
    ctx_cancel(ctx); /* Go: defer cancel1() */
    ctx_release(ctx);
    return 0;
}

static int example_timeout(const struct config *cfg)
{
    printf("\n--- Example 2: timeout ---\n");
    printf("Main: task 2 gets %lld ms\n", to_ms(cfg->timeout));
    int64_t start = time_now();
    ctx_t  *ctx = ctx_with_timeout(NULL, cfg->timeout);
    chan_t *done = ctx ? start_task(ctx, 2, cfg->task) : NULL;
    if (done == NULL) {
        ctx_release(ctx);
        return ENOMEM;
    }
    int err = 0;
    trace_wait("wait for task 2");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 2 returned after %lld ms: %s\n", to_ms(time_now() - start),
           task_err_text(err));
    chan_release(done);
    ctx_cancel(ctx); /* Go: defer cancel2(); it also disarms the timer early */
    ctx_release(ctx);
    return 0;
}

static void print_sibling(request_t *req, int worker)
{
    request_worker_result_t result;
    if (request_worker_result(req, worker, &result) == EAGAIN)
        printf("Main: worker %d is still running, its context: %s\n", worker,
               task_err_text(ctx_err(request_worker_context(req, worker))));
    else
        printf("Main: worker %d has already finished\n", worker);
}

static int example_request_tree(const struct config *cfg)
{
    printf("\n--- Example 3: one request, a tree of goroutines ---\n");
    request_t *req = request_start(NULL, "req-1", 3, cfg->task, stdout);
    if (req == NULL)
        return errno;

    if (wait_for(request_worker_done(req, 2), NULL, cfg->cancel_after)) {
        printf("Main: worker 2 finished before the cancel\n");
    } else {
        printf("Main: canceling worker 2 only\n");
        request_cancel_worker(req, 2);
        chan_recv(request_worker_done(req, 2), NULL); /* returns once worker 2 is out */
    }
    print_sibling(req, 1);
    print_sibling(req, 3);

    if (wait_for(request_done(req), NULL, cfg->cancel_after)) {
        printf("Main: the request finished before the cancel\n");
    } else {
        printf("Main: canceling request req-1\n");
        request_cancel(req);
        chan_recv(request_done(req), NULL);
    }
    for (int worker = 1; worker <= 3; worker++) {
        request_worker_result_t r = {0};
        request_worker_result(req, worker, &r);
        printf("Main: worker %d of request %s: task %s, sub-task %s\n", worker, r.request_id,
               task_err_text(r.task_err), task_err_text(r.subtask_err));
    }
    request_free(req);
    return 0;
}

static int example_inherited_deadline(const struct config *cfg)
{
    printf("\n--- Example 4: the earlier deadline wins ---\n");
    int64_t start = time_now();
    ctx_t  *parent = ctx_with_timeout(NULL, cfg->timeout);
    ctx_t  *child = parent ? ctx_with_timeout(parent, 2 * cfg->timeout) : NULL;
    if (child == NULL) {
        ctx_release(parent);
        return ENOMEM;
    }
    int64_t parent_deadline = 0, child_deadline = 0;
    ctx_deadline(parent, &parent_deadline);
    ctx_deadline(child, &child_deadline);
    printf("Main: parent has %lld ms, child asked for %lld ms: the child's deadline is %s\n",
           to_ms(cfg->timeout), to_ms(2 * cfg->timeout),
           child_deadline == parent_deadline ? "its parent's" : "its own");
    chan_t *done = start_task(child, 4, cfg->task);
    if (done == NULL) {
        ctx_release(child);
        ctx_release(parent);
        return ENOMEM;
    }
    int err = 0;
    trace_wait("wait for task 4");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 4 returned after %lld ms: %s\n", to_ms(time_now() - start),
           task_err_text(err));
    chan_release(done);
    ctx_cancel(child);
    ctx_release(child);
    ctx_cancel(parent);
    ctx_release(parent);
    return 0;
}

/* ---------------------------------------------------------------- --leak */

/* Mistake 1, a context never canceled. A goroutine that cleans up after a
 * request waits for the request's context to end (Go: go func() {
 * <-ctx.Done(); cleanup() }()). Whoever made the context with
 * ctx_with_cancel must cancel it (Go: defer cancel()); main "forgets", so
 * the watcher waits for ever, holding the context and its channel. */
struct watcher {
    ctx_t  *ctx;     /* the goroutine's own reference */
    chan_t *started; /* signal: closed once it is watching */
};

static void watch_request(void *arg)
{
    struct watcher *w = arg;
    trace_wait("wait for %s to end", request_id_from(w->ctx));
    printf("[%s] Watcher: waiting for the request to end\n", request_id_from(w->ctx));
    chan_close(w->started);
    chan_recv(ctx_done(w->ctx), NULL);
    trace_end();
    printf("[%s] Watcher: request over, cleaning up\n", request_id_from(w->ctx));
    chan_release(w->started);
    ctx_release(w->ctx);
    goc_free(w);
}

/* Mistake 2, a timer never released: long_running_task without its one
 * chan_release. When the context ends first, the timer stays armed until
 * it fires, and its channel is never freed. (Go's version is time.After in
 * a select: before Go 1.23 each one stayed in the runtime until it fired.) */
struct leaky_task {
    ctx_t     *ctx; /* the goroutine's own references */
    duration_t work;
    chan_t    *result; /* cap 1, int */
};

static void leaky_task(void *arg)
{
    struct leaky_task *t = arg;
    chan_t            *work_finished = time_after(t->work);
    printf("Task 5: starting, will take %lld ms\n", to_ms(t->work));
    chan_case_t cases[2] = {chan_case_recv(work_finished, NULL),
                            chan_case_recv(ctx_done(t->ctx), NULL)};
    trace_begin("task 5");
    int err = chan_select(cases, 2) == 0 ? 0 : ctx_err(t->ctx);
    trace_end();
    printf("Task 5: %s; returns WITHOUT releasing its timer\n",
           err ? task_err_text(err) : "completed");
    /* THE BUG: chan_release(work_finished) is missing here. */
    chan_send(t->result, &err);
    chan_release(t->result);
    ctx_release(t->ctx);
    goc_free(t);
}

static int run_leaky(const struct config *cfg)
{
    printf("--- Leak 1: a timer never released ---\n");
    printf("Main: task 5 gets %lld ms; its code forgets to release its timer\n",
           to_ms(cfg->timeout));
    ctx_t             *ctx = ctx_with_timeout(NULL, cfg->timeout);
    struct leaky_task *task = goc_malloc(sizeof *task);
    chan_t            *done = chan_make(sizeof(int), 1);
    if (ctx == NULL || task == NULL || done == NULL)
        return ENOMEM; /* this run leaks anyway */
    *task = (struct leaky_task){ctx_retain(ctx), cfg->task, chan_retain(done)};
    if (go_named("task 5", leaky_task, task) != 0)
        return EAGAIN;
    int err = 0;
    trace_wait("wait for task 5");
    chan_recv(done, &err);
    trace_end();
    printf("Main: task 5 returned: %s, but its %lld ms timer is still armed\n", task_err_text(err),
           to_ms(cfg->task));
    chan_release(done);
    ctx_cancel(ctx); /* main does its part right */
    ctx_release(ctx);

    printf("\n--- Leak 2: a context never canceled ---\n");
    ctx_t          *parent = ctx_with_cancel(NULL);
    ctx_t          *request = parent ? request_with_id(parent, "req-2") : NULL;
    struct watcher *watcher = goc_malloc(sizeof *watcher);
    chan_t         *started = chan_make(0, 0);
    if (request == NULL || watcher == NULL || started == NULL)
        return ENOMEM;
    *watcher = (struct watcher){ctx_retain(request), chan_retain(started)};
    if (go_named("watcher req-2", watch_request, watcher) != 0)
        return EAGAIN;
    chan_recv(started, NULL); /* so the output shows it waiting */
    chan_release(started);
    printf("Main: request req-2 served; returning without ctx_cancel (Go's missing "
           "`defer cancel()`)\n");
    /* THE BUG: ctx_cancel(parent) is missing; releasing is not canceling. */
    ctx_release(request);
    ctx_release(parent);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *out, const char *prog)
{
    fprintf(out, usage_text, prog);
}

/* Parses the command line into cfg. Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, const char *prog, struct config *cfg)
{
    enum {
        OPT_TASK = 1,
        OPT_CANCEL_AFTER,
        OPT_TIMEOUT,
        OPT_TIMELINE,
        OPT_TRACE,
        OPT_HTML,
        OPT_LEAK
    };
    static const struct option options[] = {
        {"task-ms", required_argument, NULL, OPT_TASK},
        {"cancel-after-ms", required_argument, NULL, OPT_CANCEL_AFTER},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"html", required_argument, NULL, OPT_HTML},
        {"leak", no_argument, NULL, OPT_LEAK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0; /* we report errors ourselves, in our own words */
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int64_t     value = 0;
        duration_t *target = NULL;
        const char *flag = NULL;
        switch (opt) {
        case 'h':
            usage(stdout, prog);
            return 0;
        case OPT_TASK:
            target = &cfg->task, flag = "--task-ms";
            break;
        case OPT_CANCEL_AFTER:
            target = &cfg->cancel_after, flag = "--cancel-after-ms";
            break;
        case OPT_TIMEOUT:
            target = &cfg->timeout, flag = "--timeout-ms";
            break;
        case OPT_TIMELINE:
            cfg->timeline = true;
            continue;
        case OPT_TRACE:
            cfg->trace_path = optarg;
            continue;
        case OPT_HTML:
            cfg->html_path = optarg;
            continue;
        case OPT_LEAK:
            cfg->leak = true;
            continue;
        default:
            cli_option_error(prog, opt, argv);
            usage(stderr, prog);
            return 2;
        }
        if (cli_parse_int(prog, flag, optarg, 1, MAX_MS, &value) != 0) {
            usage(stderr, prog);
            return 2;
        }
        *target = value * TIME_MILLISECOND;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(stderr, prog);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    leak_snapshot_t snap = leak_snapshot();
    const char     *prog = cli_program_name(argc > 0 ? argv[0] : "04-context");
    struct config   cfg = defaults;
    int             status = parse_args(argc, argv, prog, &cfg);
    if (status >= 0)
        return status;

    int (*const examples[])(const struct config *) = {
        example_manual_cancel,
        example_timeout,
        example_request_tree,
        example_inherited_deadline,
    };
    if (cfg.timeline || cfg.trace_path != NULL || cfg.html_path != NULL)
        trace_enable();
    int err = 0;
    if (cfg.leak)
        err = run_leaky(&cfg);
    for (size_t i = 0; !cfg.leak && i < sizeof examples / sizeof examples[0] && err == 0; i++)
        err = examples[i](&cfg);
    fflush(stdout);
    if (err != 0)
        fprintf(stderr, "%s: cannot run the example: %s\n", prog, task_err_text(err));
    trace_outputs_t outputs = {cfg.trace_path, cfg.html_path, cfg.timeline ? stdout : NULL};
    if (trace_finish_outputs(prog, &outputs) != 0 && err == 0)
        err = EIO;

    if (leak_check(&snap, 0, stderr) != 0)
        return 1;
    if (err != 0)
        return 1;
    printf("\nClean shutdown: every goroutine returned, every allocation freed.\n");
    return 0;
}
