/*
 * test_01_flags.c - lesson 01's --trace, --html, --timeline and --leak, end to end:
 * the trace is valid JSON with one span per task on a worker's track, the
 * timeline has a row per goroutine within 100 columns, the leak demo is
 * caught and named, and a traced run is still clean. What every lesson's
 * flags promise is checked by tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "01-worker-pool"

Test(flags, trace_has_one_span_per_task_on_a_worker_track, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "3", "--tasks", "8", "--work-ms", "5", NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    for (int id = 1; id <= 8; id++) {
        char name[32];
        snprintf(name, sizeof name, "task %d", id);
        cr_assert_eq(tc_count(t, "X", name), 1, "%s: not exactly one span", name);
        const char *track = tc_track_of(t, tc_find(t, "X", name)->tid);
        cr_assert(strncmp(track, "worker ", 7) == 0, "%s ran on track '%s'", name, track);
    }
    const char *tracks[] = {"main", "worker 1", "worker 2", "worker 3", "dispatcher", "producer"};
    for (size_t i = 0; i < sizeof tracks / sizeof tracks[0]; i++)
        cr_assert_neq(tc_tid_of(t, tracks[i]), -1, "no track for %s", tracks[i]);
    cr_assert_eq(tc_count(t, "M", "thread_name"), 6);
    support_traced_free(&tr);
    support_end();
}

Test(flags, html_page_has_a_lane_per_goroutine_and_an_arrow_per_hand_off, .timeout = 60)
{
    support_begin();
    const char *argv[] = {"--workers", "3", "--tasks", "8", "--work-ms", "5", NULL};
    /* main, the producer, the dispatcher and three workers; each task crosses
     * four hand-offs: producer -> dispatcher -> worker, the worker's offer of
     * itself back to the dispatcher, and its result to main. */
    support_check_page(PROG, argv, 6, 32);
    support_end();
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    /* 50 ms of work: every worker has started long before the tasks run
     * out, so each gets some even where threads start slowly. */
    const char  *argv[] = {"--workers", "3", "--tasks", "9", "--work-ms", "50", NULL};
    run_result_t r = support_run_timeline(PROG, argv, 6);
    for (int w = 1; w <= 3; w++) {
        char worker[32];
        snprintf(worker, sizeof worker, "worker %d", w);
        const char *row = tc_row(r.out, worker);
        cr_assert_not_null(row, "no row for %s:\n%s", worker, r.out);
        cr_assert_gt(tc_bar_count(row, '#'), 0, "%s never busy:\n%s", worker, r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s still running at the end:\n%s", worker, r.out);
    }
    cr_assert_not_null(tc_row(r.out, "dispatcher"), "%s", r.out);
    cr_assert_not_null(tc_row(r.out, "producer"), "%s", r.out);
    cr_assert_not_null(tc_row(r.out, "main"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, leak_is_caught_and_names_the_stuck_goroutines, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "2", "--tasks", "5", "--work-ms", "10", NULL};
    run_result_t r = support_run_leaking(PROG, argv);
    const char  *stuck[] = {"worker 1", "worker 2", "dispatcher"};
    for (size_t i = 0; i < sizeof stuck / sizeof stuck[0]; i++) {
        cr_assert_eq(tc_goroutine_lines(r.err, stuck[i]), 1, "%s not named once:\n%s", stuck[i],
                     r.err);
        cr_assert_eq(tc_row_end(tc_row(r.out, stuck[i])), '>', "%s not shown stuck:\n%s", stuck[i],
                     r.out);
    }
    /* Each worker ran one task, then nobody gave it another. */
    cr_assert_eq(count_lines_containing(r.out, "processing task"), 2, "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, bad_trace_use_is_reported, .timeout = 60)
{
    support_begin();
    const char *quick[] = {"--tasks", "2", "--work-ms", "1", NULL};
    support_check_trace_flag(PROG, quick);
    support_end();
}
