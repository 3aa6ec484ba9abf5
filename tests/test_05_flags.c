/*
 * test_05_flags.c - lesson 05's --trace, --timeline and --leak, end to end:
 * the trace is valid JSON with one "visit" span per value on the sink's
 * track and one send per number on the generator's; the timeline has a row
 * per goroutine within 100 columns; the leak demo (a sink that stops early
 * without canceling) is caught and names every stage left blocked; a traced
 * run is still clean. What every lesson's flags promise is checked by
 * tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "05-pipeline"

/* Spans named `name` on the track named `track`. */
static size_t spans_on(const tc_trace_t *t, const char *track, const char *name)
{
    long   tid = tc_tid_of(t, track);
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += t->events[i].tid == tid && strcmp(t->events[i].ph, "X") == 0 &&
             strcmp(t->events[i].name, name) == 0;
    return n;
}

Test(flags, trace_has_a_span_per_value_on_the_right_tracks, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--n", "10", "--sinks", "1", "--sink-ms", "1", NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    const char       *tracks[] = {"main", "stage generate", "stage square", "stage keep odd",
                                  "sink Sink1"};
    for (size_t i = 0; i < sizeof tracks / sizeof tracks[0]; i++)
        cr_assert_neq(tc_tid_of(t, tracks[i]), -1, "no track for %s", tracks[i]);
    cr_assert_eq(tc_count(t, "M", "thread_name"), 5);
    for (int v = 0; v < 10; v++) {
        char name[32];
        snprintf(name, sizeof name, "send %d", v);
        cr_assert_eq(spans_on(t, "stage generate", name), 1, "generator: %s", name);
        snprintf(name, sizeof name, "visit %d", v * v);
        cr_assert_eq(spans_on(t, "sink Sink1", name), (size_t)(v % 2), "sink: %s", name);
        snprintf(name, sizeof name, "work on %d", v);
        cr_assert_eq(spans_on(t, "stage square", name), 1, "square: %s", name);
    }
    cr_assert_eq(tc_count(t, "X", "visit 81"), 1);
    support_traced_free(&tr);
    support_end();
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--n", "12", "--tee", "--workers", "2", "--sink-ms", "2", NULL};
    const char  *rows[] = {"main",           "stage generate", "stage square 1", "stage square 2",
                           "stage keep odd", "stage tee",      "sink Sink1",     "sink Sink2"};
    run_result_t r = support_run_timeline(PROG, argv, sizeof rows / sizeof rows[0]);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *row = tc_row(r.out, rows[i]);
        cr_assert_not_null(row, "no row for %s:\n%s", rows[i], r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s still running:\n%s", rows[i], r.out);
    }
    cr_assert_gt(tc_bar_count(tc_row(r.out, "sink Sink1"), '#'), 0, "the sink works:\n%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, leak_is_caught_and_names_every_stage_left_blocked, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--n", "20", "--take", "2", "--sink-ms", "2", NULL};
    run_result_t r = support_run_leaking(PROG, argv);
    const char  *stuck[] = {"stage generate", "stage square", "stage keep odd"};
    for (size_t i = 0; i < sizeof stuck / sizeof stuck[0]; i++) {
        cr_assert_eq(tc_goroutine_lines(r.err, stuck[i]), 1, "%s not named:\n%s", stuck[i], r.err);
        cr_assert_eq(tc_row_end(tc_row(r.out, stuck[i])), '>', "%s not shown stuck:\n%s", stuck[i],
                     r.out);
    }
    cr_assert_eq(count_lines_containing(r.out, "Sink1 received: "), 2, "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, a_sink_that_reads_to_the_end_leaks_nothing_even_with_leak, .timeout = 60)
{
    support_begin();
    /* Only 2 odd squares below 4: the sink hits the end of the input before
     * its third value, so walking away costs nothing. */
    const char  *argv[] = {"--leak", "--n", "4", "--take", "3", "--sink-ms", "1", NULL};
    run_result_t r = run_program(PROG, argv);
    support_assert_clean_run(&r);
    run_result_free(&r);
    support_end();
}

Test(flags, bad_trace_use_is_reported, .timeout = 60)
{
    support_begin();
    const char *quick[] = {"--n", "3", "--sink-ms", "0", NULL};
    support_check_trace_flag(PROG, quick);
    support_end();
}
