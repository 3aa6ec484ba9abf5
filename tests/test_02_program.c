/*
 * test_02_program.c - lesson 02's program end to end: every job processed
 * once and its square printed once, in job order with --ordered, by no
 * more workers than asked for, and the clean-shutdown line last; the
 * defaults are the article's numbers (and take about as long); every bad
 * command line exits 2 with a message and the usage on stderr, one test
 * per case; --help exits 0.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timer.h"
#include "tests/support/support.h"

#define PROGRAM "02-fan-in-fan-out"

typedef struct {
    int     processed[1001]; /* per job */
    int     results[1001];   /* per job, value checked */
    int64_t order[1001];     /* jobs in the order their results were printed */
    int     nresults;
    size_t  max_worker;
} transcript_t;

/* Parses the program's stdout, asserting every line is one it should print. */
static void parse_transcript(const char *out, int64_t jobs, transcript_t *t)
{
    memset(t, 0, sizeof *t);
    char *copy = strdup(out), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t  worker;
        int64_t job, value;
        int     end = -1;
        if (sscanf(line, "Worker %zu processing job %" SCNd64 "%n", &worker, &job, &end) == 2 &&
            line[end] == '\0') {
            cr_assert(job >= 1 && job <= jobs, "bad job in: %s", line);
            t->processed[job]++;
            if (worker > t->max_worker)
                t->max_worker = worker;
        } else if (sscanf(line, "Result: %" SCNd64 " (job %" SCNd64 ")%n", &value, &job, &end) ==
                       2 &&
                   line[end] == '\0') {
            cr_assert(job >= 1 && job <= jobs, "bad job in: %s", line);
            cr_assert_eq(value, job * job, "wrong square in: %s", line);
            t->results[job]++;
            t->order[t->nresults++] = job;
        } else {
            cr_assert(strncmp(line, "Fan-out: ", 9) == 0 ||
                          strcmp(line, "Collecting results...") == 0 ||
                          strcmp(line, "All workers finished.") == 0 ||
                          strncmp(line, "Clean shutdown: ", 16) == 0,
                      "unexpected line: %s", line);
        }
    }
    free(copy);
}

static void assert_clean_run(run_result_t *r, int64_t jobs, size_t workers, transcript_t *t)
{
    cr_assert_eq(r->exit_code, 0, "exit %d, stderr:\n%s", r->exit_code, r->err);
    parse_transcript(r->out, jobs, t);
    for (int64_t j = 1; j <= jobs; j++) {
        cr_assert_eq(t->processed[j], 1, "job %" PRId64 " processed %d times", j, t->processed[j]);
        cr_assert_eq(t->results[j], 1, "job %" PRId64 " has %d results", j, t->results[j]);
    }
    cr_assert_eq(t->nresults, jobs);
    cr_assert_leq(t->max_worker, workers);
    cr_assert_eq(count_lines_containing(r->out, "All workers finished."), 1);
    /* the program prints the clean-shutdown line last */
    cr_assert(support_ends_with(r->out, CLEAN_SHUTDOWN_LINE), "last line is not clean:\n%s",
              r->out);
}

Test(program, merges_every_result_then_shuts_down_clean, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "4", "--jobs", "40", "--work-ms", "1", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    transcript_t t;
    assert_clean_run(&r, 40, 4, &t);
    run_result_free(&r);
    support_end();
}

Test(program, ordered_prints_results_in_job_order, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--ordered", "-w", "5", "-j", "30", "-m", "2", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    transcript_t t;
    assert_clean_run(&r, 30, 5, &t);
    for (int i = 0; i < t.nresults; i++)
        cr_assert_eq(t.order[i], i + 1, "result %d is job %" PRId64, i + 1, t.order[i]);
    run_result_free(&r);
    support_end();
}

Test(program, defaults_are_the_articles_numbers, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {NULL};
    int64_t      start = time_now();
    run_result_t r = run_program(PROGRAM, argv);
    int64_t      took = time_now() - start;
    transcript_t t;
    assert_clean_run(&r, 10, 3, &t);
    /* 10 jobs of 250 ms on 3 workers: some worker does 4 of them */
    cr_assert_geq(took, 950 * TIME_MILLISECOND, "took only %" PRId64 " ms", took / 1000000);
    cr_assert_lt(took, 10 * TIME_SECOND);
    run_result_free(&r);
    support_end();
}

/* Bad input: exit 2, "<prog>: <what was wrong>" then the usage on stderr,
 * nothing on stdout. One test per case, so each stays short under valgrind. */
static void assert_refused(const char *const argv[])
{
    support_begin();
    run_result_t r = run_program(PROGRAM, argv);
    cr_assert_eq(r.exit_code, 2, "%s %s: exit %d", argv[0], argv[1] ? argv[1] : "", r.exit_code);
    cr_assert(strncmp(r.err, PROGRAM ": ", strlen(PROGRAM) + 2) == 0,
              "%s: no message first on stderr:\n%s", argv[0], r.err);
    cr_assert_not_null(strstr(r.err, "Usage:"), "%s: no usage on stderr", argv[0]);
    cr_assert_str_eq(r.out, "", "%s: wrote to stdout", argv[0]);
    run_result_free(&r);
    support_end();
}

#define REFUSES(name, ...)                                                                         \
    Test(program, refuses_##name, .timeout = 60)                                                   \
    {                                                                                              \
        const char *const argv[] = {__VA_ARGS__, NULL};                                            \
        assert_refused(argv);                                                                      \
    }

REFUSES(unknown_long_flag, "--bogus")
REFUSES(unknown_short_flag, "-x")
REFUSES(non_number, "--workers", "abc")
REFUSES(zero_workers, "--workers", "0")
REFUSES(negative_jobs, "--jobs", "-3")
REFUSES(overflow, "--jobs", "99999999999999999999")
REFUSES(negative_work, "--work-ms", "-1")
REFUSES(trailing_junk, "--work-ms", "12ms")
REFUSES(missing_value, "--workers")
REFUSES(surplus_argument, "surplus")

Test(program, help_prints_usage_and_exits_0, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--help", NULL};
    run_result_t r = run_program(PROGRAM, argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert_not_null(strstr(r.out, "Usage:"));
    cr_assert_not_null(strstr(r.out, "--ordered"));
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
    support_end();
}
