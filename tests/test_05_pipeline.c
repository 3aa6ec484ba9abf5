/*
 * test_05_pipeline.c - lesson 05: pipeline stages, early exit, backpressure,
 * competing and broadcast sinks, the parallel stage, and the program.
 *
 * Every test checks the values (each exactly once, in order where the stage
 * promises order) and the shutdown: support_end() fails the test if a stage
 * goroutine is still running or a channel or context was not freed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "05-pipeline/pipeline.h"
#include "common/alloc.h"
#include "common/go.h"
#include "tests/support/support.h"

/* ------------------------------------------------------------ helpers */

typedef struct {
    int64_t *values;
    size_t   len, cap;
} record_t;

static void record_init(record_t *r, size_t cap)
{
    r->values = calloc(cap ? cap : 1, sizeof *r->values);
    cr_assert_not_null(r->values);
    r->len = 0;
    r->cap = cap;
}

static void record_value(void *arg, const char *name, int64_t value)
{
    (void)name;
    record_t *r = arg;
    if (r->len < r->cap)
        r->values[r->len] = value;
    r->len++; /* counted even past cap, so an excess shows */
}

/* Asserts r holds exactly the odd squares of 0..n-1, in increasing order. */
static void assert_odd_squares_in_order(const record_t *r, int64_t n, const char *who)
{
    cr_assert_eq(r->len, (size_t)(n / 2), "%s: %zu values, expected %lld", who, r->len,
                 (long long)(n / 2));
    for (size_t k = 0; k < r->len; k++) {
        int64_t odd = 2 * (int64_t)k + 1;
        cr_assert_eq(r->values[k], odd * odd, "%s: value %zu is %lld, expected %lld", who, k,
                     (long long)r->values[k], (long long)(odd * odd));
    }
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Counts the values that pass, so a test can see how far upstream ran. */
static int64_t count_pass(void *arg, int64_t value)
{
    atomic_fetch_add((atomic_llong *)arg, 1);
    return value;
}

static ctx_t *new_ctx(void)
{
    ctx_t *ctx = ctx_with_cancel(NULL);
    cr_assert_not_null(ctx);
    return ctx;
}

static void end_ctx(ctx_t *ctx)
{
    ctx_cancel(ctx);
    ctx_release(ctx);
}

/* ------------------------------------------------------------ single sink */

Test(pipeline, single_sink_gets_the_odd_squares_in_order, .timeout = 20)
{
    support_begin();
    int64_t sizes[] = {10, 1, 2, 1001};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int64_t  n = sizes[i];
        ctx_t   *ctx = new_ctx();
        record_t got;
        record_init(&got, (size_t)n);
        pipeline_sink_t sink = {.name = "Sink1", .visit = record_value, .arg = &got};
        chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
        cr_assert_not_null(odd);
        cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0);
        cr_assert_eq(sink.err, 0, "the input should have been closed, not canceled");
        cr_assert_eq(sink.received, n / 2);
        assert_odd_squares_in_order(&got, n, "Sink1");
        cr_assert_eq(ctx_err(ctx), 0, "a full run must not cancel the context");
        free(got.values);
        end_ctx(ctx);
    }
    support_end();
}

Test(pipeline, empty_pipeline_closes_at_once, .timeout = 10)
{
    support_begin();
    ctx_t          *ctx = new_ctx();
    pipeline_sink_t sink = {.name = "Sink1"};
    chan_t         *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 0)));
    cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0);
    cr_assert_eq(sink.received, 0);
    end_ctx(ctx);
    support_end();
}

/* ------------------------------------------------------------ two sinks */

