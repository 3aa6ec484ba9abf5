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

/* Runs name with argv followed by up to four extra arguments (a NULL ends
 * the list there). */
static run_result_t run_with4(const char *name, const char *const argv[],
                              const char *const extra[4])
{
    const char *args[MAX_ARGS + 5];
    size_t      n = 0;
    while (argv != NULL && argv[n] != NULL) {
        cr_assert_lt(n, MAX_ARGS, "more than %d arguments", MAX_ARGS);
        args[n] = argv[n];
        n++;
    }
    for (int i = 0; i < 4; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return run_program(name, args);
}

/* The same with up to two extra arguments. */
static run_result_t run_with(const char *name, const char *const argv[], const char *extra_a,
                             const char *extra_b)
{
    return run_with4(name, argv, (const char *const[4]){extra_a, extra_b, NULL, NULL});
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

/* How many times needle occurs in text[from, to). */
static size_t count_between(const char *from, const char *to, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(from, needle); p != NULL && p < to; p = strstr(p + 1, needle))
        n++;
    return n;
}

void support_check_page(const char *name, const char *const argv[], size_t lanes, size_t arrows)
{
    traced_run_t tr;
    char         page_path[64];
    memset(&tr, 0, sizeof tr);
    support_temp_file(tr.path, sizeof tr.path);
    support_temp_file(page_path, sizeof page_path);
    tr.run = run_with4(name, argv, (const char *const[4]){"--trace", tr.path, "--html", page_path});
    support_assert_clean_run(&tr.run);
    const char *out = tr.run.out;
    cr_assert_eq(count_lines_containing(out, "Trace written to"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Timeline page written to"), 1, "%s", out);
    tr.json = tc_read_file(tr.path);
    cr_assert_not_null(tr.json, "no trace file");
    cr_assert(tc_parse(tr.json, &tr.trace), "invalid JSON (%s at byte %zu)", tr.trace.error,
              tr.trace.error_at);

    char *page = tc_read_file(page_path);
    cr_assert_not_null(page, "no page");
    cr_assert(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    cr_assert_null(strstr(page, "http:"), "the page names a URL");
    cr_assert_null(strstr(page, "https:"), "the page names a URL");
    /* The page's data, against the JSON of the same run (both outputs read
     * one recording), and against what the scenario implies. */
    const char *in_lanes = strstr(page, "\"lanes\":["), *in_arrows = strstr(page, "\"arrows\":[");
    const char *in_marks = strstr(page, "\"marks\":[");
    cr_assert(in_lanes && in_arrows && in_marks && in_lanes < in_arrows && in_arrows < in_marks,
              "no data in the page");
    size_t page_lanes = count_between(in_lanes, in_arrows, "\n{\"name\":");
    size_t page_arrows = count_between(in_arrows, in_marks, "\n[");
    cr_assert_eq(page_lanes, tc_count(&tr.trace, "M", "thread_name"), "a lane per track");
    cr_assert_eq(page_arrows, tc_count(&tr.trace, "s", NULL), "an arrow per flow");
    cr_assert_eq(page_lanes, lanes, "%zu lanes, %zu expected", page_lanes, lanes);
    cr_assert(arrows == SUPPORT_ANY_ARROWS || page_arrows == arrows, "%zu arrows, %zu expected",
              page_arrows, arrows);
    free(page);
    unlink(page_path);
    support_traced_free(&tr);
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

    const char *missing_page[] = {"--html", NULL};
    r = run_program(name, missing_page);
    cr_assert_eq(r.exit_code, 2, "--html without FILE: exit %d", r.exit_code);
    cr_assert(strncmp(r.err, name, strlen(name)) == 0 && r.err[strlen(name)] == ':',
              "the message names the program:\n%s", r.err);
    run_result_free(&r);

    r = run_with(name, quick_args, "--html", "/nonexistent/dir/page.html");
    cr_assert_eq(r.exit_code, 1, "unwritable page: exit %d", r.exit_code);
    cr_assert(strstr(r.err, "cannot write the timeline page") != NULL, "%s", r.err);
    run_result_free(&r);

    const char *help[] = {"--help", NULL};
    r = run_program(name, help);
    cr_assert(strstr(r.out, "--timeline") && strstr(r.out, "--trace") && strstr(r.out, "--html") &&
                  strstr(r.out, "--leak"),
              "%s", r.out);
    run_result_free(&r);
}
