/*
 * test_bench_smoke.c - the benchmark program runs and speaks its format.
 *
 * Benchmarks are not timed tests: nothing here asserts a speed. Each
 * workload runs with a tiny N and must exit 0 and print exactly one
 * well-formed line, `workload=<name> n=<N> ns_per_op=<float>
 * ops_per_s=<float>`, whose two figures agree with each other. The program
 * checks its own results (every item once, sums right) and exits 1 if they
 * are wrong or if anything was left running, so exit 0 means more than
 * "did not crash". Bad usage must exit 2 with a message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/support.h"

#define SMALL_N "1000"

/* Every workload BENCH.md and issue 8 ask for. */
static const char *const expected_workloads[] = {
    "buf_spsc", "buf_mpmc",    "unbuf_pingpong",   "select2",        "pool",
    "pipeline", "ctx_cancel",  "sema_uncontended", "sema_contended", "ref_spsc_ring",
    "pool16",   "timers_100k", "ref_cacheline",    "textbook_spsc",  "textbook_pingpong",
};
#define N_WORKLOADS (sizeof expected_workloads / sizeof expected_workloads[0])

static const char *const memory_objects[] = {"chan_int_cap0", "chan_int_cap1024", "ctx_with_cancel",
                                             "time_after_pending"};

/* Checks that `line` (up to its newline) is one well-formed result line for
 * workload `name` with n == want_n; returns the length of the line. */
static size_t check_result_line(const char *line, const char *name, long long want_n)
{
    char      got_name[64];
    long long n = -1;
    double    ns_per_op = -1, ops_per_s = -1;
    int       end = -1;
    int       fields = sscanf(line, "workload=%63[a-z0-9_] n=%lld ns_per_op=%lf ops_per_s=%lf%n",
                              got_name, &n, &ns_per_op, &ops_per_s, &end);
    cr_assert_eq(fields, 4, "malformed line: %s", line);
    cr_assert(end > 0 && (line[end] == '\n' || line[end] == '\0'), "junk after the line: %s", line);
    cr_assert_str_eq(got_name, name);
    cr_assert_eq(n, want_n, "n=%lld, expected %lld", n, want_n);
    cr_assert(ns_per_op > 0 && ns_per_op < 1e12, "ns_per_op=%f", ns_per_op);
    cr_assert(ops_per_s > 0 && ops_per_s < 1e12, "ops_per_s=%f", ops_per_s);
    /* Both are printed rounded, ns_per_op to 0.01: they agree to that, or
     * to a part in a thousand, whichever is looser (4.17 ns may be 4.165). */
    double product = ops_per_s * ns_per_op / 1e9;
    double slack = 0.001 + 0.005 / ns_per_op;
    cr_assert(product > 1 - slack && product < 1 + slack, "ns_per_op=%f and ops_per_s=%f disagree",
              ns_per_op, ops_per_s);
    return (size_t)end;
}

/* Runs one workload with a small N and checks its single line. */
static void check_workload(const char *name)
{
    const char  *argv[] = {name, "--n", SMALL_N, NULL};
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 0, "bench %s exited %d: %s", name, r.exit_code, r.err);
    size_t len = check_result_line(r.out, name, 1000);
    cr_assert_str_eq(r.out + len, "\n", "more than one line: %s", r.out);
    cr_assert_str_eq(r.err, "", "stderr not empty: %s", r.err);
    run_result_free(&r);
}

#define WORKLOAD_TEST(name)                                                                        \
    Test(bench_smoke, name, .timeout = 60)                                                         \
    {                                                                                              \
        support_begin();                                                                           \
        check_workload(#name);                                                                     \
        support_end();                                                                             \
    }

WORKLOAD_TEST(buf_spsc)
WORKLOAD_TEST(buf_mpmc)
WORKLOAD_TEST(unbuf_pingpong)
WORKLOAD_TEST(select2)
WORKLOAD_TEST(pool)
WORKLOAD_TEST(pipeline)
WORKLOAD_TEST(ctx_cancel)
WORKLOAD_TEST(sema_uncontended)
WORKLOAD_TEST(sema_contended)
WORKLOAD_TEST(ref_spsc_ring)
WORKLOAD_TEST(pool16)
WORKLOAD_TEST(timers_100k)
WORKLOAD_TEST(ref_cacheline)

/* Checks the memory report in text: each object once, a positive size. */
static void check_memory_lines(const char *text)
{
    for (size_t i = 0; i < sizeof memory_objects / sizeof memory_objects[0]; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "memory=%s bytes=", memory_objects[i]);
        cr_assert_eq(count_lines_containing(text, needle), 1, "no single %s line in:\n%s", needle,
                     text);
        long long bytes = -1;
        cr_assert_eq(sscanf(strstr(text, needle) + strlen(needle), "%lld", &bytes), 1);
        cr_assert_gt(bytes, 0, "%s%lld", needle, bytes);
    }
}

