/*
 * test_common_sched.c - the M:N scheduler: many goroutines on few threads,
 * one worker, blocking calls, stack overflow, and starts that fail.
 *
 * Each situation needs a fresh process (GOC_MAXPROCS is read once; a
 * stack overflow ends the process), so it runs as tests/programs/
 * sched_demo.c and these tests read what it printed. Under the thread
 * runtime (GOC_RUNTIME=threads) the same programs run where the situation
 * exists there too, with what that runtime promises.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/go.h"
#include "tests/support/support.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static bool mn(void)
{
    return strcmp(go_runtime(), "mn") == 0;
}

static run_result_t run_demo(const char *mode, const char *arg)
{
    const char *argv[] = {mode, arg, NULL};
    return run_program("tests/programs/sched_demo", argv);
}

static void assert_ok(const run_result_t *r)
{
    cr_assert_eq(r->exit_code, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", r->exit_code, r->out,
                 r->err);
    cr_assert(support_ends_with(r->out, "ok\n"), "stdout:\n%s", r->out);
}

Test(sched, a_hundred_thousand_parked_goroutines_on_a_few_threads, .timeout = 120)
{
    support_begin();
    /* One thread each cannot go that far (the kernel stops it near 32,000;
     * valgrind at 500); the sanitizers and valgrind would take minutes
     * (TSan's cost of each synchronisation grows with the number of
     * goroutines): fewer there.
     * Where each guard page is a kernel mapping of its own (Linux before
     * 6.13), the default limit of 65,530 mappings allows about 32,000. */
    run_result_t guards = run_demo("guards", NULL);
    assert_ok(&guards);
    bool        free_guards = strncmp(guards.out, "free\n", 5) == 0;
    const char *full = free_guards ? "100000" : "30000";
    bool        vg = support_under_valgrind();
    const char *n = !mn() ? (vg ? "200" : "1000") : SANITIZED ? "1000" : vg ? "2000" : full;
    run_result_free(&guards);
    run_result_t r = run_demo("many", n);
    assert_ok(&r);
    char expect[128];
    snprintf(expect, sizeof expect, "parked %s goroutines: %s running,", n, n);
    cr_assert_not_null(strstr(r.out, expect), "stdout:\n%s", r.out);
    snprintf(expect, sizeof expect, "released: %s ran, 0 still running", n);
    cr_assert_not_null(strstr(r.out, expect), "stdout:\n%s", r.out);
    long        threads = -1;
    double      kib = -1;
    const char *line = strstr(r.out, "running, ");
    cr_assert_not_null(line);
    cr_assert_eq(sscanf(line, "running, %ld OS threads added, %lf KiB each", &threads, &kib), 2,
                 "%s", r.out);
    if (mn()) {
        /* Workers (GOC_MAXPROCS, here the CPUs), the timer thread, and a
         * few spare workers at most. */
        cr_assert_leq(threads, sysconf(_SC_NPROCESSORS_ONLN) + 8, "%s", r.out);
        if (!vg && !SANITIZED)
            cr_assert_leq(kib, 16.0, "more than 16 KiB resident per goroutine:\n%s", r.out);
    } else {
        cr_assert_geq(threads, atol(n), "one thread per goroutine:\n%s", r.out);
    }
    run_result_free(&r);
    support_end();
}

Test(sched, one_worker_runs_a_pipeline_and_a_fair_select, .timeout = 60)
{
    support_begin();
    run_result_t r = run_demo("one-worker", NULL);
    assert_ok(&r);
    cr_assert_not_null(strstr(r.out, "pipeline: 2000 values, sum right"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

/* Without preemption, a goroutine that starts goroutines faster than they
 * run would pile them all up (each on a stack of its own) until it
 * blocks. Once its worker's ring is full it yields instead, so on one
 * worker no more are alive at once than the ring (256), the runnext
 * slot and the starter itself. */
Test(sched, a_burst_of_starts_waits_for_the_ring_to_run, .timeout = 60)
{
    support_begin();
    run_result_t r = run_demo("burst", NULL);
    assert_ok(&r);
    size_t      peak = 0;
    const char *line = strstr(r.out, "burst: 20000 goroutines started, at most ");
    cr_assert_not_null(line, "%s", r.out);
    cr_assert_eq(sscanf(line, "burst: 20000 goroutines started, at most %zu", &peak), 1);
    if (mn())
        cr_assert_leq(peak, 256 + 1 + 1, "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(sched, a_blocking_call_does_not_stop_the_other_goroutines, .timeout = 60)
{
    support_begin();
    run_result_t r = run_demo("blocking", NULL);
    assert_ok(&r);
    cr_assert_not_null(strstr(r.out, "volleys while the reader blocked: 1000"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "reader: read 1 byte 'x'"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

/* ASan and valgrind report the overflowing frame themselves before the
 * runtime can: the report is checked in the plain build. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
Test(sched, a_stack_overflow_is_reported_by_name, .timeout = 60)
{
    if (!mn() || support_under_valgrind())
        return; /* a thread's overflow is the system's own crash */
    support_begin();
    run_result_t r = run_demo("overflow", NULL);
    cr_assert_eq(r.exit_code, 2, "exit %d\nstderr:\n%s", r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, "(deep recursion): stack overflow (64 KiB); raise "
                                     "GOC_STACK_KB\n"),
                       "stderr:\n%s", r.err);
    cr_assert_eq(strncmp(r.err, "goroutine ", 10), 0, "stderr:\n%s", r.err);
    run_result_free(&r);
    support_end();
}
#endif

Test(sched, a_worker_that_cannot_start_makes_go_fail_with_EAGAIN, .timeout = 60)
{
    if (!mn())
        return; /* go_fail_after covers the thread runtime (test_common_faults) */
    support_begin();
    run_result_t r = run_demo("no-thread", NULL);
    assert_ok(&r);
    cr_assert_not_null(strstr(r.out, "go() = Resource temporarily unavailable; 0 running, 0 "),
                       "%s", r.out);
    cr_assert_not_null(strstr(r.out, "then go() = 0"), "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(sched, a_stack_that_cannot_be_mapped_makes_go_fail_with_ENOMEM, .timeout = 60)
{
    if (!mn())
        return;
    support_begin();
    run_result_t r = run_demo("no-stack", NULL);
    assert_ok(&r);
    cr_assert_not_null(strstr(r.out, "go() = Cannot allocate memory; 0 running, 0 "), "%s", r.out);
    run_result_free(&r);
    support_end();
}