Test(pipeline, competing_sinks_share_every_value_once, .timeout = 20)
{
    support_begin();
    const int64_t   n = 2000;
    ctx_t          *ctx = new_ctx();
    record_t        got[2];
    pipeline_sink_t sinks[2];
    waitgroup_t     wg;
    waitgroup_init(&wg);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
    cr_assert_not_null(odd);
    for (int i = 0; i < 2; i++) {
        record_init(&got[i], (size_t)n);
        sinks[i] =
            (pipeline_sink_t){.name = i ? "Sink2" : "Sink1", .visit = record_value, .arg = &got[i]};
        /* Two readers of ONE channel: the article's two `range odds` loops. */
        cr_assert_eq(pipeline_sink_go(ctx, i ? odd : chan_retain(odd), &sinks[i], &wg), 0);
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);

    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sinks[i].err, 0, "Sink%d must finish because the channel closed", i + 1);
        cr_assert_eq((size_t)sinks[i].received, got[i].len);
        /* One channel is FIFO, so what each sink got is in sending order. */
        for (size_t k = 1; k < got[i].len; k++)
            cr_assert_lt(got[i].values[k - 1], got[i].values[k], "Sink%d out of order", i + 1);
    }
    cr_log_info("Sink1 got %zu values, Sink2 got %zu", got[0].len, got[1].len);

    /* The union is every odd square, and no value reached both. */
    record_t all;
    record_init(&all, (size_t)n);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < got[i].len; k++)
            record_value(&all, NULL, got[i].values[k]);
    qsort(all.values, all.len < all.cap ? all.len : all.cap, sizeof *all.values, compare_int64);
    assert_odd_squares_in_order(&all, n, "Sink1 + Sink2");

    free(all.values);
    free(got[0].values);
    free(got[1].values);
    end_ctx(ctx);
    support_end();
}

Test(pipeline, tee_gives_each_sink_every_value_in_order, .timeout = 20)
{
    support_begin();
    const int64_t   n = 400;
    ctx_t          *ctx = new_ctx();
    record_t        got[2];
    pipeline_sink_t sinks[2];
    waitgroup_t     wg;
    waitgroup_init(&wg);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
    chan_t *out[2];
    cr_assert_eq(pipeline_tee(ctx, odd, &out[0], &out[1]), 0);
    for (int i = 0; i < 2; i++) {
        record_init(&got[i], (size_t)n);
        /* Sink2 is slower, so the tee must wait for it without losing a value. */
        sinks[i] = (pipeline_sink_t){.name = i ? "Sink2" : "Sink1",
                                     .delay = i ? 20 * TIME_MICROSECOND : 0,
                                     .visit = record_value,
                                     .arg = &got[i]};
        cr_assert_eq(pipeline_sink_go(ctx, out[i], &sinks[i], &wg), 0);
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sinks[i].err, 0);
        assert_odd_squares_in_order(&got[i], n, i ? "Sink2" : "Sink1");
        free(got[i].values);
    }
    end_ctx(ctx);
    support_end();
}

Test(pipeline, tee_stops_when_canceled_even_if_no_one_reads, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = new_ctx();
    chan_t *a, *b;
    cr_assert_eq(pipeline_tee(ctx, pipeline_generate(ctx, 1000000), &a, &b), 0);
    int64_t value = -1;
    cr_assert_eq(chan_recv(a, &value), 0);
    cr_assert_eq(value, 0);
    /* b is never read: the tee is stuck on its second send until the cancel. */
    end_ctx(ctx);
    int64_t extra = 0;
    while (chan_recv(a, NULL) == 0)
        extra++;
    cr_assert_leq(extra, 1, "the tee went on sending %lld values after the cancel",
                  (long long)extra);
    chan_release(a);
    chan_release(b);
    support_end();
}

/* ------------------------------------------------------------ early exit */

Test(pipeline, take_cancels_and_every_stage_returns, .timeout = 20)
{
    support_begin();
    const int64_t take = 5, n = 1000000;
    ctx_t        *ctx = new_ctx();
    atomic_llong  generated = 0;
    record_t      got;
    record_init(&got, (size_t)take + 10);
    pipeline_sink_t sink = {.name = "Sink1", .take = take, .visit = record_value, .arg = &got};

    chan_t *numbers = pipeline_map(ctx, pipeline_generate(ctx, n), "count", count_pass, &generated);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, numbers));
    cr_assert_eq(pipeline_sink_run(ctx, odd, &sink), 0, "reaching take is a normal end");
    cr_assert_eq(sink.received, take);
    assert_odd_squares_in_order(&got, 2 * take, "Sink1");
    cr_assert_eq(ctx_err(ctx), ECANCELED, "the sink must cancel the context when it has enough");

    /* 2 * take numbers make take odd squares. Beyond those, each of the three
     * stages between the counter and the sink holds at most one value and may
     * finish one more operation after the cancel. */
    cr_assert_leq(atomic_load(&generated), 2 * take + 6, "upstream ran ahead: %lld numbers",
                  (long long)atomic_load(&generated));
    free(got.values);
    ctx_release(ctx);
    support_end(); /* every stage returned, though the generator had 999990 values left */
}

