/*
 * test_common_trace.c - common/trace.h: spans per goroutine, the Chrome
 * trace JSON (parsed back with tests/support/trace_check.h), the ASCII
 * timeline, and the promise that tracing off costs nothing.
 *
 * Every test leaves tracing off and empty (trace_reset) so that, in the TSan
 * build where all tests share one process, none sees another's spans.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/go.h"
#include "common/leak.h"
#include "common/sync.h"
#include "common/timer.h"
#include "common/trace.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

/* A goroutine that records `tasks` tasks: "wait for task" (waiting), then
 * "task N" (busy) with a nested "send result N" (waiting) inside. */
struct recorder {
    int         first_task, tasks;
    waitgroup_t done;
};

static void record_tasks(void *arg)
{
    struct recorder *r = arg;
    for (int id = r->first_task; id < r->first_task + r->tasks; id++) {
        trace_wait("wait for task");
        time_sleep(100 * TIME_MICROSECOND);
        trace_end();
        /* Ten times longer than the wait, so that each worker's row shows
         * it busy even where a slow run (valgrind) stretches every wait. */
        trace_begin("task %d", id);
        time_sleep(TIME_MILLISECOND);
        trace_wait("send result %d", id);
        trace_end();
        trace_end();
    }
    waitgroup_done(&r->done);
}

/* Runs `workers` goroutines "worker 1".. with tasks_each tasks each,
 * numbered 1..workers*tasks_each, and waits for them. */
static void run_workers(int workers, int tasks_each)
{
    struct recorder r[8];
    cr_assert_leq(workers, 8);
    for (int i = 0; i < workers; i++) {
        r[i] = (struct recorder){.first_task = 1 + i * tasks_each, .tasks = tasks_each};
        waitgroup_init(&r[i].done);
        waitgroup_add(&r[i].done, 1);
        char name[32];
        snprintf(name, sizeof name, "worker %d", i + 1);
        cr_assert_eq(go_named(name, record_tasks, &r[i]), 0);
    }
    for (int i = 0; i < workers; i++) {
        waitgroup_wait(&r[i].done);
        waitgroup_destroy(&r[i].done);
    }
}

/* The JSON as text, from trace_write_json_to on a memory stream. */
static char *json_text(void)
{
    char *text = tc_capture(trace_write_json_to);
    cr_assert_not_null(text, "trace_write_json_to failed");
    return text;
}

static char *timeline_text(int width)
{
    char  *text = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    trace_print_timeline(out, width);
    fclose(out);
    return text;
}

static int evaluated;

static int count_evaluation(void)
{
    return ++evaluated;
}

static void record_while_off(void *arg)
{
    waitgroup_t *done = arg;
    for (int i = 0; i < 1000; i++) {
        trace_begin("task %d", count_evaluation());
        trace_wait("nested");
        trace_end();
        trace_end();
        trace_thread_name("renamed");
    }
    waitgroup_done(done);
}

Test(trace, off_records_nothing_and_allocates_nothing, .timeout = 10)
{
    support_begin();
    trace_reset();
    cr_assert_not(trace_enabled());
    /* Only live threads keep (empty) buffers after a reset: this one, if an
     * earlier test in the same process traced on it. */
    trace_stats_t before = trace_stats();
    evaluated = 0;
    waitgroup_t done;
    waitgroup_init(&done);
    waitgroup_add(&done, 2);
    cr_assert_eq(go_named("quiet", record_while_off, &done), 0);
    record_while_off(&done);
    waitgroup_wait(&done);
    waitgroup_destroy(&done);

    trace_stats_t stats = trace_stats();
    cr_assert_eq(evaluated, 0, "arguments were evaluated %d times with tracing off", evaluated);
    cr_assert_leq(stats.buffers, before.buffers, "a buffer was made with tracing off");
    cr_assert_leq(stats.bytes, before.bytes);
    cr_assert_eq(stats.spans, 0);
    cr_assert_eq(trace_finish("test", "/nonexistent/never-written.json", stdout), 0);
    cr_assert_eq(access("/nonexistent/never-written.json", F_OK), -1);
    support_end();
}

