/*
 * test_01_article_bug.c - the article's worker pool, whose workers offer
 * their task channel only once, deadlocks; the core's runtime says so the
 * way Go's does and names every stuck goroutine.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/support/support.h"

Test(article_bug, workers_that_never_register_again_are_reported_as_a_deadlock, .timeout = 60)
{
    support_begin();
#if defined(__SANITIZE_THREAD__)
    /* TSan's own thread is invisible to the core, so the watchdog stays
     * quiet (common/runtime.h) and --article-bug would wait for ever: this
     * build runs the bounded --leak variant of the same bug instead. */
    const char  *argv[] = {"--leak", "--tasks", "8", "--work-ms", "5", "--queue", "2", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    cr_assert_eq(r.exit_code, 1, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: dispatcher"), 1, "%s", r.err);
#else
    const char  *argv[] = {"--article-bug", "--tasks", "8", "--work-ms", "5", "--queue", "2", NULL};
    run_result_t r = run_program("01-worker-pool", argv);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, "fatal error: all goroutines are asleep - deadlock!"), "%s",
                       r.err);
    /* Each worker ran one task, then waits on its own channel for ever. */
    cr_assert_eq(count_lines_containing(r.out, "processing task"), 3, "%s", r.out);
    for (int w = 1; w <= 3; w++) {
        char who[32];
        snprintf(who, sizeof who, "]: worker %d on chan #", w);
        cr_assert_eq(count_lines_containing(r.err, who), 1, "%s missing:\n%s", who, r.err);
    }
    cr_assert_eq(count_lines_containing(r.err, "[chan receive"), 4, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: dispatcher on chan #"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "[chan send"), 1, "main, on the full queue:\n%s",
                 r.err);
#endif
    run_result_free(&r);
    support_end();
}
