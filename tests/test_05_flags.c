/*
 * test_05_flags.c - lesson 05's --trace, --timeline and --leak, end to end:
 * the trace is valid JSON with one "visit" span per value on the sink's
 * track and one send per number on the generator's; the timeline has a row
 * per goroutine within 100 columns; the leak demo (a sink that stops early
 * without canceling) is caught and names every stage left blocked; a traced
 * run is still clean.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/support.h"
#include "tests/trace_check.h"

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
    char path[64];
    support_temp_file(path, sizeof path);
    const char  *argv[] = {"--n", "10", "--sinks", "1", "--sink-ms", "1", "--trace", path, NULL};
    run_result_t r = run_program(PROG, argv);
    cr_assert_eq(r.exit_code, 0, "exit %d; stderr:\n%s", r.exit_code, r.err);
    cr_assert_str_eq(r.err, "");
    cr_assert_eq(count_lines_containing(r.out, "Trace written to"), 1, "%s", r.out);
    cr_assert(support_ends_with(r.out, CLEAN_SHUTDOWN_LINE),
              "the clean-shutdown line must come last:\n%s", r.out);

    char *json = tc_read_file(path);
    cr_assert_not_null(json, "no trace file");
    tc_trace_t t;
    cr_assert(tc_parse(json, &t), "invalid JSON (%s at byte %zu)", t.error, t.error_at);
    const char *tracks[] = {"main", "stage generate", "stage square", "stage keep odd",
                            "sink Sink1"};
    for (size_t i = 0; i < sizeof tracks / sizeof tracks[0]; i++)
        cr_assert_neq(tc_tid_of(&t, tracks[i]), -1, "no track for %s", tracks[i]);
    cr_assert_eq(tc_count(&t, "M", "thread_name"), 5);
    for (int v = 0; v < 10; v++) {
        char name[32];
        snprintf(name, sizeof name, "send %d", v);
        cr_assert_eq(spans_on(&t, "stage generate", name), 1, "generator: %s", name);
        snprintf(name, sizeof name, "visit %d", v * v);
        cr_assert_eq(spans_on(&t, "sink Sink1", name), (size_t)(v % 2), "sink: %s", name);
        snprintf(name, sizeof name, "work on %d", v);
        cr_assert_eq(spans_on(&t, "stage square", name), 1, "square: %s", name);
    }
    cr_assert_eq(tc_count(&t, "X", "visit 81"), 1);
    tc_free(&t);
    free(json);
    unlink(path);
    run_result_free(&r);
    support_end();
}

Test(flags, timeline_has_a_row_per_goroutine_within_100_columns, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--n",       "12", "--tee",      "--workers", "2",
                           "--sink-ms", "2",  "--timeline", NULL};
    run_result_t r = run_program(PROG, argv);
    cr_assert_eq(r.exit_code, 0, "exit %d; stderr:\n%s", r.exit_code, r.err);
    cr_assert_str_eq(r.err, "");
    cr_assert_not_null(strstr(r.out, "Timeline: "), "no timeline:\n%s", r.out);
    cr_assert_leq(tc_longest_line(strstr(r.out, "Timeline: ")), 100, "wider than 100 columns:\n%s",
                  r.out);
    const char *rows[] = {"main",           "stage generate", "stage square 1", "stage square 2",
                          "stage keep odd", "stage tee",      "sink Sink1",     "sink Sink2"};
    cr_assert_eq(tc_row_count(r.out), sizeof rows / sizeof rows[0], "rows:\n%s", r.out);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *row = tc_row(r.out, rows[i]);
        cr_assert_not_null(row, "no row for %s:\n%s", rows[i], r.out);
        cr_assert_eq(tc_row_end(row), '|', "%s still running:\n%s", rows[i], r.out);
    }
    cr_assert_gt(tc_bar_count(tc_row(r.out, "sink Sink1"), '#'), 0, "the sink works:\n%s", r.out);
    cr_assert(support_ends_with(r.out, CLEAN_SHUTDOWN_LINE),
              "the clean-shutdown line must come last:\n%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(flags, leak_is_caught_and_names_every_stage_left_blocked, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--leak",    "--n", "20",         "--take", "2",
                           "--sink-ms", "2",   "--timeline", NULL};
    run_result_t r = run_program(PROG, argv);
    cr_assert_eq(r.exit_code, 1, "exit %d; stderr:\n%s", r.exit_code, r.err);
    cr_assert(strstr(r.err, "leak check failed") != NULL, "no leak report:\n%s", r.err);
    const char *stuck[] = {"stage generate", "stage square", "stage keep odd"};
    for (size_t i = 0; i < sizeof stuck / sizeof stuck[0]; i++) {
        cr_assert_eq(tc_goroutine_lines(r.err, stuck[i]), 1, "%s not named:\n%s", stuck[i], r.err);
        cr_assert_eq(tc_row_end(tc_row(r.out, stuck[i])), '>', "%s not shown stuck:\n%s", stuck[i],
                     r.out);
    }
    cr_assert_eq(count_lines_containing(r.out, "Sink1 received: "), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "Clean shutdown"), 0);
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
    cr_assert_eq(r.exit_code, 0, "exit %d; stderr:\n%s", r.exit_code, r.err);
    cr_assert_str_eq(r.err, "");
    cr_assert(support_ends_with(r.out, CLEAN_SHUTDOWN_LINE), "%s", r.out);
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