Test(pipeline, cancel_from_outside_closes_every_output, .timeout = 10)
{
    support_begin();
    ctx_t  *ctx = new_ctx();
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 1000000)));
    int64_t value;
    for (int64_t k = 0; k < 3; k++) {
        cr_assert_eq(chan_recv(odd, &value), 0);
        cr_assert_eq(value, (2 * k + 1) * (2 * k + 1));
    }
    ctx_cancel(ctx);
    /* A stage may finish the send it was blocked in; then it sees the cancel
     * before its next operation and closes its output. */
    int64_t extra = 0;
    while (chan_recv(odd, NULL) == 0)
        extra++;
    cr_assert_leq(extra, 1, "%lld values arrived after the cancel", (long long)extra);
    chan_release(odd);
    ctx_release(ctx);
    support_end();
}

Test(pipeline, walking_away_without_cancel_leaves_the_stages_blocked, .timeout = 10)
{
    support_begin();
    size_t  before = go_count();
    ctx_t  *ctx = new_ctx();
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, 1000000)));
    cr_assert_eq(chan_recv(odd, NULL), 0);
    chan_release(odd);
    /* The leak the cancel exists for: nothing can ever unblock these three... */
    cr_assert_eq(go_count(), before + 3);
    /* ...until the context is canceled. */
    end_ctx(ctx);
    support_end();
}

/* ------------------------------------------------------------ backpressure */

typedef struct {
    atomic_llong *generated;
    int64_t       seen;
    int64_t       max_ahead; /* most values past the count stage not yet at the sink */
    int64_t       allocations_at_start;
    int64_t       max_allocation_growth;
} pace_t;

static void check_pace(void *arg, const char *name, int64_t value)
{
    (void)name;
    (void)value;
    pace_t *p = arg;
    p->seen++;
    int64_t ahead = atomic_load(p->generated) - p->seen;
    if (ahead > p->max_ahead)
        p->max_ahead = ahead;
    int64_t growth = alloc_live() - p->allocations_at_start;
    if (growth > p->max_allocation_growth)
        p->max_allocation_growth = growth;
}

Test(pipeline, slow_sink_holds_the_whole_pipeline_back, .timeout = 20)
{
    support_begin();
    ctx_t       *ctx = new_ctx();
    atomic_llong generated = 0;
    chan_t      *numbers =
        pipeline_map(ctx, pipeline_generate(ctx, 1000000), "count", count_pass, &generated);
    chan_t         *squares = pipeline_square(ctx, numbers);
    pace_t          pace = {.generated = &generated, .allocations_at_start = alloc_live()};
    pipeline_sink_t sink = {.name = "slow",
                            .take = 60,
                            .delay = 200 * TIME_MICROSECOND,
                            .visit = check_pace,
                            .arg = &pace};
    cr_assert_eq(pipeline_sink_run(ctx, squares, &sink), 0);
    cr_assert_eq(sink.received, 60);
    cr_log_info("at most %lld values ahead of the sink", (long long)pace.max_ahead);
    /* Unbuffered links: while the sink handles value k, square holds k + 1
     * (its send waits for the sink) and count holds k + 2 (its send waits for
     * square). Nothing else can have passed the counter. */
    cr_assert_leq(pace.max_ahead, 2, "the stages buffered %lld values", (long long)pace.max_ahead);
    cr_assert_leq(pace.max_allocation_growth, 0, "the pipeline allocated while running");
    ctx_release(ctx);
    support_end();
}

/* ------------------------------------------------------------ parallel stage */

typedef struct {
    atomic_int active, max_active;
} crowd_t;

static int64_t square_in_a_crowd(void *arg, int64_t value)
{
    crowd_t *c = arg;
    int      now = atomic_fetch_add(&c->active, 1) + 1;
    int      max = atomic_load(&c->max_active);
    while (now > max && !atomic_compare_exchange_weak(&c->max_active, &max, now))
        ;
    if (value % 50 == 0)
        time_sleep(200 * TIME_MICROSECOND); /* a slow item lets the others overlap it */
    atomic_fetch_sub(&c->active, 1);
    return value * value;
}

