/*
 * test_01_program.c - lesson 01's program end to end: every task processed
 * once by a worker in range and reported once, the summary and the
 * clean-shutdown line last, also with a queue too small to hold anything;
 * bad flags exit 2 with a message and the usage on stderr; --help exits 0.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/support.h"

#define MAX_TASKS 256 /* more than any run here */

/* Checks the invariants of a run's output (interleaving varies): each task
 * processed exactly once by a worker in range, each with exactly one
 * result, the summary line, and the clean-shutdown line last. */
static void check_run(const run_result_t *r, int workers, int tasks)
{
    cr_assert_eq(r->exit_code, 0, "exit %d; stderr:\n%s", r->exit_code, r->err);
    cr_assert_str_eq(r->err, "");
    int processed[MAX_TASKS + 1] = {0};
    for (const char *line = r->out; line && *line; line = strchr(line, '\n'), line += !!line) {
        int worker, task;
        if (sscanf(line, "Worker %d processing task %d", &worker, &task) == 2) {
            cr_assert(task >= 1 && task <= tasks, "unknown task %d", task);
            cr_assert(worker >= 1 && worker <= workers, "unknown worker %d", worker);
            processed[task]++;
        }
    }
    for (int task = 1; task <= tasks; task++) {
        char want[64];
        snprintf(want, sizeof want, "Result for task %d: processed Task-%d-Data (worker ", task,
                 task);
        cr_assert_eq(processed[task], 1, "task %d processed %d times", task, processed[task]);
        cr_assert_eq(count_lines_containing(r->out, want), 1, "task %d: not one result", task);
    }
    cr_assert_eq(count_lines_containing(r->out, "Result for task"), (size_t)tasks);
    cr_assert_eq(count_lines_containing(r->out, "All tasks completed."), 1);
    cr_assert(support_ends_with(r->out, CLEAN_SHUTDOWN_LINE),
              "the clean-shutdown line must come last");
}

Test(program, runs_every_task_once, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--workers", "2", "--tasks", "6", "--work-ms", "5", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    check_run(&r, 2, 6);
    run_result_free(&r);
    support_end();
}

Test(program, tiny_queue_does_not_deadlock, .timeout = 60)
{
    support_begin();
    /* Far more tasks than the queue and the results buffer hold together:
     * the producer is throttled by backpressure, and nothing is lost. */
    const char  *argv[] = {"-w", "1", "-t", "50", "-q", "0", "-m", "0", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    check_run(&r, 1, 50);
    run_result_free(&r);
    support_end();
}

/* Eight program runs: under valgrind each start takes seconds, hence the
 * generous timeout. */
Test(program, bad_flags_exit_2_with_a_message, .timeout = 120)
{
    support_begin();
    static const char *const cases[][3] = {
        {"--bogus", NULL},
        {"--workers", "abc"},
        {"--workers", "0"},
        {"--tasks", "-3"},
        {"--workers", "99999999999999999999"},
        {"--work-ms", "5x"},
        {"--queue", NULL}, /* missing value */
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result_t r = run_program("01-worker-pool", cases[i]);
        cr_assert_eq(r.exit_code, 2, "%s %s: exit %d", cases[i][0], cases[i][1] ? cases[i][1] : "",
                     r.exit_code);
        cr_assert(strncmp(r.err, "01-worker-pool: ", 16) == 0, "no message first: %s", r.err);
        cr_assert(strstr(r.err, "Usage:") != NULL, "no usage on stderr: %s", r.err);
        cr_assert_str_eq(r.out, "");
        run_result_free(&r);
    }
    support_end();
}

Test(program, help_exits_0, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"--help", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "Usage:") && strstr(r.out, "--workers") && strstr(r.out, "--work-ms"));
    cr_assert_str_eq(r.err, "");
    run_result_free(&r);
    support_end();
}
