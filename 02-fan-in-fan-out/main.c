/*
 * main.c - lesson 02: fan-out / fan-in as a command-line program.
 *
 * A producer numbers the jobs 1..N and sends them on one channel; a group of
 * workers (fan-out) squares them, each worker sending on its own channel; a
 * merger (fan-in) turns those channels into one, which main reads until it is
 * closed. Every sender closes the channel it sends on when it is done, so the
 * loop in main ends by itself: no counting of results, no deadlock.
 *
 * At the end the program checks that every goroutine returned and every
 * allocation was freed, and exits 1 naming what is still running if not.
 *
 * --timeline, --trace FILE and --html FILE show the run as spans per
 * goroutine, the page with an arrow per hand-off (see
 * common/trace.h). --leak runs the article's workers instead, which never
 * close their result channels, to show what the leak check reports.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/cli.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/timer.h"
#include "common/trace.h"

typedef struct {
    int64_t     workers;
    int64_t     jobs;
    int64_t     work_ms;
    bool        ordered;
    const char *trace_path;  /* --trace FILE, or NULL */
    const char *html_path;   /* --html FILE, or NULL */
    bool        timeline;    /* --timeline */
    bool        leak;        /* --leak */
    bool        article_bug; /* --article-bug: --leak, and main waits for ever */
} options_t;

static void usage(FILE *to, const char *prog)
{
    fprintf(to,
            "Usage: %s [OPTION]...\n"
            "Fan-out: workers take jobs 1..N from one channel and square them.\n"
            "Fan-in: their result channels are merged into one, which closes when\n"
            "every worker has closed its own; every result is printed once.\n"
            "\n"
            "  -w, --workers N   workers reading the job channel (1-1000, default 3)\n"
            "  -j, --jobs N      jobs to send (1-1000000, default 10)\n"
            "  -m, --work-ms MS  simulated work per job, in milliseconds (0-60000, default 250)\n"
            "  -o, --ordered     print results in job order (default: as they finish)\n"
            "      --timeline    at exit, draw what each goroutine did over time\n"
            "      --trace FILE  at exit, write the spans as Chrome trace JSON to FILE\n"
            "                    (open it in https://ui.perfetto.dev)\n"
            "      --html FILE   at exit, write the timeline as a web page to FILE\n"
            "                    (goroutines, an arrow per hand-off; opens offline)\n"
            "      --leak        run the article's workers, which never close their result\n"
            "                    channels, to see the leak check name what is stuck\n"
            "      --article-bug the article's program exactly: main ranges over the merged\n"
            "                    channel for ever; the runtime reports the deadlock (exit 2)\n"
            "  -h, --help        show this help and exit\n"
            "\n"
            "Exit status: 0 every job done and the shutdown was clean; 1 otherwise\n"
            "(always with --leak); 2 bad command line, or the deadlock of --article-bug.\n",
            prog);
}

/* Fills *opt from argv. Returns -1 to go on, or the exit status (0 after
 * --help, 2 after bad input, with the reason and the usage on stderr). */