Test(pipeline, parallel_stage_yields_every_value_exactly_once, .timeout = 20)
{
    support_begin();
    const int64_t n = 2000;
    const int     workers = 4;
    ctx_t        *ctx = new_ctx();
    crowd_t       crowd = {0, 0};
    record_t      got;
    record_init(&got, (size_t)n);
    pipeline_sink_t sink = {.name = "Sink1", .visit = record_value, .arg = &got};
    chan_t *squares = pipeline_parallel_map(ctx, pipeline_generate(ctx, n), "square", workers,
                                            square_in_a_crowd, &crowd);
    cr_assert_not_null(squares);
    cr_assert_eq(pipeline_sink_run(ctx, pipeline_keep_odd(ctx, squares), &sink), 0);
    cr_assert_eq(got.len, (size_t)(n / 2));
    qsort(got.values, got.len, sizeof *got.values, compare_int64);
    assert_odd_squares_in_order(&got, n, "after sorting");
    int max = atomic_load(&crowd.max_active);
    cr_log_info("at most %d squares at once", max);
    cr_assert_leq(max, workers, "more calls at once than workers");
    cr_assert_geq(max, 1);
    free(got.values);
    end_ctx(ctx);
    support_end();
}

Test(pipeline, parallel_stage_stops_on_take, .timeout = 10)
{
    support_begin();
    ctx_t          *ctx = new_ctx();
    crowd_t         crowd = {0, 0};
    pipeline_sink_t sink = {.name = "Sink1", .take = 10};
    chan_t *squares = pipeline_parallel_map(ctx, pipeline_generate(ctx, 1000000), "square", 8,
                                            square_in_a_crowd, &crowd);
    cr_assert_eq(pipeline_sink_run(ctx, squares, &sink), 0);
    cr_assert_eq(sink.received, 10);
    ctx_release(ctx);
    support_end(); /* all eight workers returned and the last one freed the crew */
}

/* ------------------------------------------------------------ misuse and failure */

Test(pipeline, bad_arguments_are_refused_without_leaks, .timeout = 10)
{
    support_begin();
    ctx_t *ctx = new_ctx();
    errno = 0;
    cr_assert_null(pipeline_generate(ctx, -1));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(pipeline_map(ctx, pipeline_generate(ctx, 3), "x", NULL, NULL));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(pipeline_filter(ctx, pipeline_generate(ctx, 3), "x", NULL, NULL));
    cr_assert_null(pipeline_parallel_map(ctx, pipeline_generate(ctx, 3), "x", 0, count_pass, NULL));
    cr_assert_null(
        pipeline_parallel_map(ctx, pipeline_generate(ctx, 3), "x", 65, count_pass, NULL));
    errno = ENOMEM; /* a NULL input passes the upstream failure on */
    cr_assert_null(pipeline_square(ctx, NULL));
    cr_assert_eq(errno, ENOMEM);
    chan_t *a = (chan_t *)1, *b = (chan_t *)1;
    cr_assert_eq(pipeline_tee(ctx, NULL, &a, &b), EINVAL);
    cr_assert_null(a);
    cr_assert_null(b);
    cr_assert_eq(pipeline_tee(ctx, pipeline_generate(ctx, 3), NULL, &b), EINVAL);
    cr_assert_eq(pipeline_sink_run(ctx, NULL, NULL), EINVAL);
    cr_assert_eq(pipeline_sink_run(ctx, pipeline_generate(ctx, 3), NULL), EINVAL);
    pipeline_sink_t sink = {.name = "Sink1"};
    cr_assert_eq(pipeline_sink_go(ctx, pipeline_generate(ctx, 3), &sink, NULL), EINVAL);
    /* The stages above were started and their outputs dropped: canceling ends them. */
    end_ctx(ctx);
    support_end();
}