Test(bench_smoke, everything_with_small_n, .timeout = 120,
     .description = "no workload name: every workload once, then the memory report")
{
    support_begin();
    const char  *argv[] = {"--n", SMALL_N, NULL};
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 0, "bench exited %d: %s", r.exit_code, r.err);
    cr_assert_eq(count_lines_containing(r.out, "workload="), N_WORKLOADS, "%s", r.out);
    for (size_t i = 0; i < N_WORKLOADS; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "workload=%s ", expected_workloads[i]);
        const char *line = strstr(r.out, needle);
        cr_assert_not_null(line, "no line for %s in:\n%s", expected_workloads[i], r.out);
        check_result_line(line, expected_workloads[i], 1000);
    }
    check_memory_lines(r.out);
    run_result_free(&r);
    support_end();
}

Test(bench_smoke, memory_report_alone, .timeout = 60)
{
    support_begin();
    const char  *argv[] = {"memory", "--n", "100", NULL};
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 0, "bench memory exited %d: %s", r.exit_code, r.err);
    cr_assert_eq(count_lines_containing(r.out, "workload="), 0, "%s", r.out);
    check_memory_lines(r.out);
    run_result_free(&r);
    support_end();
}

Test(bench_smoke, list_names_every_workload, .timeout = 30)
{
    support_begin();
    const char  *argv[] = {"--list", NULL};
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 0);
    for (size_t i = 0; i < N_WORKLOADS; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s\n", expected_workloads[i]);
        cr_assert(strncmp(r.out, line, strlen(line)) == 0 || strstr(r.out, line) != NULL,
                  "--list lacks %s:\n%s", expected_workloads[i], r.out);
    }
    cr_assert_eq(count_lines_containing(r.out, ""), N_WORKLOADS, "%s", r.out);
    run_result_free(&r);
    support_end();
}

Test(bench_smoke, help_exits_0, .timeout = 30)
{
    support_begin();
    const char  *argv[] = {"--help", NULL};
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 0);
    cr_assert_not_null(strstr(r.out, "usage:"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "unbuf_pingpong"), "help does not list the workloads");
    run_result_free(&r);
    support_end();
}

/* Runs bench with argv and expects exit 2, a message containing `message`
 * and the usage on stderr, and nothing on stdout. */
static void expect_usage_error(const char *const argv[], const char *message)
{
    run_result_t r = run_program("bench", argv);
    cr_assert_eq(r.exit_code, 2, "exit %d for %s; stderr: %s", r.exit_code, argv[0], r.err);
    cr_assert_not_null(strstr(r.err, message), "stderr lacks '%s': %s", message, r.err);
    cr_assert_not_null(strstr(r.err, "usage:"), "no usage on stderr: %s", r.err);
    cr_assert_str_eq(r.out, "", "stdout not empty: %s", r.out);
    run_result_free(&r);
}

Test(bench_smoke, unknown_workload_exits_2, .timeout = 30)
{
    support_begin();
    const char *argv[] = {"no_such_workload", NULL};
    expect_usage_error(argv, "unknown workload");
    support_end();
}

Test(bench_smoke, bad_n_exits_2, .timeout = 30)
{
    support_begin();
    const char *zero[] = {"buf_spsc", "--n", "0", NULL};
    const char *negative[] = {"buf_spsc", "--n", "-5", NULL};
    const char *word[] = {"buf_spsc", "--n", "many", NULL};
    const char *overflow[] = {"buf_spsc", "--n", "99999999999999999999", NULL};
    const char *missing[] = {"buf_spsc", "--n", NULL};
    const char *unknown_flag[] = {"--fast", NULL};
    const char *two_names[] = {"pool", "pipeline", NULL};
    expect_usage_error(zero, "--n");
    expect_usage_error(negative, "--n");
    expect_usage_error(word, "not a number");
    expect_usage_error(overflow, "--n");
    expect_usage_error(missing, "--n");
    expect_usage_error(unknown_flag, "--fast");
    expect_usage_error(two_names, "too many arguments");
    support_end();
}