Test(trace, json_is_valid_with_one_span_per_task_on_named_tracks, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    cr_assert(trace_enabled());
    run_workers(3, 4);
    char *text = json_text();

    tc_trace_t t;
    cr_assert(tc_parse(text, &t), "invalid JSON (%s at byte %zu):\n%s", t.error, t.error_at, text);
    for (int id = 1; id <= 12; id++) {
        char name[32];
        snprintf(name, sizeof name, "task %d", id);
        cr_assert_eq(tc_count(&t, "X", name), 1, "%s: not exactly one span", name);
        const tc_event_t *e = tc_find(&t, "X", name);
        cr_assert_str_eq(e->cat, "busy");
        cr_assert(e->ts >= 0 && e->dur >= 250, "%s: ts %f dur %f", name, e->ts, e->dur);
        char worker[32];
        snprintf(worker, sizeof worker, "worker %d", (id - 1) / 4 + 1);
        cr_assert_str_eq(tc_track_of(&t, e->tid), worker, "%s on the wrong track", name);
        if (strcmp(go_runtime(), "mn") == 0) /* which worker ran it: a number, or "several" */
            cr_assert(e->worker >= 0 || e->worker == -2, "%s: worker %ld", name, e->worker);
        else
            cr_assert_eq(e->worker, -1, "%s: a worker under the thread runtime", name);
        snprintf(name, sizeof name, "send result %d", id);
        cr_assert_eq(tc_count(&t, "X", name), 1);
        cr_assert_str_eq(tc_find(&t, "X", name)->cat, "wait");
    }
    /* 12 tasks x (wait + task + send) and nothing else: main recorded nothing. */
    cr_assert_eq(tc_count(&t, "X", NULL), 36);
    cr_assert_eq(tc_count(&t, "X", "wait for task"), 12);
    cr_assert_eq(tc_count(&t, "M", "thread_name"), 3, "one track per goroutine");
    cr_assert_eq(tc_count(&t, "M", "process_name"), 1);
    for (int w = 1; w <= 3; w++) {
        char worker[32];
        snprintf(worker, sizeof worker, "worker %d", w);
        cr_assert_neq(tc_tid_of(&t, worker), -1, "no track named %s", worker);
    }
    tc_free(&t);
    free(text);

    trace_stats_t stats = trace_stats();
    cr_assert_eq(stats.threads, 3);
    cr_assert_eq(stats.spans, 36);
    cr_assert_eq(stats.open, 0);
    cr_assert_eq(stats.dropped, 0);
    trace_reset();
    support_end();
}

Test(trace, names_are_escaped_and_open_spans_written, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    trace_thread_name("main thread with a long name");
    trace_begin("quote \" backslash \\ newline \n tab \t");
    trace_end();
    trace_wait("still open");
    char      *text = json_text();
    tc_trace_t t;
    cr_assert(tc_parse(text, &t), "invalid JSON (%s at byte %zu):\n%s", t.error, t.error_at, text);
    cr_assert_eq(tc_count(&t, "X", "quote \" backslash \\ newline \n tab \t"), 1);
    const tc_event_t *open = tc_find(&t, "X", "still open");
    cr_assert_not_null(open);
    cr_assert(open->open, "an open span is marked open");
    cr_assert_str_eq(open->cat, "wait");
    cr_assert_neq(tc_tid_of(&t, "main thread with a long name"), -1);
    tc_free(&t);
    free(text);
    cr_assert_eq(trace_stats().open, 1);
    trace_end();
    cr_assert_eq(trace_stats().open, 0);
    trace_reset();
    support_end();
}

