/*
 * test_common_runtime.c - the deadlock watchdog and the goroutine dump.
 *
 * A deadlock ends the process, so each situation runs as its own small
 * program (tests/programs/runtime_demo.c) and these tests read its exit
 * status and what it printed.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/goroutine.h"
#include "common/park.h"
#include "common/timer.h"
#include "tests/support/support.h"

static run_result_t run_demo(const char *mode, duration_t *elapsed)
{
    const char  *argv[] = {mode, NULL};
    int64_t      start = time_now();
    run_result_t r = run_program("tests/programs/runtime_demo", argv);
    *elapsed = time_now() - start;
    return r;
}

/* ThreadSanitizer runs a thread of its own, which the core cannot see; the
 * watchdog then never concludes (see common/runtime.h), so the tests that
 * expect a report run in the other builds only. */
#if defined(__SANITIZE_THREAD__)
#define EXPECTS_REPORTS 0
#else
#define EXPECTS_REPORTS 1
#endif

#define DEADLOCK_LINE "fatal error: all goroutines are asleep - deadlock!"

#if EXPECTS_REPORTS
Test(runtime, two_goroutines_waiting_on_each_other_are_reported, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("deadlock", &elapsed);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstdout:\n%s\nstderr:\n%s", r.exit_code, r.out, r.err);
    cr_assert_not_null(strstr(r.err, DEADLOCK_LINE), "stderr:\n%s", r.err);
    cr_assert_not_null(strstr(r.err, "[chan receive"), "stderr:\n%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: first on chan #"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "]: second on chan #"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "goroutine 1 [waitgroup wait"), 1, "%s", r.err);
    /* Exit status 2, not the alarm's 3, says the report came before the
     * demo's 2 s alarm. The elapsed time adds only the start-up: under
     * valgrind that alone can take seconds, so the bound is for the rest. */
    if (!support_under_valgrind())
        cr_assert_lt(elapsed, 1900 * TIME_MILLISECOND,
                     "reported after %.2f s (the alarm is at 2 s)", (double)elapsed / TIME_SECOND);
    run_result_free(&r);
    support_end();
}

