/*
 * test_03_flags.c - lesson 03's --trace, --html, --timeline and --leak, end to end:
 * the trace is valid JSON with one "hold" span per task, each on its own
 * task's track; the timeline has a row per goroutine within 100 columns;
 * the leak demo (tasks whose error path keeps the slot) is caught and names
 * exactly the tasks left waiting; a traced run is still clean. What every
 * lesson's flags promise is checked by tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "03-semaphore"

/* kind_flag: "--channel", or NULL for the weighted semaphore. */

/* Runs the program with --trace and checks one "hold 1 slot" span on each
 * task's own track. */
static void check_trace(const char *kind_flag)
{
    const char  *argv[] = {"--tasks", "7", "--limit", "3", "--work-ms", "5", kind_flag, NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    cr_assert_eq(tc_count(t, "X", "hold 1 slot"), 7, "one hold span per task");
    for (int task = 1; task <= 7; task++) {
        char track[32];
        snprintf(track, sizeof track, "task %d", task);
        long tid = tc_tid_of(t, track);
        cr_assert_neq(tid, -1, "no track for %s", track);
        size_t holds = 0;
        for (size_t i = 0; i < t->count; i++)
            holds += t->events[i].tid == tid && strcmp(t->events[i].name, "hold 1 slot") == 0;
        cr_assert_eq(holds, 1, "%s held a slot %zu times", track, holds);
    }
    cr_assert_neq(tc_tid_of(t, "main"), -1);
    support_traced_free(&tr);
}

Test(flags, trace_has_one_hold_span_per_task, .timeout = 60)
{
    support_begin();
    check_trace(NULL); /* the weighted semaphore */
    check_trace("--channel");
    support_end();
}

/* kind_flag as for check_trace: the page of a run with that semaphore. */
static void check_page(const char *kind_flag, size_t arrows)
{
    support_begin();
    const char *argv[] = {"--tasks", "6", "--limit", "2", "--work-ms", "5", kind_flag, NULL};
    support_check_page(PROG, argv, 7, arrows); /* main and six tasks */
    support_end();
}

/* A weighted semaphore hands out no values: no arrow. */
Test(flags, html_page_weighted_has_a_lane_per_task_and_no_arrow, .timeout = 60)
{
    check_page(NULL, 0);
}

/* The channel semaphore: one token through the channel per task. */
Test(flags, html_page_channel_has_an_arrow_per_token, .timeout = 60)
{
    check_page("--channel", 6);
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    /* 100 ms of work: long enough that every task has started (even under
     * TSan or valgrind, where starting a thread is slow) while the first
     * two still hold the slots, so the others are seen waiting. */
    const char  *argv[] = {"--tasks", "6", "--limit", "2", "--work-ms", "100", NULL};
    run_result_t r = support_run_timeline(PROG, argv, 7);
    size_t       waited = 0;
    for (int task = 1; task <= 6; task++) {
        char name[32];
        snprintf(name, sizeof name, "task %d", task);
        const char *row = tc_row(r.out, name);
        cr_assert_not_null(row, "no row for %s:\n%s", name, r.out);
        cr_assert_gt(tc_bar_count(row, '#'), 0, "%s never held a slot:\n%s", name, r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s still running at the end:\n%s", name, r.out);
        waited += tc_bar_count(row, '.') > 0;
    }
    cr_assert_geq(waited, 1, "with 2 slots for 6 tasks, some task waited:\n%s", r.out);
    run_result_free(&r);
    support_end();
}

/* Runs --leak and checks that exactly the tasks that never returned are
 * named, and shown stuck on the timeline. */
static void check_leak(const char *kind_flag)
{
    const char  *argv[] = {"--tasks", "6", "--limit", "2", "--work-ms", "10", kind_flag, NULL};
    run_result_t r = support_run_leaking(PROG, argv);
    const char  *summary = strstr(r.out, "Main: ");
    int          returned = -1, tasks = -1;
    cr_assert(summary && sscanf(summary, "Main: %d of %d tasks returned", &returned, &tasks) == 2,
              "%s", r.out);
    cr_assert_eq(tasks, 6);
    /* Two even tasks keep both slots: at most the 3 odd tasks and 2 even
     * ones return, so at least one task is left waiting. */
    cr_assert(returned >= 2 && returned <= 5, "%d tasks returned:\n%s", returned, r.out);
    cr_assert_eq(count_lines_containing(r.out, "WITHOUT releasing"), 2, "%s", r.out);
    size_t named = 0;
    for (int task = 1; task <= 6; task++) {
        char name[32];
        snprintf(name, sizeof name, "task %d", task);
        size_t in_report = tc_goroutine_lines(r.err, name);
        char   end = tc_row_end(tc_row(r.out, name));
        cr_assert_leq(in_report, 1, "%s", r.err);
        cr_assert_eq(end, in_report ? '>' : '|', "%s: report and timeline disagree:\n%s\n%s", name,
                     r.out, r.err);
        named += in_report;
    }
    cr_assert_eq(named, (size_t)(6 - returned), "stuck tasks named: %zu:\n%s", named, r.err);
    run_result_free(&r);
}

Test(flags, leak_is_caught_and_names_the_tasks_left_waiting, .timeout = 60)
{
    support_begin();
    check_leak(NULL); /* the weighted semaphore */
    check_leak("--channel");
    support_end();
}

Test(flags, bad_trace_use_is_reported, .timeout = 60)
{
    support_begin();
    const char *quick[] = {"--tasks", "2", "--work-ms", "1", NULL};
    support_check_trace_flag(PROG, quick);
    support_end();
}
