/*
 * test_common_misc.c - the small modules the tests and lessons lean on:
 * counted allocation with fault injection (common/alloc.h), the leak check
 * (common/leak.h) and command-line number parsing (common/cli.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/cli.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/sync.h"
#include "tests/support/support.h"

Test(alloc, counts_live_blocks_and_bytes, .timeout = 10)
{
    support_begin();
    int64_t blocks = alloc_live(), bytes = alloc_live_bytes();
    char   *p = goc_malloc(100);
    cr_assert_not_null(p);
    memset(p, 1, 100);
    cr_assert_eq(alloc_live(), blocks + 1);
    cr_assert_eq(alloc_live_bytes(), bytes + 100);
    long *q = goc_calloc(10, sizeof(long));
    cr_assert_not_null(q);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(q[i], 0, "goc_calloc zeroes");
    cr_assert_eq(alloc_live(), blocks + 2);
    cr_assert_eq(alloc_live_bytes(), bytes + 100 + 10 * (int64_t)sizeof(long));
    goc_free(p);
    goc_free(q);
    goc_free(NULL);
    cr_assert_eq(alloc_live(), blocks);
    cr_assert_eq(alloc_live_bytes(), bytes);
    errno = 0;
    cr_assert_null(goc_calloc(SIZE_MAX / 2, 4), "count * size overflows");
    cr_assert_eq(errno, ENOMEM);
    cr_assert_eq(alloc_live(), blocks);
    support_end();
}

Test(alloc, fail_after_n_fails_from_the_next_one_on_until_reset, .timeout = 10)
{
    support_begin();
    int64_t before = alloc_live();
    void   *ok[3];
    alloc_fail_after(3);
    for (int i = 0; i < 3; i++) {
        ok[i] = i % 2 ? goc_calloc(2, 8) : goc_malloc(8);
        cr_assert_not_null(ok[i], "allocation %d of 3 allowed", i + 1);
    }
    for (int i = 0; i < 2; i++) {
        errno = 0;
        cr_assert_null(i ? goc_calloc(1, 8) : goc_malloc(8), "allocation %d must fail", 4 + i);
        cr_assert_eq(errno, ENOMEM);
    }
    alloc_fail_reset();
    void *p = goc_malloc(8);
    cr_assert_not_null(p, "reset ends the failures");
    goc_free(p);
    alloc_fail_after(0);
    cr_assert_null(goc_malloc(1), "n = 0: the very next allocation fails");
    alloc_fail_reset();
    for (int i = 0; i < 3; i++)
        goc_free(ok[i]);
    cr_assert_eq(alloc_live(), before, "failed allocations are not counted");
    support_end();
}

/* leak_check() output in a string (free it); *rc gets its result. */
static char *check(const leak_snapshot_t *base, int check_threads, int *rc)
{
    char  *text = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    *rc = leak_check(base, check_threads, out);
    fclose(out);
    return text;
}

typedef struct {
    chan_t     *gate;
    waitgroup_t started, ended;
} sleeper_t;

static void sleeper(void *arg)
{
    sleeper_t *s = arg;
    waitgroup_done(&s->started);
    chan_recv(s->gate, NULL);
    waitgroup_done(&s->ended);
}

Test(leak, names_a_goroutine_still_running, .timeout = 10)
{
    support_begin();
    leak_snapshot_t base = leak_snapshot();
    sleeper_t       s = {.gate = chan_make(0, 0)};
    waitgroup_init(&s.started), waitgroup_init(&s.ended);
    waitgroup_add(&s.started, 1), waitgroup_add(&s.ended, 1);
    cr_assert_eq(go_named("leaky sleeper", sleeper, &s), 0);
    waitgroup_wait(&s.started);
    if (strcmp(go_runtime(), "threads") == 0)
        cr_assert_eq(leak_snapshot().threads, base.threads + 1, "one more OS thread");
    else /* M:N: the workers are the core's own threads, not the goroutine's */
        cr_assert_eq(leak_snapshot().threads, base.threads, "no OS thread of its own");

    int   rc;
    char *report = check(&base, 1, &rc);
    cr_assert_eq(rc, EBUSY);
    cr_assert_not_null(strstr(report, "leaky sleeper"), "the report names it:\n%s", report);
    free(report);
    cr_assert_eq(leak_check(&base, 0, NULL), EBUSY, "a NULL report is allowed");

    chan_close(s.gate);
    waitgroup_wait(&s.ended);
    chan_release(s.gate);
    waitgroup_destroy(&s.started), waitgroup_destroy(&s.ended);
    report = check(&base, 1, &rc);
    cr_assert_eq(rc, 0, "clean once it returned, yet:\n%s", report);
    cr_assert_str_eq(report, "", "a clean check writes nothing");
    free(report);
    support_end();
}

