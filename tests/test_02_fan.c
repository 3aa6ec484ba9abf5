/*
 * test_02_fan.c - lesson 02: fan-out and fan-in.
 *
 * Every test that merges drains the merged channel until it reports EPIPE.
 * That is the point of the lesson: if a worker or the merger forgot to close
 * its channel (the article's bug), the drain would block forever and the
 * test's .timeout would turn the hang into a failure. Every test then ends
 * with support_end(): every goroutine returned, every allocation freed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "02-fan-in-fan-out/fan.h"
#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"
#include "tests/support/support.h"

#define PROGRAM "02-fan-in-fan-out"

/* ------------------------------------------------------------ helpers */

/* A producer goroutine: sends values 1..count (seq 0..count-1) on `to`,
 * giving up when ctx is done; closes `to`; then reports how many it sent on
 * `report` (an int64_t channel of cap 1). */
typedef struct {
    ctx_t  *ctx;
    chan_t *to;
    chan_t *report;
    int64_t count;
} producer_t;

static void produce(void *arg)
{
    producer_t *p = arg;
    int64_t     sent = 0;
    chan_t     *done = p->ctx ? ctx_done(p->ctx) : NULL;
    for (; sent < p->count; sent++) {
        fan_item_t  item = {(uint64_t)sent, sent + 1};
        chan_case_t cases[2] = {chan_case_send(p->to, &item), chan_case_recv(done, NULL)};
        if (chan_select(cases, 2) != 0 || cases[0].err != 0)
            break;
    }
    chan_close(p->to);
    chan_send(p->report, &sent);
    chan_release(p->to);
    chan_release(p->report);
    ctx_release(p->ctx);
    goc_free(p);
}

/* Starts a producer on a new unbuffered channel; returns the channel and
 * stores the report channel in *report (both owned by the caller). */
static chan_t *start_producer(ctx_t *ctx, int64_t count, chan_t **report)
{
    chan_t     *to = fan_chan_make(0);
    producer_t *p = goc_malloc(sizeof *p);
    *report = chan_make(sizeof(int64_t), 1);
    cr_assert(to && p && *report, "out of memory");
    *p = (producer_t){ctx ? ctx_retain(ctx) : NULL, chan_retain(to), chan_retain(*report), count};
    cr_assert_eq(go_named("test producer", produce, p), 0);
    return to;
}

/* Waits for the producer's report and releases the report channel. */
static int64_t producer_sent(chan_t *report)
{
    int64_t sent = -1;
    cr_assert_eq(chan_recv(report, &sent), 0, "the producer never reported");
    chan_release(report);
    return sent;
}

