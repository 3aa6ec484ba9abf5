/*
 * main.c - lesson 05: the article's pipeline as a command-line tool.
 *
 *     generate 0..n-1 -> square -> keep odd -> Sink1 [and Sink2]
 *
 * Each stage is a goroutine; the stages are linked by unbuffered channels.
 * With two sinks the program shows what really happens when two goroutines
 * range over one channel (they share the values: each value goes to exactly
 * one of them), or, with --tee, a broadcast stage that gives both every
 * value. --take shows early exit: the sink cancels the context and every
 * stage upstream returns. At exit the program proves that every goroutine
 * returned and everything was freed, or exits 1 naming what is left.
 *
 * The article's n = 10; its sinks do no work, so the pipeline would finish
 * in a blink. Here each sink pauses 200 ms per value (--sink-ms), so a run
 * takes about a second and two competing sinks visibly take turns.
 *
 * Output lines: "Sink1 received: 9" for every value, one summary line per
 * sink, then totals and the clean-shutdown line.
 *
 * --timeline, --trace FILE and --html FILE show the run as spans per
 * goroutine, the page with an arrow per hand-off (see
 * common/trace.h). --leak runs a sink that stops early WITHOUT canceling,
 * to show what the leak check reports.
 *
 * Exit status: 0 when the pipeline ran and the shutdown was clean, 1 if it
 * could not be started or something was left running or allocated (as
 * --leak does on purpose), 2 for bad command-line input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "05-pipeline/pipeline.h"
#include "common/cli.h"
#include "common/leak.h"
#include "common/trace.h"

#define MAX_N 1000000000 /* keeps every square within int64_t */

typedef struct {
    int64_t     n;
    int64_t     take;
    int64_t     sinks;
    bool        tee;
    int64_t     workers;
    int64_t     sink_ms;
    const char *trace_path; /* --trace FILE, or NULL */
    const char *html_path;  /* --html FILE, or NULL */
    bool        timeline;   /* --timeline */
    bool        leak;       /* --leak */
} options_t;

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [options]\n"
            "Runs generate -> square -> keep odd -> sink(s), each stage a goroutine and\n"
            "each link an unbuffered channel: Go's pipeline pattern, in C.\n"
            "\n"
            "  --n N          generate the numbers 0..N-1 (default 10)\n"
            "  --take K       a sink stops after K values and cancels the pipeline\n"
            "                 (default 0: take everything)\n"
            "  --sinks 1|2    one sink, or two sinks on the same channel (default 2)\n"
            "  --tee          broadcast: each of the two sinks gets every value\n"
            "  --workers W    square on W goroutines at once; the order of the\n"
            "                 values is then not kept (default 1, at most 64)\n"
            "  --sink-ms MS   a sink pauses MS milliseconds after each value, to play a\n"
            "                 slow consumer (default 200; 0 runs flat out)\n"
            "  --timeline     at exit, draw what each goroutine did over time\n"
            "  --trace FILE   at exit, write the spans as Chrome trace JSON to FILE\n"
            "                 (open it in https://ui.perfetto.dev)\n"
            "  --html FILE    at exit, write the timeline as a web page to FILE\n"
            "                 (goroutines, an arrow per hand-off; opens offline)\n"
            "  --leak         one sink that stops after --take values (default 3)\n"
            "                 WITHOUT canceling, to see the leak check name the stages\n"
            "  --help         show this help and exit\n",
            prog);
}