Test(runtime, the_dump_names_every_kind_of_wait, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("states", &elapsed);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    struct {
        const char *state, *who;
    } expected[] = {
        {"[waitgroup wait", "]: main"},        {"[chan receive", "]: receiver on chan #"},
        {"[chan send", "]: sender on chan #"}, {"[select, 2 cases", "]: selector"},
        {"[semaphore acquire", "]: acquirer"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        cr_assert_eq(count_lines_containing(r.err, expected[i].who), 1, "%s missing:\n%s",
                     expected[i].who, r.err);
        const char *line = strstr(r.err, expected[i].who);
        const char *start = line;
        while (start > r.err && start[-1] != '\n')
            start--;
        cr_assert(strstr(start, expected[i].state) && strstr(start, expected[i].state) < line,
                  "%s should be in state %s:\n%s", expected[i].who, expected[i].state, r.err);
    }
    cr_assert_eq(count_lines_containing(r.err, "]: sender on chan #2 (elem 4 bytes, cap 0)"), 1,
                 "the channel's identity:\n%s", r.err);
    run_result_free(&r);
    support_end();
}

#endif

Test(runtime, a_thread_blocked_in_read_counts_as_running, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("reader", &elapsed);
    cr_assert_eq(r.exit_code, 0, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_null(strstr(r.err, DEADLOCK_LINE), "false report:\n%s", r.err);
    cr_assert_not_null(strstr(r.out, "reader: woke up, no report"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(runtime, a_goroutine_in_time_sleep_counts_as_running, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("sleeper", &elapsed);
    cr_assert_eq(r.exit_code, 0, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_null(strstr(r.err, DEADLOCK_LINE), "false report:\n%s", r.err);
    run_result_free(&r);
    support_end();
}

#if EXPECTS_REPORTS
Test(runtime, a_pending_timer_is_a_possible_waker, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("timer", &elapsed);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    /* The report may only come after the timer fired. */
    cr_assert_not_null(strstr(r.out, "timer fired"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
    cr_assert_geq(elapsed, 500 * TIME_MILLISECOND);
    cr_assert_not_null(strstr(r.err, "]: timer waiter on chan #"), "%s", r.err);
    run_result_free(&r);
    support_end();
}

#endif

/* Runs a mode in which the watchdog must keep quiet: only the demo's alarm
 * ends it (exit 3), and nothing reports a deadlock. */
static void expect_only_the_alarm(const char *mode)
{
    duration_t   elapsed;
    run_result_t r = run_demo(mode, &elapsed);
    cr_assert_eq(r.exit_code, 3, "%s: the alarm should end it: exit %d\nstderr:\n%s", mode,
                 r.exit_code, r.err);
    cr_assert_null(strstr(r.err, DEADLOCK_LINE), "%s: %s", mode, r.err);
    run_result_free(&r);
}

Test(runtime, GOC_DEADLOCK_0_turns_it_off, .timeout = 30)
{
    support_begin();
    setenv("GOC_DEADLOCK", "0", 1);
    expect_only_the_alarm("deadlock");
    unsetenv("GOC_DEADLOCK");
    support_end();
}

/* The watchdog comes with the first goroutine (runtime.h): main alone,
 * stuck on a channel, gets no report, only the alarm. */
Test(runtime, no_watchdog_before_the_first_goroutine, .timeout = 30)
{
    support_begin();
    expect_only_the_alarm("alone");
    support_end();
}

/* The same deadlock as in the first test, but os_thread_count() says -1, as
 * on a platform that cannot count threads: silence, until the alarm. */
Test(runtime, no_report_where_threads_cannot_be_counted, .timeout = 30)
{
    support_begin();
    expect_only_the_alarm("blind");
    support_end();
}

Test(runtime, sigquit_prints_a_dump_and_the_program_goes_on, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("sigquit", &elapsed);
    cr_assert_eq(r.exit_code, 0, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, "SIGQUIT: goroutine dump"), "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "[chan receive"), 2, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "still running after SIGQUIT"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

#if EXPECTS_REPORTS
Test(runtime, the_watchdog_adds_no_thread_beyond_the_timer_thread, .timeout = 30)
{
    support_begin();
    duration_t   elapsed;
    run_result_t r = run_demo("threads", &elapsed);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* Channels alone start nothing; the first go() brings the watchdog,
     * which runs on the timer thread. */
    cr_assert_not_null(strstr(r.out, "threads before go(): 0\n"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "threads added by the core, workers aside: 1\n"), "%s", r.out);
    run_result_free(&r);
    support_end();
}
#endif

/* ------------------------------------- what the watchdog reads, safely */

/* A thread that sleeps once on its parker, says it is back, and stays
 * (its record with it) until it may exit. */
typedef struct {
    parker_t               parker;
    _Atomic(goroutine_t *) record;
    atomic_bool            back, may_exit;
} pinned_sleeper_t;

static void sleep_then_come_back(void *arg)
{
    pinned_sleeper_t *s = arg;
    atomic_store(&s->record, go_self());
    parker_park(&s->parker);
    atomic_store(&s->back, true);
    while (!atomic_load(&s->may_exit))
        sched_yield();
}

/* The watchdog looks inside the parker a record sleeps on; a sleeper woken
 * meanwhile must not leave (its parker may be on its stack) until the
 * watchdog lets go. */
Test(runtime, a_pinned_parker_outlives_its_wake_up, .timeout = 30)
{
    static pinned_sleeper_t s; /* zeroed: the parker is empty */
    cr_assert_eq(support_start_thread(sleep_then_come_back, &s), 0);
    goroutine_t *g;
    while ((g = atomic_load(&s.record)) == NULL)
        sched_yield();
    uint64_t       sleeps;
    struct parker *p;
    while ((p = go_sleep_pin(g, &sleeps)) == NULL) { /* not asleep yet */
        go_sleep_unpin(g);
        sched_yield();
    }
    cr_assert_eq(p, &s.parker, "the pin names the parker the thread sleeps on");
    cr_assert_geq(sleeps, 1);
    parker_unpark(&s.parker);
    /* Woken: it takes its token (the parker empties), then must wait. */
    while (atomic_load(&s.parker.state) != PARK_EMPTY)
        sched_yield();
    int64_t until = time_now() + 50 * 1000 * 1000LL;
    while (time_now() < until)
        cr_assert_not(atomic_load(&s.back), "the sleeper left while its parker was pinned");
    go_sleep_unpin(g);
    while (!atomic_load(&s.back))
        sched_yield(); /* the test's timeout bounds this */

    uint64_t again;
    cr_assert_null(go_sleep_pin(g, &again), "awake: nothing to pin");
    go_sleep_unpin(g);
    cr_assert_eq(again, sleeps);
    atomic_store(&s.may_exit, true);
}