Test(pipeline, allocation_failures_leak_nothing, .timeout = 30)
{
    support_begin();
    int          failures = 0;
    int64_t      completions = 0;
    atomic_llong counted = 0;
    for (int64_t allowed = 0; allowed < 40; allowed++) {
        ctx_t  *ctx = new_ctx();
        chan_t *a = NULL, *b = NULL;
        alloc_fail_after(allowed);
        chan_t *odd = pipeline_keep_odd(
            ctx, pipeline_parallel_map(ctx, pipeline_square(ctx, pipeline_generate(ctx, 20)),
                                       "count", 2, count_pass, &counted));
        int rc = pipeline_tee(ctx, odd, &a, &b);
        alloc_fail_reset();
        if (rc != 0) {
            cr_assert(rc == ENOMEM || rc == EAGAIN || rc == EINVAL, "unexpected error %d", rc);
            failures++;
        } else {
            /* A tee needs both outputs read at once: one goroutine per sink. */
            record_t        got[2];
            pipeline_sink_t sinks[2];
            waitgroup_t     wg;
            waitgroup_init(&wg);
            for (int i = 0; i < 2; i++) {
                record_init(&got[i], 20);
                sinks[i] = (pipeline_sink_t){.name = "Sink", .visit = record_value, .arg = &got[i]};
                cr_assert_eq(pipeline_sink_go(ctx, i ? b : a, &sinks[i], &wg), 0);
            }
            waitgroup_wait(&wg);
            waitgroup_destroy(&wg);
            for (int i = 0; i < 2; i++) {
                qsort(got[i].values, got[i].len, sizeof *got[i].values, compare_int64);
                assert_odd_squares_in_order(&got[i], 20, "after a survived failure");
                free(got[i].values);
            }
            completions++;
        }
        end_ctx(ctx); /* the shutdown signal for whatever stages had started */
    }
    cr_log_info("%d runs failed cleanly, %lld completed", failures, (long long)completions);
    cr_assert_gt(failures, 0, "fault injection never hit the pipeline");
    cr_assert_gt(completions, 0, "the pipeline never completed with enough memory");
    support_end();
}

/* ------------------------------------------------------------ the program */

/* The values printed as "<sink> received: V", in output order. */
static record_t values_of(const char *out, const char *sink)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s received: ", sink);
    record_t r;
    record_init(&r, count_lines_containing(out, prefix));
    for (const char *p = strstr(out, prefix); p != NULL; p = strstr(p + 1, prefix))
        record_value(&r, NULL, strtoll(p + strlen(prefix), NULL, 10));
    return r;
}

static void assert_clean_end(const run_result_t *r)
{
    const char *last = "Clean shutdown: every goroutine returned, every allocation freed.\n";
    size_t      out_len = strlen(r->out), last_len = strlen(last);
    cr_assert(out_len >= last_len && strcmp(r->out + out_len - last_len, last) == 0,
              "the output does not end with the clean-shutdown line:\n%s", r->out);
    cr_assert_eq(count_lines_containing(r->out, "Pipeline completed."), 1);
}

Test(program, single_sink_prints_the_odd_squares_in_order, .timeout = 30)
{
    support_begin();
    const char *const argv[] = {"--sinks", "1", "--n", "30", "--sink-ms", "0", NULL};
    run_result_t      r = run_program("05-pipeline", argv);
    cr_assert_eq(r.exit_code, 0, "exit %d, stderr:\n%s", r.exit_code, r.err);
    record_t got = values_of(r.out, "Sink1");
    assert_odd_squares_in_order(&got, 30, "Sink1");
    cr_assert_eq(count_lines_containing(r.out, "Sink2"), 0);
    cr_assert_eq(count_lines_containing(r.out, "Sink1 finished: 15 values, input closed"), 1);
    assert_clean_end(&r);
    free(got.values);
    run_result_free(&r);
    support_end();
}

Test(program, default_run_splits_the_values_between_two_sinks, .timeout = 30)
{
    support_begin();
    run_result_t r = run_program("05-pipeline", NULL);
    cr_assert_eq(r.exit_code, 0, "exit %d, stderr:\n%s", r.exit_code, r.err);
    record_t got[2] = {values_of(r.out, "Sink1"), values_of(r.out, "Sink2")};
    record_t all;
    record_init(&all, 10);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < got[i].len; k++)
            record_value(&all, NULL, got[i].values[k]);
    qsort(all.values, all.len < all.cap ? all.len : all.cap, sizeof *all.values, compare_int64);
    assert_odd_squares_in_order(&all, 10, "Sink1 + Sink2"); /* the article's n = 10 */
    cr_assert_eq(count_lines_containing(r.out, "Sinks together:"), 1);
    assert_clean_end(&r);
    for (int i = 0; i < 2; i++)
        free(got[i].values);
    free(all.values);
    run_result_free(&r);
    support_end();
}