/* Sleeps for d unless ctx is done first; returns 0 or ECANCELED. */
static int work_for(ctx_t *ctx, duration_t d)
{
    chan_t *timer = time_after(d);
    if (timer == NULL)
        return ENOMEM;
    chan_case_t cases[2] = {chan_case_recv(timer, NULL), chan_case_recv(ctx_done(ctx), NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0 ? 0 : ECANCELED;
}

static int square(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)ctx, (void)worker, (void)arg;
    *result = v * v;
    return 0;
}

/* Every seventh item takes 20 ms, the rest nothing: one worker lags. */
static int square_slow_on_sevens(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)worker, (void)arg;
    if (v % 7 == 0 && work_for(ctx, 20 * TIME_MILLISECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* 0 to 3 ms per item, so results finish out of order. */
static int square_jittery(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)worker, (void)arg;
    if (v % 4 != 0 && work_for(ctx, (v % 4) * TIME_MILLISECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* Drops the item whose value is *arg. */
static int square_dropping(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)ctx, (void)worker;
    if (v == *(const int64_t *)arg)
        return EINVAL;
    *result = v * v;
    return 0;
}

/* Work that would take 10 s: only cancellation ends it in time. */
static int stuck_until_canceled(ctx_t *ctx, size_t worker, int64_t v, int64_t *result, void *arg)
{
    (void)worker, (void)arg;
    if (work_for(ctx, 10 * TIME_SECOND) != 0)
        return ECANCELED;
    *result = v * v;
    return 0;
}

/* Starts a producer of `jobs` items, `workers` workers running fn, and a
 * merger; returns the merged channel. */
static chan_t *start_all(ctx_t *ctx, int64_t jobs, size_t workers, fan_fn_t fn, void *arg,
                         bool ordered, chan_t **report)
{
    chan_t *in = start_producer(ctx, jobs, report);
    chan_t *outs[16];
    cr_assert_leq(workers, 16);
    cr_assert_eq(fan_out(ctx, in, workers, fn, arg, outs), 0);
    chan_release(in);
    chan_t *merged = ordered ? fan_in_ordered(ctx, outs, workers) : fan_in(ctx, outs, workers);
    cr_assert_not_null(merged, "fan_in failed: %s", strerror(errno));
    for (size_t i = 0; i < workers; i++)
        chan_release(outs[i]);
    return merged;
}

/* Receives from merged until it is closed; asserts each seq 0..jobs-1
 * arrives at most once with value (seq+1)^2, in increasing order if
 * `ordered`. Returns how many arrived; `seen` (jobs entries) marks which. */
static int64_t drain(chan_t *merged, int64_t jobs, bool ordered, bool *seen)
{
    int64_t    got = 0;
    fan_item_t item;
    int64_t    last = -1;
    while (chan_recv(merged, &item) == 0) {
        cr_assert_lt(item.seq, (uint64_t)jobs, "unknown seq %" PRIu64, item.seq);
        int64_t v = (int64_t)item.seq + 1;
        cr_assert_eq(item.value, v * v, "seq %" PRIu64 ": got %" PRId64, item.seq, item.value);
        cr_assert_not(seen[item.seq], "seq %" PRIu64 " arrived twice", item.seq);
        if (ordered)
            cr_assert_gt((int64_t)item.seq, last, "seq %" PRIu64 " after %" PRId64, item.seq, last);
        seen[item.seq] = true;
        last = (int64_t)item.seq;
        got++;
    }
    /* closed stays closed */
    cr_assert_eq(chan_recv(merged, &item), EPIPE);
    return got;
}

/* ------------------------------------------------------------ the module */

static void every_square_once(bool ordered, fan_fn_t fn, int64_t jobs, size_t workers)
{
    support_begin();
    bool   *seen = calloc((size_t)jobs, sizeof *seen);
    chan_t *report;
    chan_t *merged = start_all(NULL, jobs, workers, fn, NULL, ordered, &report);
    cr_assert_eq(drain(merged, jobs, ordered, seen), jobs, "some results are missing");
    cr_assert_eq(producer_sent(report), jobs);
    chan_release(merged);
    free(seen);
    support_end();
}

Test(fan, merged_has_every_square_once_then_closes, .timeout = 10)
{
    every_square_once(false, square, 500, 4);
}

Test(fan, ordered_merge_delivers_in_input_order, .timeout = 10)
{
    every_square_once(true, square_jittery, 200, 5);
}

Test(fan, slow_items_still_yield_every_result, .timeout = 10)
{
    every_square_once(false, square_slow_on_sevens, 100, 3);
}

Test(fan, slow_items_ordered, .timeout = 10)
{
    every_square_once(true, square_slow_on_sevens, 100, 3);
}

Test(fan, single_worker, .timeout = 10)
{
    every_square_once(true, square, 50, 1);
}

Test(fan, ordered_merge_skips_a_dropped_item, .timeout = 10)
{
    support_begin();
    const int64_t jobs = 60, dropped = 5; /* value 5 is seq 4 */
    bool          seen[60] = {false};
    chan_t       *report;
    chan_t *merged = start_all(NULL, jobs, 4, square_dropping, (void *)&dropped, true, &report);
    cr_assert_eq(drain(merged, jobs, true, seen), jobs - 1);
    cr_assert_not(seen[dropped - 1], "the dropped item came out");
    cr_assert_eq(producer_sent(report), jobs);
    chan_release(merged);
    support_end();
}

/* The consumer takes k items and cancels, while the producer still has
 * thousands to send: producer, workers and merger are all blocked on sends.
 * If `keep_reading`, it reads on and the merged channel must close; if not,
 * nobody reads again (the classic leak) and they must return anyway. */
static void cancel_midway(bool ordered, bool keep_reading)
{
    support_begin();
    const int64_t jobs = 100000, k = 5;
    const size_t  workers = 4;
    bool         *seen = calloc((size_t)jobs, sizeof *seen);
    ctx_t        *ctx = ctx_with_cancel(NULL);
    chan_t       *report;
    chan_t       *merged = start_all(ctx, jobs, workers, square, NULL, ordered, &report);

    fan_item_t item;
    for (int64_t i = 0; i < k; i++)
        cr_assert_eq(chan_recv(merged, &item), 0);
    ctx_cancel(ctx);
    if (keep_reading)
        cr_assert_lt(drain(merged, jobs, ordered, seen), jobs);
    chan_release(merged);
    ctx_release(ctx);

    /* Backpressure bounds what was taken from the producer: k read, at most
     * one item per worker and `workers` in the merger held when canceled,
     * and at most one more per worker racing the cancellation. */
    int64_t sent = producer_sent(report);
    cr_assert_geq(sent, k);
    cr_assert_leq(sent, k + 3 * (int64_t)workers + 1, "the producer sent %" PRId64, sent);
    free(seen);
    support_end();
}

Test(fan, cancel_with_no_reader_left_stops_everything, .timeout = 10)
{
    cancel_midway(false, false);
}

Test(fan, cancel_with_no_reader_left_stops_everything_ordered, .timeout = 10)
{
    cancel_midway(true, false);
}

Test(fan, cancel_closes_the_merged_channel, .timeout = 10)
{
    cancel_midway(false, true);
}

Test(fan, cancel_closes_the_merged_channel_ordered, .timeout = 10)
{
    cancel_midway(true, true);
}

Test(fan, cancel_interrupts_long_work_promptly, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = ctx_with_cancel(NULL);
    chan_t *report;
    chan_t *merged = start_all(ctx, 1000, 3, stuck_until_canceled, NULL, false, &report);
    int64_t start = time_now();
    ctx_cancel(ctx);
    fan_item_t item;
    cr_assert_eq(chan_recv(merged, &item), EPIPE, "a result of canceled work came out");
    cr_assert_lt(time_now() - start, 2 * TIME_SECOND, "cancellation took too long");
    chan_release(merged);
    ctx_release(ctx);
    cr_assert_leq(producer_sent(report), 3 + 3); /* one per worker, one more per worker racing */
    support_end();
}

Test(fan, fan_in_of_no_channels_closes_at_once, .timeout = 10)
{
    support_begin();
    for (int ordered = 0; ordered <= 1; ordered++) {
        chan_t *merged = ordered ? fan_in_ordered(NULL, NULL, 0) : fan_in(NULL, NULL, 0);
        cr_assert_not_null(merged);
        cr_assert_eq(chan_recv(merged, NULL), EPIPE);
        chan_release(merged);
    }
    support_end();
}

/* A feeder sends the given seqs (value (seq+1)^2, as if already worked on)
 * with a pause before each, then closes its channel. */
typedef struct {
    chan_t         *to;
    const uint64_t *seqs;
    size_t          count;
    duration_t      pause;
} feeder_t;

static void feed(void *arg)
{
    feeder_t *f = arg;
    for (size_t i = 0; i < f->count; i++) {
        time_sleep(f->pause); /* simulated work: this is the sender being slow */
        int64_t    v = (int64_t)f->seqs[i] + 1;
        fan_item_t item = {f->seqs[i], v * v};
        if (chan_send(f->to, &item) != 0)
            break;
    }
    chan_close(f->to);
    chan_release(f->to);
}

static void inputs_closing_at_different_times(bool ordered)
{
    support_begin();
    /* Each input in increasing order; together 0..12. Input 0 closes at once,
     * input 1 after three quick items, input 2 after ten slow ones. */
    static const uint64_t quick[] = {0, 2, 4};
    static const uint64_t slow[] = {1, 3, 5, 6, 7, 8, 9, 10, 11, 12};
    feeder_t              feeders[3] = {
                     {NULL, NULL, 0, 0},
                     {NULL, quick, 3, 0},
                     {NULL, slow, 10, 2 * TIME_MILLISECOND},
    };
    chan_t *inputs[3];
    for (int i = 0; i < 3; i++) {
        inputs[i] = fan_chan_make(0);
        feeders[i].to = chan_retain(inputs[i]);
    }
    chan_t *merged = ordered ? fan_in_ordered(NULL, inputs, 3) : fan_in(NULL, inputs, 3);
    cr_assert_not_null(merged);
    for (int i = 0; i < 3; i++) {
        chan_release(inputs[i]);
        cr_assert_eq(go_named("test feeder", feed, &feeders[i]), 0);
    }
    bool seen[13] = {false};
    cr_assert_eq(drain(merged, 13, ordered, seen), 13, "merged closed before its last input");
    chan_release(merged);
    support_end(); /* also waits for the feeders, which use `feeders` */
}

Test(fan, inputs_closing_at_different_times, .timeout = 10)
{
    inputs_closing_at_different_times(false);
}

Test(fan, inputs_closing_at_different_times_ordered, .timeout = 10)
{
    inputs_closing_at_different_times(true);
}

Test(fan, bad_arguments_are_refused, .timeout = 10)
{
    support_begin();
    chan_t *in = fan_chan_make(0);
    chan_t *outs[2] = {NULL, NULL};
    cr_assert_eq(fan_out(NULL, NULL, 2, square, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 0, square, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 2, NULL, NULL, outs), EINVAL);
    cr_assert_eq(fan_out(NULL, in, 2, square, NULL, NULL), EINVAL);
    cr_assert_null(outs[0]);
    errno = 0;
    cr_assert_null(fan_in(NULL, NULL, 2));
    cr_assert_eq(errno, EINVAL);
    chan_t *with_null[2] = {in, NULL};
    errno = 0;
    cr_assert_null(fan_in_ordered(NULL, with_null, 2));
    cr_assert_eq(errno, EINVAL);
    chan_release(in);
    support_end();
}

/* Whatever allocation fails, fan_out and fan_in report ENOMEM and leave
 * nothing behind; once allocation works, the group runs to completion. */
Test(fan, out_of_memory_leaves_nothing_behind, .timeout = 10)
{
    support_begin();
    int failures = 0;
    for (int64_t fail_at = 0;; fail_at++) {
        cr_assert_lt(fail_at, 1000, "never succeeded");
        chan_t *in = fan_chan_make(0);
        chan_t *outs[3];
        chan_t *merged = NULL;
        cr_assert_not_null(in);
        alloc_fail_after(fail_at);
        int err = fan_out(NULL, in, 3, square, NULL, outs);
        if (err == 0) {
            merged = fan_in_ordered(NULL, outs, 3);
            err = merged ? 0 : errno;
            for (int i = 0; i < 3; i++)
                chan_release(outs[i]);
        }
        alloc_fail_reset();
        chan_close(in); /* no jobs: the workers and the merger finish at once */
        chan_release(in);
        if (err != 0) {
            cr_assert(err == ENOMEM || err == EAGAIN, "unexpected error %d", err);
            failures++;
            continue;
        }
        cr_assert_eq(chan_recv(merged, NULL), EPIPE);
        chan_release(merged);
        break;
    }
    cr_assert_gt(failures, 0, "no allocation was ever failed");
    support_end();
}

/* ------------------------------------------------------------ the program */

typedef struct {
    int     processed[1001]; /* per job */
    int     results[1001];   /* per job, value checked */
    int64_t order[1001];     /* jobs in the order their results were printed */
    int     nresults;
    size_t  max_worker;
} transcript_t;

/* Parses the program's stdout, asserting every line is one it should print. */
static void parse_transcript(const char *out, int64_t jobs, transcript_t *t)
{
    memset(t, 0, sizeof *t);
    char *copy = strdup(out), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t  worker;
        int64_t job, value;
        int     end = -1;
        if (sscanf(line, "Worker %zu processing job %" SCNd64 "%n", &worker, &job, &end) == 2 &&
            line[end] == '\0') {
            cr_assert(job >= 1 && job <= jobs, "bad job in: %s", line);
            t->processed[job]++;
            if (worker > t->max_worker)
                t->max_worker = worker;
        } else if (sscanf(line, "Result: %" SCNd64 " (job %" SCNd64 ")%n", &value, &job, &end) ==
                       2 &&
                   line[end] == '\0') {
            cr_assert(job >= 1 && job <= jobs, "bad job in: %s", line);
            cr_assert_eq(value, job * job, "wrong square in: %s", line);
            t->results[job]++;
            t->order[t->nresults++] = job;
        } else {
            cr_assert(strncmp(line, "Fan-out: ", 9) == 0 ||
                          strcmp(line, "Collecting results...") == 0 ||
                          strcmp(line, "All workers finished.") == 0 ||
                          strncmp(line, "Clean shutdown: ", 16) == 0,
                      "unexpected line: %s", line);
        }
    }
    free(copy);
}

static void assert_clean_run(run_result_t *r, int64_t jobs, size_t workers, transcript_t *t)
{
    cr_assert_eq(r->exit_code, 0, "exit %d, stderr:\n%s", r->exit_code, r->err);
    parse_transcript(r->out, jobs, t);
    for (int64_t j = 1; j <= jobs; j++) {
        cr_assert_eq(t->processed[j], 1, "job %" PRId64 " processed %d times", j, t->processed[j]);
        cr_assert_eq(t->results[j], 1, "job %" PRId64 " has %d results", j, t->results[j]);
    }
    cr_assert_eq(t->nresults, jobs);
    cr_assert_leq(t->max_worker, workers);
    cr_assert_eq(count_lines_containing(r->out, "All workers finished."), 1);
    /* the program prints the clean-shutdown line last */
    const char *clean = "Clean shutdown: every goroutine returned, every allocation freed.\n";
    size_t      len = strlen(r->out), clen = strlen(clean);
    cr_assert(len >= clen && strcmp(r->out + len - clen, clean) == 0, "last line is not clean:\n%s",
              r->out);
}

Test(program, merges_every_result_then_shuts_down_clean, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "4", "--jobs", "40", "--work-ms", "1", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    transcript_t t;
    assert_clean_run(&r, 40, 4, &t);
    run_result_free(&r);
    support_end();
}

Test(program, ordered_prints_results_in_job_order, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--ordered", "-w", "5", "-j", "30", "-m", "2", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    transcript_t t;
    assert_clean_run(&r, 30, 5, &t);
    for (int i = 0; i < t.nresults; i++)
        cr_assert_eq(t.order[i], i + 1, "result %d is job %" PRId64, i + 1, t.order[i]);
    run_result_free(&r);
    support_end();
}

Test(program, defaults_are_the_articles_numbers, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {NULL};
    int64_t      start = time_now();
    run_result_t r = run_program(PROGRAM, argv);
    int64_t      took = time_now() - start;
    transcript_t t;
    assert_clean_run(&r, 10, 3, &t);
    /* 10 jobs of 250 ms on 3 workers: some worker does 4 of them */
    cr_assert_geq(took, 950 * TIME_MILLISECOND, "took only %" PRId64 " ms", took / 1000000);
    cr_assert_lt(took, 10 * TIME_SECOND);
    run_result_free(&r);
    support_end();
}

/* Bad input: exit 2, "<prog>: <what was wrong>" then the usage on stderr,
 * nothing on stdout. One test per case, so each stays short under valgrind. */
static void assert_refused(const char *const argv[])
{
    support_begin();
    run_result_t r = run_program(PROGRAM, argv);
    cr_assert_eq(r.exit_code, 2, "%s %s: exit %d", argv[0], argv[1] ? argv[1] : "", r.exit_code);
    cr_assert(strncmp(r.err, PROGRAM ": ", strlen(PROGRAM) + 2) == 0,
              "%s: no message first on stderr:\n%s", argv[0], r.err);
    cr_assert_not_null(strstr(r.err, "Usage:"), "%s: no usage on stderr", argv[0]);
    cr_assert_str_eq(r.out, "", "%s: wrote to stdout", argv[0]);
    run_result_free(&r);
    support_end();
}

#define REFUSES(name, ...)                                                                         \
    Test(program, refuses_##name, .timeout = 60)                                                   \
    {                                                                                              \
        const char *const argv[] = {__VA_ARGS__, NULL};                                            \
        assert_refused(argv);                                                                      \
    }

REFUSES(unknown_long_flag, "--bogus")
REFUSES(unknown_short_flag, "-x")
REFUSES(non_number, "--workers", "abc")
REFUSES(zero_workers, "--workers", "0")
REFUSES(negative_jobs, "--jobs", "-3")
REFUSES(overflow, "--jobs", "99999999999999999999")
REFUSES(negative_work, "--work-ms", "-1")
REFUSES(trailing_junk, "--work-ms", "12ms")
REFUSES(missing_value, "--workers")
REFUSES(surplus_argument, "surplus")

Test(program, help_prints_usage_and_exits_0, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--help", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert_not_null(strstr(r.out, "Usage:"));
    cr_assert_not_null(strstr(r.out, "--ordered"));
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
    support_end();
}
