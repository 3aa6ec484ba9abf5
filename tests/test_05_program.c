/*
 * test_05_program.c - lesson 05's program end to end: a single sink prints
 * the odd squares in order; the default run splits them between two
 * sinks; --tee prints every value for both; --take stops a huge pipeline
 * early; --workers squares in parallel yet prints every value once; each
 * run ends with "Pipeline completed." and the clean-shutdown line; bad
 * flags exit 2 with a message and the usage; --help exits 0.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/pipeline_helpers.h"
#include "tests/support/support.h"

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
    cr_assert(support_ends_with(r->out, CLEAN_SHUTDOWN_LINE),
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
    assert_union_is_odd_squares(got, 10, "Sink1 + Sink2"); /* the article's n = 10 */
    cr_assert_eq(count_lines_containing(r.out, "Sinks together:"), 1);
    assert_clean_end(&r);
    for (int i = 0; i < 2; i++)
        free(got[i].values);
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