/* Returns -1 to go on, or the exit status (0 for --help, 2 for bad input). */
static int parse_options(int argc, char **argv, const char *prog, options_t *opt)
{
    /* One option a line, as getopt_long reads them; clang-format would pack
     * them in columns. */
    /* clang-format off */
    static const struct option longopts[] = {
        {"n", required_argument, NULL, 'n'},
        {"take", required_argument, NULL, 't'},
        {"sinks", required_argument, NULL, 's'},
        {"tee", no_argument, NULL, 'T'},
        {"workers", required_argument, NULL, 'w'},
        {"sink-ms", required_argument, NULL, 'm'},
        {"timeline", no_argument, NULL, 'L'},
        {"trace", required_argument, NULL, 'f'},
        {"html", required_argument, NULL, 'H'},
        {"leak", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    *opt = (options_t){.n = 10, .take = 0, .sinks = 2, .tee = false, .workers = 1, .sink_ms = 200};
    bool sinks_given = false;

    opterr = 0; /* we print our own messages, prefixed with the program name */
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'n':
            rc = cli_parse_int(prog, "--n", optarg, 1, MAX_N, &opt->n);
            break;
        case 't':
            rc = cli_parse_int(prog, "--take", optarg, 0, MAX_N, &opt->take);
            break;
        case 's':
            rc = cli_parse_int(prog, "--sinks", optarg, 1, 2, &opt->sinks);
            sinks_given = true;
            break;
        case 'T':
            opt->tee = true;
            break;
        case 'w':
            rc = cli_parse_int(prog, "--workers", optarg, 1, 64, &opt->workers);
            break;
        case 'm':
            rc = cli_parse_int(prog, "--sink-ms", optarg, 0, 10000, &opt->sink_ms);
            break;
        case 'L':
            opt->timeline = true;
            break;
        case 'f':
            opt->trace_path = optarg;
            break;
        case 'H':
            opt->html_path = optarg;
            break;
        case 'K':
            opt->leak = true;
            break;
        case 'h':
            usage(stdout, prog);
            return 0;
        default:
            rc = cli_option_error(prog, c, argv);
            break;
        }
        if (rc != 0) {
            usage(stderr, prog);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(stderr, prog);
        return 2;
    }
    if (opt->tee && sinks_given && opt->sinks != 2) {
        fprintf(stderr, "%s: --tee needs two sinks\n", prog);
        usage(stderr, prog);
        return 2;
    }
    if (opt->tee)
        opt->sinks = 2;
    return -1;
}

static void print_value(void *arg, const char *name, int64_t value)
{
    (void)arg;
    printf("%s received: %" PRId64 "\n", name, value);
}

/* The square stage's function, counting its calls so the summary can show
 * how far the cancel let the pipeline run. */
static int64_t square_counted(void *arg, int64_t value)
{
    atomic_fetch_add((atomic_llong *)arg, 1);
    return value * value;
}

static void describe(const options_t *opt)
{
    printf("Pipeline: generate 0..%" PRId64 " -> square", opt->n - 1);
    if (opt->workers > 1)
        printf(" (%" PRId64 " goroutines, order not kept)", opt->workers);
    printf(" -> keep odd -> ");
    if (opt->sinks == 1)
        printf("Sink1\n");
    else if (opt->tee)
        printf("tee -> Sink1 and Sink2 (broadcast: both get every value)\n");
    else
        printf("Sink1 and Sink2 on one channel (they compete for the values)\n");
}

/* Builds the pipeline and starts the sinks. Returns 0 or the error. */
static int start(ctx_t *ctx, const options_t *opt, atomic_llong *squared, pipeline_sink_t sinks[2],
                 waitgroup_t *wg)
{
    chan_t *numbers = pipeline_generate(ctx, opt->n);
    chan_t *squares = opt->workers > 1
                          ? pipeline_parallel_map(ctx, numbers, "square", (int)opt->workers,
                                                  square_counted, squared)
                          : pipeline_map(ctx, numbers, "square", square_counted, squared);
    chan_t *odd = pipeline_keep_odd(ctx, squares);
    if (odd == NULL)
        return errno;

    if (opt->sinks == 1)
        return pipeline_sink_go(ctx, odd, &sinks[0], wg);

    chan_t *in1 = odd, *in2 = NULL;
    if (opt->tee) {
        int rc = pipeline_tee(ctx, odd, &in1, &in2);
        if (rc != 0)
            return rc;
    } else {
        in2 = chan_retain(odd); /* the second reader of the same channel */
    }
    int rc = pipeline_sink_go(ctx, in1, &sinks[0], wg);
    int rc2 = pipeline_sink_go(ctx, in2, &sinks[1], wg);
    return rc != 0 ? rc : rc2;
}

static void report(const options_t *opt, const pipeline_sink_t sinks[2], int64_t squared)
{
    for (int i = 0; i < opt->sinks; i++) {
        const pipeline_sink_t *s = &sinks[i];
        const char            *why = s->err != 0 ? "stopped by the cancel"
                                     : (s->take > 0 && s->received == s->take)
                                         ? "took what it wanted, canceled the pipeline"
                                         : "input closed";
        printf("%s finished: %" PRId64 " value%s, %s\n", s->name, s->received,
               s->received == 1 ? "" : "s", why);
    }
    int64_t odd_squares = opt->n / 2; /* i*i is odd exactly when i is */
    if (opt->sinks == 2 && !opt->tee)
        printf("Sinks together: %" PRId64 " + %" PRId64 " = %" PRId64 " of the %" PRId64
               " odd squares; each went to one sink\n",
               sinks[0].received, sinks[1].received, sinks[0].received + sinks[1].received,
               odd_squares);
    else if (opt->tee)
        printf("Tee: Sink1 got %" PRId64 ", Sink2 got %" PRId64 " of the %" PRId64 " odd squares\n",
               sinks[0].received, sinks[1].received, odd_squares);
    printf("Square stage handled %" PRId64 " of %" PRId64 " generated numbers\n", squared, opt->n);
}

/* ---------------------------------------------------------------- --leak */

/* The mistake: a consumer that stops early and walks away. main is the
 * sink here: it takes a few values and stops reading, WITHOUT canceling
 * the context (pipeline_sink_run cancels when it stops early; this does
 * not). Every stage upstream is then blocked for ever on a send nobody
 * will receive: the generator, square and keep odd are all leaked. */
static int run_leaky(ctx_t *ctx, const options_t *opt)
{
    int64_t take = opt->take > 0 ? opt->take : 3;
    printf("--leak: Sink1 (main) takes %" PRId64 " values, then stops reading WITHOUT canceling.\n",
           take);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, opt->n)));
    if (odd == NULL)
        return errno;
    int64_t received = 0, value;
    while (received < take) {
        trace_wait("receive");
        int rc = chan_recv(odd, &value);
        trace_end();
        if (rc != 0)
            break; /* the pipeline ran dry first: nothing will leak */
        received++;
        trace_begin("visit %" PRId64, value);
        print_value(NULL, "Sink1", value);
        time_sleep(opt->sink_ms * TIME_MILLISECOND);
        trace_end();
    }
    printf("Sink1 finished: %" PRId64 " value%s, and walked away (no ctx_cancel)\n", received,
           received == 1 ? "" : "s");
    chan_release(odd); /* letting go of a channel does not tell its sender anything */
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = cli_program_name(argc > 0 ? argv[0] : "05-pipeline");
    options_t   opt;
    int         status = parse_options(argc, argv, prog, &opt);
    if (status >= 0)
        return status;

    leak_snapshot_t snap = leak_snapshot();
    ctx_t          *ctx = ctx_with_cancel(NULL);
    if (ctx == NULL) {
        fprintf(stderr, "%s: cannot make a context: %s\n", prog, strerror(errno));
        return 1;
    }
    atomic_llong    squared = 0;
    pipeline_sink_t sinks[2];
    for (int i = 0; i < 2; i++)
        sinks[i] = (pipeline_sink_t){.name = i == 0 ? "Sink1" : "Sink2",
                                     .take = opt.take,
                                     .delay = opt.sink_ms * TIME_MILLISECOND,
                                     .visit = print_value};
    waitgroup_t wg;
    waitgroup_init(&wg);
    if (opt.timeline || opt.trace_path != NULL || opt.html_path != NULL)
        trace_enable();

    int rc = 0;
    if (opt.leak) {
        rc = run_leaky(ctx, &opt);
        if (rc != 0)
            fprintf(stderr, "%s: cannot start the pipeline: %s\n", prog, strerror(rc));
        status = rc != 0;
    } else {
        describe(&opt);
        rc = start(ctx, &opt, &squared, sinks, &wg);
        if (rc != 0) {
            fprintf(stderr, "%s: cannot start the pipeline: %s\n", prog, strerror(rc));
            status = 1;
            ctx_cancel(ctx); /* the shutdown signal for whatever did start */
        }
        trace_wait("wait for the sinks");
        waitgroup_wait(&wg);
        trace_end();
        if (rc == 0) {
            report(&opt, sinks, atomic_load(&squared));
            printf("Pipeline completed.\n");
        }
    }

    /* Go's `defer cancel()`: harmless after a full run, vital after an early
     * exit; the leak demo is the early exit that forgets it. */
    if (!opt.leak)
        ctx_cancel(ctx);
    ctx_release(ctx);
    waitgroup_destroy(&wg);

    fflush(stdout);
    if (trace_finish_outputs(prog, &(trace_outputs_t){opt.trace_path, opt.html_path,
                                                      opt.timeline ? stdout : NULL}) != 0)
        status = 1;
    if (leak_check(&snap, 0, stderr) != 0)
        return 1;
    printf("Clean shutdown: every goroutine returned, every allocation freed.\n");
    return status < 0 ? 0 : status;
}