Test(trace, nesting_deeper_than_the_limit_is_dropped_not_mismatched, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    for (int depth = 0; depth < TRACE_MAX_DEPTH + 3; depth++)
        trace_begin("level %d", depth);
    for (int depth = 0; depth < TRACE_MAX_DEPTH + 3; depth++)
        trace_end();
    trace_end(); /* one too many: ignored */
    trace_begin("after");
    trace_end();
    trace_stats_t stats = trace_stats();
    cr_assert_eq(stats.dropped, 3);
    cr_assert_eq(stats.spans, TRACE_MAX_DEPTH + 1);
    cr_assert_eq(stats.open, 0);

    char      *text = json_text();
    tc_trace_t t;
    cr_assert(tc_parse(text, &t), "invalid JSON: %s", t.error);
    const tc_event_t *outer = tc_find(&t, "X", "level 0");
    const tc_event_t *inner = tc_find(&t, "X", "level 7");
    cr_assert(outer && inner && !tc_find(&t, "X", "level 8"));
    cr_assert(outer->ts <= inner->ts && inner->ts + inner->dur <= outer->ts + outer->dur + 0.001,
              "the inner span lies within the outer one");
    tc_free(&t);
    free(text);
    trace_reset();
    support_end();
}

Test(trace, a_full_buffer_drops_and_counts, .timeout = 30)
{
    support_begin();
    trace_reset();
    trace_enable();
    for (int i = 0; i < TRACE_MAX_SPANS + 10; i++) {
        trace_begin("s");
        trace_end();
    }
    trace_stats_t stats = trace_stats();
    cr_assert_eq(stats.spans, TRACE_MAX_SPANS);
    cr_assert_eq(stats.dropped, 10);
    char *text = timeline_text(100);
    cr_assert(strstr(text, "10 spans dropped"), "%s", text);
    free(text);
    trace_reset();
    stats = trace_stats();
    cr_assert_eq(stats.spans, 0);
    cr_assert_eq(stats.dropped, 0);
    support_end();
}

Test(trace, timeline_has_a_row_per_goroutine_within_the_width, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    trace_wait("wait for workers");
    run_workers(3, 3);
    trace_end();

    int widths[] = {0, 100, 60, 80};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int   width = widths[i] ? widths[i] : 100;
        char *text = timeline_text(widths[i]);
        cr_assert_leq(tc_longest_line(text), (size_t)width, "wider than %d:\n%s", width, text);
        cr_assert_eq(tc_row_count(text), 4, "rows:\n%s", text);
        for (int w = 1; w <= 3; w++) {
            char worker[32];
            snprintf(worker, sizeof worker, "worker %d", w);
            const char *row = tc_row(text, worker);
            cr_assert_not_null(row, "no row for %s:\n%s", worker, text);
            cr_assert_gt(tc_bar_count(row, '#'), 0, "%s never busy:\n%s", worker, text);
            cr_assert_eq(tc_row_end(row), '|');
        }
        const char *main_row = tc_row(text, "main");
        cr_assert_not_null(main_row, "%s", text);
        cr_assert_gt(tc_bar_count(main_row, '.'), 0, "main waited:\n%s", text);
        cr_assert_eq(tc_bar_count(main_row, '#'), 0, "main never worked:\n%s", text);
        cr_assert(strstr(text, "# busy") && strstr(text, ". waiting"), "no legend:\n%s", text);
        free(text);
    }
    trace_reset();
    support_end();
}

static void block_forever_ish(void *arg)
{
    chan_t *never = arg;
    trace_wait("wait for a value");
    chan_recv(never, NULL); /* until the test closes it */
    trace_end();
    chan_release(never);
}

Test(trace, timeline_marks_a_goroutine_still_in_a_span, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    chan_t *never = chan_make(0, 0);
    trace_begin("main works");
    cr_assert_eq(go_named("stuck", block_forever_ish, chan_retain(never)), 0);
    /* Its span is open once its track exists: wait for that, not a time. */
    while (trace_stats().open < 2)
        time_sleep(TIME_MILLISECOND);
    trace_end();
    char       *text = timeline_text(100);
    const char *row = tc_row(text, "stuck");
    cr_assert_not_null(row, "%s", text);
    cr_assert_eq(tc_row_end(row), '>', "a goroutine inside a span is marked:\n%s", text);
    cr_assert_gt(tc_bar_count(row, '.'), 0, "%s", text);
    cr_assert_eq(tc_row_end(tc_row(text, "main")), '|', "%s", text);
    free(text);
    chan_close(never);
    chan_release(never);
    trace_reset();
    support_end();
}