Test(leak, reports_allocations_not_freed, .timeout = 10)
{
    support_begin();
    leak_snapshot_t base = leak_snapshot();
    void           *p = goc_malloc(16);
    int             rc;
    char           *report = check(&base, 0, &rc);
    cr_assert_eq(rc, EBUSY);
    cr_assert_not_null(strstr(report, "allocations"), "report:\n%s", report);
    free(report);
    goc_free(p);
    cr_assert_eq(leak_check(&base, 0, NULL), 0);
    cr_assert_gt(leak_thread_count(), 0);
    support_end();
}

/* Runs cli_parse_int with stderr captured; returns what it printed (free). */
static char *parse(const char *text, int64_t min, int64_t max, int *rc, int64_t *out)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    *rc = cli_parse_int("prog", "--workers", text, min, max, out);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fileno(tmp), 0, SEEK_END);
    cr_assert_geq(len, 0);
    char *msg = calloc(1, (size_t)len + 1);
    cr_assert_not_null(msg);
    cr_assert_eq(pread(fileno(tmp), msg, (size_t)len, 0), len);
    fclose(tmp);
    return msg;
}

Test(cli, parse_int_accepts_numbers_in_range, .timeout = 10)
{
    support_begin();
    const struct {
        const char *text;
        int64_t     value;
    } good[] = {{"42", 42}, {"1", 1}, {"100", 100}, {"-7", -7}, {"0", 0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int     rc;
        int64_t out = 12345;
        char   *msg = parse(good[i].text, -10, 100, &rc, &out);
        cr_assert_eq(rc, 0, "'%s' refused: %s", good[i].text, msg);
        cr_assert_eq(out, good[i].value);
        cr_assert_str_eq(msg, "", "nothing printed on success");
        free(msg);
    }
    int     rc;
    int64_t out;
    char   *msg = parse("9223372036854775807", INT64_MIN, INT64_MAX, &rc, &out);
    cr_assert_eq(rc, 0);
    cr_assert_eq(out, INT64_MAX);
    free(msg);
    support_end();
}

Test(cli, parse_int_rejects_bad_text_with_a_message, .timeout = 10)
{
    support_begin();
    const struct {
        const char *text, *message;
    } bad[] = {
        {"abc", "prog: --workers: 'abc' is not a number"},
        {"12x", "prog: --workers: '12x' is not a number"},
        {"4.5", "prog: --workers: '4.5' is not a number"},
        {" 5", "prog: --workers: ' 5' is not a number"},
        {"5 ", "prog: --workers: '5 ' is not a number"},
        {"", "prog: --workers: "},
        {"0", "prog: --workers: '0' must be between 1 and 100"},
        {"-3", "prog: --workers: '-3' must be between 1 and 100"},
        {"101", "prog: --workers: '101' must be between 1 and 100"},
        {"99999999999999999999",
         "prog: --workers: '99999999999999999999' must be between 1 and 100"},
        {"-99999999999999999999", "prog: --workers: '-99999999999999999999' must be between 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int     rc;
        int64_t out = 12345;
        char   *msg = parse(bad[i].text, 1, 100, &rc, &out);
        cr_assert_eq(rc, EINVAL, "'%s' accepted", bad[i].text);
        cr_assert_eq(out, 12345, "'%s': *out changed on failure", bad[i].text);
        cr_assert_not_null(strstr(msg, bad[i].message), "'%s': message was \"%s\"", bad[i].text,
                           msg);
        cr_assert_eq(msg[strlen(msg) - 1], '\n', "one whole line");
        free(msg);
    }
    support_end();
}
