/*
 * test_03_program.c - lesson 03's program end to end, in both forms: exit
 * status, each task started and finished once, every printed "(n/limit
 * slots in use)" within the limit, the big job of --weighted running
 * alone, --timeout-ms giving up the waiting tasks, the clean-shutdown line
 * last; bad numbers and bad usage exit 2 with a message naming the problem
 * and the usage on stderr; --help exits 0.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/support.h"

/* Checks every "(n/limit slots in use)" in out: 0 <= n <= limit. Returns
 * the largest n and how many there were. */
static int64_t check_counts(const char *out, int64_t limit, int *seen)
{
    int64_t     most = 0;
    const char *p = out;
    *seen = 0;
    while ((p = strstr(p, " slots in use)")) != NULL) {
        const char *open = p;
        while (open > out && *open != '(' && *open != '\n')
            open--;
        long long n = -1, lim = -1;
        cr_assert_eq(sscanf(open, "(%lld/%lld", &n, &lim), 2, "a count like (2/3 ...)");
        cr_assert_eq(lim, limit);
        cr_assert(n >= 0 && n <= limit, "printed count %lld within the limit %lld", n, lim);
        if (n > most)
            most = n;
        (*seen)++;
        p++;
    }
    return most;
}

static void check_each_task_once(const char *out, int tasks)
{
    char needle[64];
    for (int t = 1; t <= tasks; t++) {
        snprintf(needle, sizeof needle, "Task %d: start (", t);
        cr_assert_eq(count_lines_containing(out, needle), 1, "task %d started once", t);
        snprintf(needle, sizeof needle, "Task %d: finish (", t);
        cr_assert_eq(count_lines_containing(out, needle), 1, "task %d finished once", t);
    }
}

static void check_clean_end(const run_result_t *r)
{
    cr_assert(support_ends_with(r->out, CLEAN_SHUTDOWN_LINE), "ends with the clean line:\n%s",
              r->out);
}

Test(semaphore_program, runs_every_task_within_the_limit, .timeout = 30)
{
    const char *const forms[2][8] = {
        {"--tasks", "6", "--limit", "2", "--work-ms", "20", NULL},
        {"--tasks", "6", "--limit", "2", "--work-ms", "20", "--channel", NULL},
    };
    for (int k = 0; k < 2; k++) {
        run_result_t r = run_program("03-semaphore", forms[k]);
        cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
        check_each_task_once(r.out, 6);
        int seen = 0;
        check_counts(r.out, 2, &seen);
        cr_assert_geq(seen, 12, "a count on every start and finish");
        cr_assert_eq(count_lines_containing(r.out, "Done in"), 1);
        cr_assert_eq(count_lines_containing(r.out, "6 of 6 tasks finished, 0 gave up"), 1);
        check_clean_end(&r);
        run_result_free(&r);
    }
}

Test(semaphore_program, weighted_big_job_runs_alone, .timeout = 30)
{
    const char *const argv[] = {"--tasks",   "6",  "--limit",    "2",
                                "--work-ms", "40", "--weighted", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    check_each_task_once(r.out, 6);
    cr_assert_eq(count_lines_containing(r.out, "Task 3 is a big job"), 1);
    int seen = 0;
    check_counts(r.out, 2, &seen);
    cr_assert_eq(count_lines_containing(r.out, "Task 3: start (2/2 slots in use)"), 1);
    const char *start = strstr(r.out, "Task 3: start");
    const char *finish = strstr(r.out, "Task 3: finish");
    cr_assert(start && finish && start < finish);
    for (const char *p = strstr(strchr(start, '\n'), ": start ("); p && p < finish;
         p = strstr(p + 1, ": start ("))
        cr_assert_fail("another task started beside the big job:\n%s", r.out);
    check_clean_end(&r);
    run_result_free(&r);
}

Test(semaphore_program, timeout_gives_up_waiting_tasks, .timeout = 30)
{
    /* One slot, held 300 ms; waiting ends at 30 ms: at most one task runs. */
    const char *const argv[] = {"--tasks",      "4",  "--limit", "1", "--work-ms", "300",
                                "--timeout-ms", "30", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    size_t gave_up = count_lines_containing(r.out, "gave up waiting: deadline exceeded");
    size_t started = count_lines_containing(r.out, ": start (");
    cr_assert_geq(gave_up, 3);
    cr_assert_eq(started + gave_up, 4);
    cr_assert_eq(count_lines_containing(r.out, ": finish ("), started);
    char needle[64];
    for (int t = 1; t <= 4; t++) {
        snprintf(needle, sizeof needle, "Task %d: start (", t);
        size_t s = count_lines_containing(r.out, needle);
        snprintf(needle, sizeof needle, "Task %d: gave up", t);
        cr_assert_eq(s + count_lines_containing(r.out, needle), 1, "task %d: one outcome", t);
    }
    int seen = 0;
    check_counts(r.out, 1, &seen);
    check_clean_end(&r);
    run_result_free(&r);
}

typedef struct {
    const char *argv[4];
    const char *says; /* expected in the message */
} bad_case_t;

/* Each case exits 2, names the problem on stderr, prints the usage there,
 * and nothing on stdout. */
static void check_bad_cases(const bad_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_result_t r = run_program("03-semaphore", cases[i].argv);
        cr_assert_eq(r.exit_code, 2, "%s: exit %d", cases[i].argv[0], r.exit_code);
        cr_assert(strstr(r.err, "03-semaphore: ") != NULL, "%s: %s", cases[i].argv[0], r.err);
        cr_assert(strstr(r.err, cases[i].says) != NULL, "%s: wanted '%s' in: %s", cases[i].argv[0],
                  cases[i].says, r.err);
        cr_assert(strstr(r.err, "Usage:") != NULL, "%s prints the usage", cases[i].argv[0]);
        cr_assert_str_eq(r.out, "", "%s: nothing on stdout", cases[i].argv[0]);
        run_result_free(&r);
    }
}

Test(semaphore_program, bad_numbers_exit_2, .timeout = 60)
{
    const bad_case_t cases[] = {
        {{"--tasks", "abc", NULL}, "is not a number"},
        {{"--limit", "0", NULL}, "must be between"},
        {{"--tasks", "-3", NULL}, "must be between"},
        {{"--work-ms", "99999999999999999999", NULL}, "must be between"},
        {{"--timeout-ms", "0", NULL}, "must be between"},
    };
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(semaphore_program, bad_usage_exits_2, .timeout = 60)
{
    const bad_case_t cases[] = {
        {{"--bogus", NULL}, "unknown option '--bogus'"},
        {{"-x", NULL}, "unknown option '-x'"},
        {{"--tasks", NULL}, "--tasks needs a value"},
        {{"--weighted", "--channel", NULL}, "--weighted needs the weighted semaphore"},
        {{"extra", NULL}, "unexpected argument 'extra'"},
    };
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(semaphore_program, help_prints_usage, .timeout = 10)
{
    const char *const argv[] = {"--help", NULL};
    run_result_t      r = run_program("03-semaphore", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "Usage:") != NULL);
    cr_assert(strstr(r.out, "--timeout-ms") != NULL);
    cr_assert(strstr(r.out, "--channel") != NULL);
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
}