static int parse_options(int argc, char **argv, const char *prog, options_t *opt)
{
    enum { OPT_TIMELINE = 256, OPT_TRACE, OPT_HTML, OPT_LEAK, OPT_ARTICLE_BUG };
    static const struct option longopts[] = {
        {"workers", required_argument, NULL, 'w'},
        {"jobs", required_argument, NULL, 'j'},
        {"work-ms", required_argument, NULL, 'm'},
        {"ordered", no_argument, NULL, 'o'},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"html", required_argument, NULL, OPT_HTML},
        {"leak", no_argument, NULL, OPT_LEAK},
        {"article-bug", no_argument, NULL, OPT_ARTICLE_BUG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (options_t){.workers = 3, .jobs = 10, .work_ms = 250, .ordered = false};

    opterr = 0; /* we print our own messages, in our own format */
    int c;
    while ((c = getopt_long(argc, argv, ":w:j:m:oh", longopts, NULL)) != -1) {
        int err = 0;
        switch (c) {
        case 'w':
            err = cli_parse_int(prog, "--workers", optarg, 1, 1000, &opt->workers);
            break;
        case 'j':
            err = cli_parse_int(prog, "--jobs", optarg, 1, 1000000, &opt->jobs);
            break;
        case 'm':
            err = cli_parse_int(prog, "--work-ms", optarg, 0, 60000, &opt->work_ms);
            break;
        case 'o':
            opt->ordered = true;
            break;
        case OPT_TIMELINE:
            opt->timeline = true;
            break;
        case OPT_TRACE:
            opt->trace_path = optarg;
            break;
        case OPT_HTML:
            opt->html_path = optarg;
            break;
        case OPT_LEAK:
            opt->leak = true;
            break;
        case OPT_ARTICLE_BUG:
            opt->leak = opt->article_bug = true;
            break;
        case 'h':
            usage(stdout, prog);
            return 0;
        default:
            err = cli_option_error(prog, c, argv);
            break;
        }
        if (err != 0) {
            usage(stderr, prog);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(stderr, prog);
        return 2;
    }
    return -1;
}

/* ------------------------------------------------------------ producer */

typedef struct {
    ctx_t  *ctx;
    chan_t *jobs;
    int64_t count;
} producer_t;

/* Sends jobs 1..count (seq 0..count-1), then closes the channel: it is the
 * only sender, so it is the one that knows when sending is over. */
static void produce(void *arg)
{
    producer_t *p = arg;
    for (int64_t job = 1; job <= p->count; job++) {
        fan_item_t  item = {(uint64_t)(job - 1), job};
        chan_case_t cases[2] = {chan_case_send(p->jobs, &item),
                                chan_case_recv(ctx_done(p->ctx), NULL)};
        trace_wait("send job %" PRId64, job);
        int chosen = chan_select(cases, 2);
        trace_end();
        if (chosen != 0 || cases[0].err != 0)
            break; /* canceled (or the channel was closed under us) */
    }
    chan_close(p->jobs);
    chan_release(p->jobs);
    ctx_release(p->ctx);
    goc_free(p);
}

static int start_producer(ctx_t *ctx, chan_t *jobs, int64_t count)
{
    producer_t *p = goc_malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    *p = (producer_t){ctx_retain(ctx), chan_retain(jobs), count};
    int err = go_named("producer", produce, p);
    if (err != 0) {
        chan_release(p->jobs);
        ctx_release(p->ctx);
        goc_free(p);
    }
    return err;
}

/* -------------------------------------------------------------- worker */

/* The work on one job: announce it, "work" for work_ms (giving up if the
 * context is canceled meanwhile), and square it. */
static int square_job(ctx_t *ctx, size_t worker, int64_t job, int64_t *result, void *arg)
{
    const duration_t *work = arg;
    printf("Worker %zu processing job %" PRId64 "\n", worker, job);
    if (*work > 0) {
        chan_t *timer = time_after(*work);
        if (timer == NULL)
            return ENOMEM;
        chan_case_t cases[2] = {chan_case_recv(timer, NULL), chan_case_recv(ctx_done(ctx), NULL)};
        int         chosen = chan_select(cases, 2);
        chan_release(timer); /* also cancels the timer if it has not fired */
        if (chosen != 0)
            return ECANCELED;
    }
    *result = job * job;
    return 0;
}

/* Runs the whole scenario. Returns 0, or an errno if something could not be
 * started (whatever was started is canceled and shut down first). */
static int run(const options_t *opt)
{
    duration_t work = opt->work_ms * TIME_MILLISECOND;
    ctx_t     *ctx = ctx_with_cancel(NULL);
    chan_t    *jobs = fan_chan_make(0);
    chan_t   **outs = goc_calloc((size_t)opt->workers, sizeof *outs);
    chan_t    *merged = NULL;
    int        err = ctx && jobs && outs ? 0 : ENOMEM;

    if (err == 0)
        err = start_producer(ctx, jobs, opt->jobs);
    if (err == 0)
        err = fan_out(ctx, jobs, (size_t)opt->workers, square_job, &work, outs);
    if (err == 0) {
        merged = opt->ordered ? fan_in_ordered(ctx, outs, (size_t)opt->workers)
                              : fan_in(ctx, outs, (size_t)opt->workers);
        if (merged == NULL)
            err = errno;
    }
    /* main neither sends on jobs nor reads the workers' outputs: the producer,
     * the workers and the merger hold their own references. */
    chan_release(jobs);
    for (int64_t i = 0; outs && i < opt->workers; i++)
        chan_release(outs[i]);
    goc_free(outs);

    if (err == 0) {
        printf("Collecting results...\n");
        fan_item_t item;
        for (;;) {
            trace_wait("wait for a result");
            int rc = chan_recv(merged, &item);
            trace_end();
            if (rc != 0)
                break;
            printf("Result: %" PRId64 " (job %" PRIu64 ")\n", item.value, item.seq + 1);
        }
        /* merged closes only after every worker has closed its output, which
         * a worker does on its way out. */
        printf("All workers finished.\n");
    }

    ctx_cancel(ctx); /* stops everything if we got here early; harmless otherwise */
    ctx_release(ctx);
    chan_release(merged);
    return err;
}

/* ---------------------------------------------------------------- --leak */

/* The article's worker, its bug kept on purpose: it ranges over the jobs,
 * sends each result, and returns WITHOUT closing its result channel. The
 * merger (this lesson's fan_in, which is right) closes the merged channel
 * only once every input is closed, so it never does: the merger waits for
 * ever, and so would a main that ranges over the merged channel. Here main
 * gives up once no result has come for a while, so that the program
 * reaches its leak check instead of hanging. */
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

static int run_leaky(const options_t *opt)
{
    duration_t patience = 2 * opt->work_ms * TIME_MILLISECOND + 200 * TIME_MILLISECOND;
    if (opt->article_bug)
        printf("--article-bug: the article's workers never close their result channels,\n"
               "and main ranges over the merged channel: expect every result, then the\n"
               "runtime's deadlock report.\n");
    else
        printf("--leak: the article's workers, which never close their result channels.\n"
               "Expect every result, then no end: main gives up after %lld ms without one.\n",
               (long long)(patience / TIME_MILLISECOND));
    ctx_t   *ctx = ctx_with_cancel(NULL);
    chan_t  *jobs = fan_chan_make(0);
    chan_t **outs = goc_calloc((size_t)opt->workers, sizeof *outs);
    if (ctx == NULL || jobs == NULL || outs == NULL || start_producer(ctx, jobs, opt->jobs) != 0)
        return ENOMEM;
    for (int64_t i = 0; i < opt->workers; i++) {
        leaky_worker_t *w = goc_malloc(sizeof *w);
        outs[i] = fan_chan_make(0);
        if (w == NULL || outs[i] == NULL)
            return ENOMEM;
        *w = (leaky_worker_t){chan_retain(jobs), chan_retain(outs[i]), (int)i + 1,
                              opt->work_ms * TIME_MILLISECOND};
        char name[32];
        snprintf(name, sizeof name, "worker %d", w->id);
        go_named(name, leaky_worker_main, w);
    }
    /* The article's merge has no context: nothing can tell it to stop. */
    chan_t *merged = fan_in(NULL, outs, (size_t)opt->workers);
    if (merged == NULL)
        return errno;
    printf("Collecting results...\n");
    int64_t received = 0;
    while (opt->article_bug) { /* for result := range finalResults { ... } */
        fan_item_t item;
        if (chan_recv(merged, &item) != 0)
            break; /* never: the merged channel never closes */
        printf("Result: %" PRId64 " (job %" PRIu64 ")\n", item.value, item.seq + 1);
    }
    for (;;) {
        fan_item_t  item;
        chan_t     *timer = time_after(patience);
        chan_case_t cases[2] = {chan_case_recv(merged, &item), chan_case_recv(timer, NULL)};
        trace_wait("wait for a result");
        int chosen = chan_select(cases, 2);
        trace_end();
        chan_release(timer);
        if (chosen != 0 || cases[0].err != 0)
            break;
        printf("Result: %" PRId64 " (job %" PRIu64 ")\n", item.value, item.seq + 1);
        received++;
    }
    printf("Main: %" PRId64 " of %" PRId64 " results, but the merged channel never closed;"
           " giving up after %lld ms.\n",
           received, opt->jobs, (long long)(patience / TIME_MILLISECOND));
    /* Main lets go of what it holds; the merger holds its own references. */
    for (int64_t i = 0; i < opt->workers; i++)
        chan_release(outs[i]);
    goc_free(outs);
    chan_release(jobs);
    chan_release(merged);
    ctx_cancel(ctx);
    ctx_release(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = cli_program_name(argc > 0 ? argv[0] : "02-fan-in-fan-out");
    options_t   opt;
    int         status = parse_options(argc, argv, prog, &opt);
    if (status >= 0)
        return status;

    setvbuf(stdout, NULL, _IOLBF, 0); /* watch it live even through a pipe */
    leak_snapshot_t before = leak_snapshot();
    if (opt.timeline || opt.trace_path != NULL || opt.html_path != NULL)
        trace_enable();

    printf("Fan-out: %" PRId64 " workers, %" PRId64 " jobs, %" PRId64
           " ms of work each; fan-in: %s\n",
           opt.workers, opt.jobs, opt.work_ms, opt.ordered ? "ordered" : "as they finish");
    int err = opt.leak ? run_leaky(&opt) : run(&opt);
    if (err != 0)
        fprintf(stderr, "%s: cannot start: %s\n", prog, strerror(err));
    trace_outputs_t outputs = {opt.trace_path, opt.html_path, opt.timeline ? stdout : NULL};
    if (trace_finish_outputs(prog, &outputs) != 0 && err == 0)
        err = EIO;

    if (leak_check(&before, 0, stderr) != 0) {
        fprintf(stderr, "%s: shutdown was not clean\n", prog);
        return 1;
    }
    printf("Clean shutdown: every goroutine returned, every allocation freed.\n");
    return err == 0 ? 0 : 1;
}
