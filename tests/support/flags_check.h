/*
 * flags_check.h - the runs every lesson's flags test (tests/test_NN_flags.c)
 * starts the same way: the program with --trace FILE, with --timeline, with
 * --leak, and with a --trace that is used wrongly.
 *
 * Each run asserts what every lesson promises for that flag and hands the
 * output back, so the test goes on to assert only what its lesson adds:
 *
 *     traced_run_t tr;
 *     support_run_traced("01-worker-pool", argv, &tr);
 *     cr_assert_eq(tc_count(&tr.trace, "X", "task 7"), 1);
 *     support_traced_free(&tr);
 *
 * argv lists are NULL-terminated, argv[0] excluded, at most 16 entries.
 */
#ifndef TESTS_FLAGS_CHECK_H
#define TESTS_FLAGS_CHECK_H

#include "tests/support/support.h"
#include "tests/support/trace_check.h"

/* A traced run of a lesson program, and its trace read back. */
typedef struct {
    run_result_t run;      /* exit status and output */
    char         path[64]; /* the trace file (removed by support_traced_free) */
    char        *json;     /* its text */
    tc_trace_t   trace;    /* its events */
} traced_run_t;

/* Runs program `name` with argv and then "--trace FILE", FILE a new empty
 * temporary file, and fails the test unless the run is clean
 * (support_assert_clean_run), says "Trace written to" exactly once, and
 * leaves in FILE a trace that tc_parse accepts. Fills *tr; the caller frees
 * it with support_traced_free. */
void support_run_traced(const char *name, const char *const argv[], traced_run_t *tr);

/* Frees what support_run_traced filled in and removes the trace file. */
void support_traced_free(traced_run_t *tr);

/* Runs program `name` with argv and then "--trace FILE --html PAGE", and
 * fails the test unless the run is clean, says "Trace written to" and
 * "Timeline page written to" once each, the trace parses, the page is an
 * HTML page naming no http: or https: URL, and its data has a lane per
 * track of the trace and an arrow per flow, `lanes` lanes and `arrows`
 * arrows (unless SUPPORT_ANY_ARROWS). Removes both files. */
void support_check_page(const char *name, const char *const argv[], size_t lanes, size_t arrows);

/* For support_check_page: a scenario whose hand-offs depend on timing; its
 * arrows are checked against the trace only. */
#define SUPPORT_ANY_ARROWS ((size_t)-1)

/* Runs program `name` with argv and then "--timeline", and fails the test
 * unless the run is clean (support_assert_clean_run) and prints a timeline
 * ("Timeline: " and what follows) no wider than 100 columns with exactly
 * `rows` rows. Returns the run; free it with run_result_free. */
run_result_t support_run_timeline(const char *name, const char *const argv[], size_t rows);

/* Runs program `name` with argv and then "--leak --timeline", and fails the
 * test unless the leak check catches the leak: exit status 1, "leak check
 * failed" on stderr, no "Clean shutdown" line on stdout. Returns the run
 * (the leak report is on stderr, the timeline on stdout); free it with
 * run_result_free. */
run_result_t support_run_leaking(const char *name, const char *const argv[]);

/* The checks every lesson's --trace and --html flags must pass: without
 * its FILE each is a command-line error (exit 2, "<name>: ..." on stderr);
 * with a FILE that cannot be written the run fails (exit 1) and says so;
 * --help lists --timeline, --trace, --html and --leak. quick_args make a
 * short run of the program. */
void support_check_trace_flag(const char *name, const char *const quick_args[]);

#endif
