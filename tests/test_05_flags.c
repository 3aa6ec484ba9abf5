/*
 * test_05_flags.c - lesson 05's --trace, --html, --timeline and --leak, end to end:
 * the trace is valid JSON with one "visit" span per value on the sink's
 * track and one send per number on the generator's, and one arrow (flow
 * event) per value per link it crosses, in order; the timeline has a row
 * per goroutine within 100 columns; the leak demo (a sink that stops early
 * without canceling) is caught and names every stage left blocked; a traced
 * run is still clean. What every lesson's flags promise is checked by
 * tests/support/flags_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/flags_check.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

#define PROG "05-pipeline"

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
        cr_assert_eq(tc_count_on(t, "stage generate", "X", name, false), 1, "generator: %s", name);
        snprintf(name, sizeof name, "visit %d", v * v);
        cr_assert_eq(tc_count_on(t, "sink Sink1", "X", name, false), (size_t)(v % 2), "sink: %s",
                     name);
        snprintf(name, sizeof name, "work on %d", v);
        cr_assert_eq(tc_count_on(t, "stage square", "X", name, false), 1, "square: %s", name);
    }
    cr_assert_eq(tc_count(t, "X", "visit 81"), 1);
    support_traced_free(&tr);
    support_end();
}

/* The flows from track `from` to track `to`, in send order, into out;
 * returns how many. */
static size_t link(const tc_trace_t *t, const tc_flow_t *flows, size_t n, const char *from,
                   const char *to, const tc_flow_t **out, size_t max)
{
    long   f = tc_tid_of(t, from), r = tc_tid_of(t, to);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (flows[i].from == f && flows[i].to == r && k < max)
            out[k++] = &flows[i];
    return k;
}

/* The span on `track` that arrow `flow` leaves from is "send <value>". */
static void assert_sent_inside(const tc_trace_t *t, const char *track, const tc_flow_t *flow,
                               long value)
{
    char want[32];
    snprintf(want, sizeof want, "send %ld", value);
    const tc_event_t *span = tc_span_at(t, tc_tid_of(t, track), flow->ts_send);
    cr_assert_not_null(span, "%s: an arrow for %ld starts outside any span", track, value);
    cr_assert_str_eq(span->name, want, "%s: arrows out of order", track);
}

Test(flags, trace_has_an_arrow_per_value_per_link_in_order, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--n", "20", "--sinks", "1", "--sink-ms", "0", NULL};
    traced_run_t tr;
    support_run_traced(PROG, argv, &tr);
    const tc_trace_t *t = &tr.trace;
    tc_flow_t        *flows;
    size_t            n = tc_flows(t, &flows);
    cr_assert_neq(n, (size_t)-1, "flow starts and ends do not pair up");
    const tc_flow_t *gen[32], *sq[32], *odd[32];
    /* Value v crosses generate -> square as v, square -> keep odd as v*v,
     * and, if v*v is odd, keep odd -> sink: 20 + 20 + 10 arrows, nothing
     * else (main only cancels). */
    cr_assert_eq(link(t, flows, n, "stage generate", "stage square", gen, 32), 20);
    cr_assert_eq(link(t, flows, n, "stage square", "stage keep odd", sq, 32), 20);
    cr_assert_eq(link(t, flows, n, "stage keep odd", "sink Sink1", odd, 32), 10);
    cr_assert_eq(n, 50, "arrows on no link");
    for (long v = 0; v < 20; v++) {
        /* Each arrow leaves from the send of its own value, in order... */
        assert_sent_inside(t, "stage generate", gen[v], v);
        assert_sent_inside(t, "stage square", sq[v], v * v);
        /* ...and a stage sends a value on only after it took it. */
        cr_assert_leq(gen[v]->ts_recv, sq[v]->ts_send, "square sent %ld before receiving it", v);
        if (v % 2 == 1) {
            assert_sent_inside(t, "stage keep odd", odd[v / 2], v * v);
            cr_assert_leq(sq[v]->ts_recv, odd[v / 2]->ts_send);
        }
    }
    free(flows);
    support_traced_free(&tr);
    support_end();
}

Test(flags, html_page_has_a_lane_per_goroutine_and_an_arrow_per_hand_off, .timeout = 60)
{
    support_begin();
    const char *argv[] = {"--n", "20", "--sinks", "1", "--sink-ms", "0", NULL};
    /* main, three stages and the sink; every value crosses one link per stage
     * it reaches: 20 + 20 + 10 (see trace_has_an_arrow_per_value_per_link). */
    support_check_page(PROG, argv, 5, 50);
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
