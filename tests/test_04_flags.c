/*
 * test_04_flags.c - lesson 04's --trace, --html, --timeline and --leak, end to end:
 * the trace is valid JSON with one span per task (examples, workers and
 * sub-tasks) on that task's own track; the timeline has a row per goroutine
 * within 100 columns; the leak demo (a context never canceled, a timer
 * never released) is caught, naming the watcher and the pending timer; a
 * traced run is still clean. What every lesson's flags promise is checked
 * by tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "04-context"

/* Every task of the four examples, and the goroutine each runs on. */
static const char *const task_tracks[][2] = {
    {"task 1", "task 1"},       {"task 2", "task 2"},       {"task 10", "worker 1"},
    {"task 11", "sub-task 11"}, {"task 20", "worker 2"},    {"task 21", "sub-task 21"},
    {"task 30", "worker 3"},    {"task 31", "sub-task 31"}, {"task 4", "task 4"},
};

Test(flags, trace_has_one_span_per_task_on_its_goroutine, .timeout = 60)
{
    support_begin();
    /* Cancels and timeouts of 150 ms: every goroutine has started its task
     * by then, even where threads start slowly (valgrind), so each task
     * records its span. */
    const char  *argv[] = {"--task-ms", "500", "--cancel-after-ms", "150", "--timeout-ms",
                           "150",       NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    for (size_t i = 0; i < sizeof task_tracks / sizeof task_tracks[0]; i++) {
        const char *task = task_tracks[i][0], *track = task_tracks[i][1];
        cr_assert_eq(tc_count(t, "X", task), 1, "%s: not exactly one span", task);
        cr_assert_str_eq(tc_track_of(t, tc_find(t, "X", task)->tid), track, "%s", task);
        cr_assert_str_eq(tc_find(t, "X", task)->cat, "busy");
    }
    /* ...and the core's timer thread, which fires the deadlines and the
     * time_after ticks: it cancels and hands over, so it has a track. */
    cr_assert_eq(tc_count(t, "M", "thread_name"), 11, "main, nine goroutines and the timer");
    cr_assert_neq(tc_tid_of(t, "main"), -1);
    cr_assert_neq(tc_tid_of(t, "goc-timer"), -1);
    support_traced_free(&tr);
    support_end();
}

Test(flags, html_page_has_a_lane_per_goroutine_and_an_arrow_per_hand_off, .timeout = 60)
{
    support_begin();
    const char *argv[] = {"--task-ms", "500", "--cancel-after-ms", "150", "--timeout-ms",
                          "150",       NULL};
    /* main, nine goroutines and the timer thread. The hand-offs (time_after
     * ticks to main, tasks reporting to main, sub-tasks to their workers)
     * race with the cancellations: a slow machine (valgrind) lets a timer
     * tick in first. So the arrows are checked against the trace only. */
    support_check_page(PROG, argv, 11, SUPPORT_ANY_ARROWS);
    support_end();
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--task-ms", "500", "--cancel-after-ms", "150", "--timeout-ms",
                           "150",       NULL};
    run_result_t r = support_run_timeline(PROG, argv, 10);
    for (size_t i = 0; i < sizeof task_tracks / sizeof task_tracks[0]; i++) {
        const char *row = tc_row(r.out, task_tracks[i][1]);
        cr_assert_not_null(row, "no row for %s:\n%s", task_tracks[i][1], r.out);
        cr_assert_gt(tc_bar_count(row, '#'), 0, "%s never worked:\n%s", task_tracks[i][1], r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s", r.out);
    }
    cr_assert_gt(tc_bar_count(tc_row(r.out, "main"), '.'), 0, "main waits:\n%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, leak_is_caught_naming_the_watcher_and_the_timer, .timeout = 60)
{
    support_begin();
    /* The task's timer (2 s) outlives the leak check (0.5 s after 20 ms). */
    const char  *argv[] = {"--task-ms", "2000", "--timeout-ms", "20", NULL};
    run_result_t r = support_run_leaking(PROG, argv);
    cr_assert_eq(tc_goroutine_lines(r.err, "watcher req-2"), 1, "%s", r.err);
    cr_assert_eq(tc_goroutine_lines(r.err, "task 5"), 0, "task 5 returned:\n%s", r.err);
    cr_assert(strstr(r.err, "timers still pending: 1 ") != NULL, "%s", r.err);
    cr_assert_eq(tc_row_end(tc_row(r.out, "watcher req-2")), '>', "%s", r.out);
    cr_assert_eq(tc_row_end(tc_row(r.out, "task 5")), '|', "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "WITHOUT releasing its timer"), 1, "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, bad_trace_use_is_reported, .timeout = 60)
{
    support_begin();
    const char *quick[] = {"--task-ms", "5", "--cancel-after-ms", "1", "--timeout-ms", "1", NULL};
    support_check_trace_flag(PROG, quick);
    support_end();
}
