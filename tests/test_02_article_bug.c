/*
 * test_02_article_bug.c - the article's fan-in program deadlocks, and the
 * core's runtime says so the way Go's does.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/support/support.h"

Test(article_bug, the_merge_that_never_closes_is_reported_as_a_deadlock, .timeout = 60)
{
    support_begin();
#if defined(__SANITIZE_THREAD__)
    /* TSan's own thread is invisible to the core, so the watchdog stays
     * quiet (common/runtime.h) and --article-bug would wait for ever: this
     * build runs the bounded --leak variant of the same bug instead. */
    const char  *argv[] = {"--leak", "--jobs", "4", "--work-ms", "5", NULL};
    run_result_t r = run_program("02-fan-in-fan-out", argv);
    cr_assert_eq(r.exit_code, 1, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: fan-in"), 1, "%s", r.err);
#else
    const char  *argv[] = {"--article-bug", "--jobs", "4", "--work-ms", "5", NULL};
    run_result_t r = run_program("02-fan-in-fan-out", argv);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, "fatal error: all goroutines are asleep - deadlock!"), "%s",
                       r.err);
    /* Main waits on the merged channel, the merger in its select. */
    cr_assert_eq(count_lines_containing(r.err, "]: main on chan #"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: fan-in"), 1, "%s", r.err);
    /* Every result arrived first: the bug is only that the range never ends. */
    cr_assert_eq(count_lines_containing(r.out, "Result: "), 4, "%s", r.out);
#endif
    run_result_free(&r);
    support_end();
}