Test(trace, write_json_to_a_file_and_report_a_bad_path, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    trace_begin("task 1");
    trace_end();
    char path[64];
    support_temp_file(path, sizeof path);
    cr_assert_eq(trace_write_json(path), 0);
    char *text = tc_read_file(path);
    cr_assert_not_null(text);
    tc_trace_t t;
    cr_assert(tc_parse(text, &t), "invalid JSON: %s", t.error);
    cr_assert_eq(tc_count(&t, "X", "task 1"), 1);
    tc_free(&t);
    free(text);
    unlink(path);
    cr_assert_eq(trace_write_json("/nonexistent/dir/trace.json"), ENOENT);
    trace_reset();
    support_end();
}

/* Records spans in bursts until told to stop, at most 4000 (so that the
 * JSON the test parses meanwhile stays small, even under TSan). */
static void hammer(void *arg)
{
    atomic_bool *stop = arg;
    for (int i = 0; !atomic_load(stop); i++) {
        if (i < 4000) {
            trace_begin("span %d", i);
            trace_wait("inner");
            trace_end();
            trace_end();
        }
        if (i % 50 == 49)
            time_sleep(TIME_MILLISECOND);
    }
}

Test(trace, readers_and_reset_race_with_recording_goroutines, .timeout = 30)
{
    support_begin();
    trace_reset();
    trace_enable();
    atomic_bool stop = false;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(go_named("hammer", hammer, &stop), 0);
    for (int round = 0; round < 20; round++) {
        char *text = round % 2 ? timeline_text(100) : json_text();
        if (round % 2 == 0) {
            tc_trace_t t;
            cr_assert(tc_parse(text, &t), "round %d: invalid JSON: %s", round, t.error);
            tc_free(&t);
        }
        free(text);
        (void)trace_stats();
        if (round % 5 == 4) {
            trace_reset();
            trace_enable();
        }
    }
    atomic_store(&stop, true); /* support_end waits for the hammers to return */
    trace_reset();
    support_end();
}

Test(trace, reset_frees_the_buffers_of_threads_that_exited, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    run_workers(4, 1);
    trace_reset();
    /* The workers' threads leave a moment after their functions return;
     * their buffers go at the first reset after that. */
    /* At most this thread's buffer may stay (it never traced here, but an
     * earlier test in the same process may have). */
    size_t buffers = 0;
    for (int i = 0; i < 2000; i++) {
        trace_reset();
        buffers = trace_stats().buffers;
        if (buffers <= 1)
            break;
        time_sleep(TIME_MILLISECOND);
    }
    cr_assert_leq(buffers, 1, "%zu buffers kept after every worker exited", buffers);
    support_end();
}

Test(trace, finish_writes_the_timeline_and_the_file_then_resets, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    trace_begin("task 1");
    trace_end();
    char path[64];
    support_temp_file(path, sizeof path);
    char  *text = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&text, &size);
    cr_assert_eq(trace_finish("test", path, out), 0);
    fclose(out);
    cr_assert(strstr(text, "Timeline: 1 goroutine over") != NULL, "%s", text);
    cr_assert_not_null(tc_row(text, "main"), "%s", text);
    free(text);
    cr_assert_not(trace_enabled(), "finish resets");
    char      *json = tc_read_file(path);
    tc_trace_t t;
    cr_assert(json && tc_parse(json, &t), "invalid JSON");
    cr_assert_eq(tc_count(&t, "X", "task 1"), 1);
    tc_free(&t);
    free(json);
    unlink(path);
    support_end();
}
