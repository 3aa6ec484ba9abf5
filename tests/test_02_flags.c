/*
 * test_02_flags.c - lesson 02's --trace, --html, --timeline and --leak, end to end:
 * the trace is valid JSON with one span per job on a worker's track and an
 * arrow into the merge from every worker for each job it ran, the
 * timeline has a row per goroutine within 100 columns, the leak demo (the
 * article's workers that never close their outputs) is caught and names
 * the merger it leaves stuck, and a traced run is still clean. What every
 * lesson's flags promise is checked by tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "02-fan-in-fan-out"

Test(flags, trace_has_one_span_per_job_on_a_worker_track, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "3", "--jobs", "8", "--work-ms", "5", NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    for (int job = 1; job <= 8; job++) {
        char name[32];
        snprintf(name, sizeof name, "job %d", job);
        cr_assert_eq(tc_count(t, "X", name), 1, "%s: not exactly one span", name);
        const char *track = tc_track_of(t, tc_find(t, "X", name)->tid);
        cr_assert(strncmp(track, "worker ", 7) == 0, "%s ran on track '%s'", name, track);
        snprintf(name, sizeof name, "send job %d", job);
        cr_assert_eq(tc_count(t, "X", name), 1, "%s: not exactly one span", name);
    }
    /* The workers' work is a time_after: the core's timer thread hands each
     * its tick, so it takes part in hand-offs and has a track too. */
    const char *tracks[] = {"main",     "producer", "worker 1", "worker 2",
                            "worker 3", "fan-in",   "goc-timer"};
    for (size_t i = 0; i < sizeof tracks / sizeof tracks[0]; i++)
        cr_assert_neq(tc_tid_of(t, tracks[i]), -1, "no track for %s", tracks[i]);
    cr_assert_eq(tc_count(t, "M", "thread_name"), 7);
    support_traced_free(&tr);
    support_end();
}

/* Hand-offs (flow events) from track `from` to track `to`; the ones whose
 * send is inside a span whose name starts with `inside` go to *matching. */
static size_t arrows(const tc_trace_t *t, const tc_flow_t *flows, size_t n, const char *from,
                     const char *to, const char *inside, size_t *matching)
{
    long   f = tc_tid_of(t, from), r = tc_tid_of(t, to);
    size_t count = 0;
    *matching = 0;
    for (size_t i = 0; i < n; i++) {
        if (flows[i].from != f || flows[i].to != r)
            continue;
        count++;
        const tc_event_t *span = tc_span_at(t, f, flows[i].ts_send);
        *matching += span != NULL && strncmp(span->name, inside, strlen(inside)) == 0;
    }
    return count;
}

Test(flags, the_merge_gets_an_arrow_from_every_worker_per_job_it_ran, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "3", "--jobs", "8", "--work-ms", "5", NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    tc_flow_t        *flows;
    size_t            n = tc_flows(t, &flows), total = 0, matching;
    cr_assert_neq(n, (size_t)-1, "flow starts and ends do not pair up");
    for (int w = 1; w <= 3; w++) {
        char worker[32];
        snprintf(worker, sizeof worker, "worker %d", w);
        size_t jobs = tc_count_on(t, worker, "X", "job ", true);
        /* Every job a worker ran is one value into the merge, sent from
         * inside its "send result" span... */
        cr_assert_eq(arrows(t, flows, n, worker, "fan-in", "send result", &matching), jobs,
                     "%s ran %zu jobs", worker, jobs);
        cr_assert_eq(matching, jobs, "%s: an arrow outside a 'send result' span", worker);
        /* ...and one value from the producer, sent from its "send job". */
        cr_assert_eq(arrows(t, flows, n, "producer", worker, "send job", &matching), jobs);
        cr_assert_eq(matching, jobs);
        total += jobs;
    }
    cr_assert_eq(total, 8, "every job ran once");
    cr_assert_eq(arrows(t, flows, n, "fan-in", "main", "forward", &matching), 8,
                 "the merge forwards every result to main");
    cr_assert_eq(matching, 8);
    free(flows);
    support_traced_free(&tr);
    support_end();
}

Test(flags, html_page_has_a_lane_per_goroutine_and_an_arrow_per_hand_off, .timeout = 60)
{
    support_begin();
    const char *argv[] = {"--workers", "3", "--jobs", "8", "--work-ms", "5", NULL};
    /* main, the producer, three workers, the merge and the timer thread; each
     * job crosses four: producer -> worker, the timer's tick that ends its
     * simulated work, worker -> merge, merge -> main. */
    support_check_page(PROG, argv, 7, 32);
    support_end();
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    /* 50 ms of work: every worker has started long before the jobs run out,
     * so each gets some even where threads start slowly (TSan, valgrind). */
    const char  *argv[] = {"--workers", "4", "--jobs", "12", "--work-ms", "50", "--ordered", NULL};
    run_result_t r = support_run_timeline(PROG, argv, 7);
    for (int w = 1; w <= 4; w++) {
        char worker[32];
        snprintf(worker, sizeof worker, "worker %d", w);
        const char *row = tc_row(r.out, worker);
        cr_assert_not_null(row, "no row for %s:\n%s", worker, r.out);
        cr_assert_gt(tc_bar_count(row, '#'), 0, "%s never busy:\n%s", worker, r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s still running at the end:\n%s", worker, r.out);
    }
    const char *others[] = {"main", "producer", "fan-in ordered"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        cr_assert_eq(tc_row_end(tc_row(r.out, others[i])), '|', "%s:\n%s", others[i], r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, leak_is_caught_and_names_the_stuck_merger, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "2", "--jobs", "5", "--work-ms", "10", NULL};
    run_result_t r = support_run_leaking(PROG, argv);
    cr_assert_eq(tc_goroutine_lines(r.err, "fan-in"), 1, "the merger not named:\n%s", r.err);
    cr_assert_eq(tc_row_end(tc_row(r.out, "fan-in")), '>', "merger not shown stuck:\n%s", r.out);
    /* The workers themselves returned: they did every job, they only
     * forgot to close. */
    cr_assert_eq(tc_goroutine_lines(r.err, "worker"), 0, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.out, "Result: "), 5, "%s", r.out);
    cr_assert_eq(tc_row_end(tc_row(r.out, "worker 1")), '|', "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, bad_trace_use_is_reported, .timeout = 60)
{
    support_begin();
    const char *quick[] = {"--jobs", "2", "--work-ms", "1", NULL};
    support_check_trace_flag(PROG, quick);
    support_end();
}
