/*
 * test_04_program.c - lesson 04's program end to end: with short cancels
 * and timeouts every example stops its work with the right reason, every
 * line of the request tree carries the request id, and the clean-shutdown
 * line comes last; with distant ones every task completes and main does
 * not sit out the timers; bad flags exit 2 with a message and the usage;
 * --help and -h exit 0.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timer.h"
#include "tests/support/support.h"

/* Lines of text that contain both a and b. */
static size_t count_lines_with_both(const char *text, const char *a, const char *b)
{
    size_t count = 0;
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t      len = end ? (size_t)(end - text) : strlen(text);
        char       *line = strndup(text, len);
        cr_assert_not_null(line);
        if (strstr(line, a) && strstr(line, b))
            count++;
        free(line);
        text += len + (end ? 1 : 0);
    }
    return count;
}

/* True if the last line of text is exactly line. */
static bool last_line_is(const char *text, const char *line)
{
    size_t len = strlen(text), want = strlen(line);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    return len >= want && strncmp(text + len - want, line, want) == 0 &&
           (len == want || text[len - want - 1] == '\n');
}

static const char clean_line[] =
    "Clean shutdown: every goroutine returned, every allocation freed.";

/* Under valgrind a goroutine may start after its context is already done;
 * the task then logs "not started: <reason>" instead of "starting" and
 * "stopped: <reason>". So each task is checked for exactly one line that
 * ends it with the expected reason, whichever of the two it is. */
Test(program, cancels_and_timeouts_stop_the_work, .timeout = 60)
{
    const char  *argv[] = {"--task-ms=5000", "--cancel-after-ms=50", "--timeout-ms=50", NULL};
    run_result_t r = run_program("04-context", argv);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_str_eq(r.err, "", "nothing on stderr");
    const char *out = r.out;

    /* Examples 1 and 2. */
    cr_assert_eq(count_lines_containing(out, "Main: canceling task 1 after 50 ms"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Task 1: ", "context canceled"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: task 1 returned: context canceled"), 1);
    cr_assert_eq(count_lines_with_both(out, "Task 2: ", "context deadline exceeded"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Main: task 2 returned after", "deadline exceeded"), 1);

    /* Example 3: worker 2 alone first, then the rest; every line of the
     * tree carries the request id. */
    cr_assert_eq(count_lines_containing(out, "Main: canceling worker 2 only"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: worker 1 is still running"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: worker 3 is still running"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Main: canceling request req-1"), 1, "%s", out);
    cr_assert_eq(count_lines_containing(out, "Worker "),
                 count_lines_containing(out, "[req-1] Worker "), "a worker line without the id");
    cr_assert_eq(count_lines_containing(out, "] Task "),
                 count_lines_containing(out, "[req-1] Task "), "a task line without the id");
    for (int w = 1; w <= 3; w++) {
        char needle[128];
        snprintf(needle, sizeof needle, "[req-1] Worker %d: started", w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s", needle);
        snprintf(needle, sizeof needle, "[req-1] Worker %d: finished", w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s", needle);
        for (int id = 10 * w; id <= 10 * w + 1; id++) {
            snprintf(needle, sizeof needle, "[req-1] Task %d: ", id);
            cr_assert_eq(count_lines_with_both(out, needle, "context canceled"), 1, "%s\n%s",
                         needle, out);
        }
        snprintf(needle, sizeof needle,
                 "Main: worker %d of request req-1: task context canceled, sub-task context "
                 "canceled",
                 w);
        cr_assert_eq(count_lines_containing(out, needle), 1, "%s\n%s", needle, out);
    }

    /* Example 4. */
    cr_assert_eq(count_lines_containing(out, "the child's deadline is its parent's"), 1);
    cr_assert_eq(count_lines_with_both(out, "Task 4: ", "context deadline exceeded"), 1);
    cr_assert_eq(count_lines_containing(out, "completed"), 0, "no task may run to its end");

    cr_assert(last_line_is(out, clean_line), "%s", out);
    run_result_free(&r);
}

/* With cancels and timeouts far away, every task completes, and main does
 * not sit out those timers: it waits for the work, not for the clock. */
Test(program, work_that_fits_completes, .timeout = 60)
{
    const char  *argv[] = {"--task-ms=20", "--cancel-after-ms=30000", "--timeout-ms=30000", NULL};
    int64_t      start = time_now();
    run_result_t r = run_program("04-context", argv);
    cr_assert_lt(time_now() - start, 30 * TIME_SECOND, "main waited for timers, not for the work");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    const char *out = r.out;
    cr_assert_eq(count_lines_containing(out, "Main: task 1 ended before the cancel"), 1, "%s", out);
    cr_assert_eq(count_lines_with_both(out, "Main: task 2 returned after", "no error"), 1);
    cr_assert_eq(count_lines_containing(out, "Main: worker 2 finished before the cancel"), 1);
    cr_assert_eq(count_lines_containing(out, "Main: the request finished before the cancel"), 1);
    cr_assert_eq(count_lines_containing(out, "completed"), 9, "tasks 1, 2, 4 and six in the tree");
    cr_assert_eq(count_lines_containing(out, "context canceled"), 0, "%s", out);
    cr_assert_eq(count_lines_containing(out, "deadline exceeded"), 0, "%s", out);
    cr_assert(last_line_is(out, clean_line), "%s", out);
    run_result_free(&r);
}

Test(program, help_prints_usage, .timeout = 60)
{
    const char *forms[][2] = {{"--help", NULL}, {"-h", NULL}};
    for (size_t i = 0; i < 2; i++) {
        run_result_t r = run_program("04-context", forms[i]);
        cr_assert_eq(r.exit_code, 0);
        cr_assert(strstr(r.out, "Usage:"), "%s", r.out);
        cr_assert(strstr(r.out, "--task-ms") && strstr(r.out, "--cancel-after-ms") &&
                  strstr(r.out, "--timeout-ms"));
        cr_assert_str_eq(r.err, "");
        run_result_free(&r);
    }
}

Test(program, bad_flags_exit_2_with_a_message, .timeout = 120)
{
    const char *cases[][4] = {
        {"--bogus", NULL},
        {"--task-ms", "abc", NULL},
        {"--task-ms", "0", NULL},
        {"--timeout-ms", "-5", NULL},
        {"--cancel-after-ms", "99999999999999999999", NULL},
        {"--timeout-ms", "600001", NULL},
        {"--task-ms", NULL},
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result_t r = run_program("04-context", cases[i]);
        cr_assert_eq(r.exit_code, 2, "%s: exit %d", cases[i][0], r.exit_code);
        cr_assert(strstr(r.err, "04-context: "), "%s: no message: %s", cases[i][0], r.err);
        cr_assert(strstr(r.err, "Usage:"), "%s: no usage", cases[i][0]);
        cr_assert_str_eq(r.out, "", "%s: nothing on stdout", cases[i][0]);
        run_result_free(&r);
    }
}