Test(program, tee_prints_every_value_for_both_sinks, .timeout = 30)
{
    support_begin();
    const char *const argv[] = {"--tee", "--n", "40", "--sink-ms", "0", NULL};
    run_result_t      r = run_program("05-pipeline", argv);
    cr_assert_eq(r.exit_code, 0, "exit %d, stderr:\n%s", r.exit_code, r.err);
    for (int i = 0; i < 2; i++) {
        record_t got = values_of(r.out, i ? "Sink2" : "Sink1");
        assert_odd_squares_in_order(&got, 40, i ? "Sink2" : "Sink1");
        free(got.values);
    }
    assert_clean_end(&r);
    run_result_free(&r);
    support_end();
}

Test(program, take_stops_a_huge_pipeline_early, .timeout = 30)
{
    support_begin();
    const char *const argv[] = {"--sinks", "1",         "--take", "3", "--n",
                                "1000000", "--sink-ms", "0",      NULL};
    run_result_t      r = run_program("05-pipeline", argv);
    cr_assert_eq(r.exit_code, 0, "exit %d, stderr:\n%s", r.exit_code, r.err);
    record_t got = values_of(r.out, "Sink1");
    assert_odd_squares_in_order(&got, 6, "Sink1");
    cr_assert_eq(count_lines_containing(r.out, "canceled the pipeline"), 1);
    assert_clean_end(&r);
    free(got.values);
    run_result_free(&r);
    support_end();
}

Test(program, parallel_square_prints_every_value_once, .timeout = 30)
{
    support_begin();
    const char *const argv[] = {"--sinks", "1",         "--workers", "4", "--n",
                                "100",     "--sink-ms", "0",         NULL};
    run_result_t      r = run_program("05-pipeline", argv);
    cr_assert_eq(r.exit_code, 0, "exit %d, stderr:\n%s", r.exit_code, r.err);
    record_t got = values_of(r.out, "Sink1");
    qsort(got.values, got.len < got.cap ? got.len : got.cap, sizeof *got.values, compare_int64);
    assert_odd_squares_in_order(&got, 100, "Sink1 after sorting");
    assert_clean_end(&r);
    free(got.values);
    run_result_free(&r);
    support_end();
}

Test(program, bad_flags_exit_2_with_a_message, .timeout = 60)
{
    support_begin();
    const char *const cases[][5] = {
        {"--bogus", NULL},
        {"--n", "abc", NULL},
        {"--n", "0", NULL},
        {"--n", "-5", NULL},
        {"--n", "99999999999999999999", NULL},
        {"--take", "-1", NULL},
        {"--sinks", "3", NULL},
        {"--sinks", "0", NULL},
        {"--workers", "0", NULL},
        {"--sink-ms", "x1", NULL},
        {"--tee", "--sinks", "1", NULL},
        {"stray", NULL},
        {"--n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result_t r = run_program("05-pipeline", cases[i]);
        cr_assert_eq(r.exit_code, 2, "case %zu (%s): exit %d", i, cases[i][0], r.exit_code);
        cr_assert(strstr(r.err, "05-pipeline: ") == r.err, "case %zu: stderr:\n%s", i, r.err);
        cr_assert_not_null(strstr(r.err, "Usage:"), "case %zu: no usage on stderr", i);
        cr_assert_str_eq(r.out, "", "case %zu printed to stdout", i);
        run_result_free(&r);
    }
    support_end();
}

Test(program, help_prints_usage_and_exits_0, .timeout = 30)
{
    support_begin();
    const char *const argv[] = {"--help", NULL};
    run_result_t      r = run_program("05-pipeline", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert_not_null(strstr(r.out, "Usage: 05-pipeline"));
    cr_assert_not_null(strstr(r.out, "--tee"));
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
    support_end();
}
