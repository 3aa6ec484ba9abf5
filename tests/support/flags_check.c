/*
 * flags_check.c - the shared runs of the lesson flags tests (see
 * flags_check.h). Every run goes through run_program; the flags are
 * appended after the caller's arguments, which getopt_long accepts in any
 * order, so a test can still end its own list early with a NULL it sets
 * at run time (an optional "--channel", say).
 */
#include "tests/support/flags_check.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 16

/* Runs name with argv followed by extra_a and extra_b (either may be
 * NULL, which ends the list there). */
static run_result_t run_with(const char *name, const char *const argv[], const char *extra_a,
                             const char *extra_b)
{
    const char *args[MAX_ARGS + 3];
    size_t      n = 0;
    while (argv != NULL && argv[n] != NULL) {
        cr_assert_lt(n, MAX_ARGS, "more than %d arguments", MAX_ARGS);
        args[n] = argv[n];
        n++;
    }
    args[n++] = extra_a;
    args[n++] = extra_b;
    args[n] = NULL;
    return run_program(name, args);
}

void support_run_traced(const char *name, const char *const argv[], traced_run_t *tr)
{
    memset(tr, 0, sizeof *tr);
    support_temp_file(tr->path, sizeof tr->path);
    tr->run = run_with(name, argv, "--trace", tr->path);
    support_assert_clean_run(&tr->run);
    cr_assert_eq(count_lines_containing(tr->run.out, "Trace written to"), 1, "%s", tr->run.out);

    tr->json = tc_read_file(tr->path);
    cr_assert_not_null(tr->json, "no trace file");
    cr_assert(tc_parse(tr->json, &tr->trace), "invalid JSON (%s at byte %zu)", tr->trace.error,
              tr->trace.error_at);
}

void support_traced_free(traced_run_t *tr)
{
    tc_free(&tr->trace);
    free(tr->json);
    tr->json = NULL;
    unlink(tr->path);
    run_result_free(&tr->run);
}

run_result_t support_run_timeline(const char *name, const char *const argv[], size_t rows)
{
    run_result_t r = run_with(name, argv, "--timeline", NULL);
    support_assert_clean_run(&r);
    const char *timeline = strstr(r.out, "Timeline: ");
    cr_assert_not_null(timeline, "no timeline:\n%s", r.out);
    cr_assert_leq(tc_longest_line(timeline), 100, "wider than 100 columns:\n%s", r.out);
    cr_assert_eq(tc_row_count(r.out), rows, "rows:\n%s", r.out);
    return r;
}

run_result_t support_run_leaking(const char *name, const char *const argv[])
{
    run_result_t r = run_with(name, argv, "--leak", "--timeline");
    cr_assert_eq(r.exit_code, 1, "exit %d; stderr:\n%s", r.exit_code, r.err);
    cr_assert(strstr(r.err, "leak check failed") != NULL, "no leak report:\n%s", r.err);
    cr_assert_eq(count_lines_containing(r.out, "Clean shutdown"), 0);
    return r;
}

void support_check_trace_flag(const char *name, const char *const quick_args[])
{
    const char  *missing[] = {"--trace", NULL};
    run_result_t r = run_program(name, missing);
    cr_assert_eq(r.exit_code, 2, "--trace without FILE: exit %d", r.exit_code);
    cr_assert(strncmp(r.err, name, strlen(name)) == 0 && r.err[strlen(name)] == ':',
              "the message names the program:\n%s", r.err);
    run_result_free(&r);

    r = run_with(name, quick_args, "--trace", "/nonexistent/dir/trace.json");
    cr_assert_eq(r.exit_code, 1, "unwritable trace: exit %d", r.exit_code);
    cr_assert(strstr(r.err, "cannot write the trace") != NULL, "%s", r.err);
    run_result_free(&r);

    const char *help[] = {"--help", NULL};
    r = run_program(name, help);
    cr_assert(strstr(r.out, "--timeline") && strstr(r.out, "--trace") && strstr(r.out, "--leak"),
              "%s", r.out);
    run_result_free(&r);
}
