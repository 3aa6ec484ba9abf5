/*
 * test_common_go.c - goroutines (common/go.h): go() runs the function on a
 * new thread, go_count() counts it from go()'s return until the function
 * returns, go_named() names it in go_dump() and for the OS, and bad
 * arguments or a failed allocation start nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fenv.h>
#if defined(__x86_64__)
#include <xmmintrin.h> /* _mm_getcsr */
#endif
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/os.h"
#include "common/sync.h"
#include "tests/support/support.h"

/* Blocks until its channel is closed; reports its thread id and the name
 * the system gives its thread (os_thread_get_name) first. */
typedef struct {
    chan_t     *gate;
    atomic_int  tid;
    char        os_name[32];
    waitgroup_t started;
} blocker_t;

static void blocker(void *arg)
{
    blocker_t *b = arg;
    chan_t    *gate = b->gate; /* its own reference, taken by start_blocker */
    atomic_store(&b->tid, (int)gettid());
    os_thread_get_name(b->os_name, sizeof b->os_name);
    waitgroup_done(&b->started); /* publishes os_name to start_blocker */
    chan_recv(gate, NULL);
    chan_release(gate);
}

static void start_blocker(blocker_t *b, const char *name)
{
    b->gate = chan_make(0, 0);
    atomic_store(&b->tid, 0);
    waitgroup_init(&b->started);
    waitgroup_add(&b->started, 1);
    chan_retain(b->gate);
    cr_assert_eq(name ? go_named(name, blocker, b) : go(blocker, b), 0);
    waitgroup_wait(&b->started);
}

static void stop_blocker(blocker_t *b)
{
    chan_close(b->gate);
    chan_release(b->gate);
    waitgroup_destroy(&b->started);
}

/* go_dump() into a string (free it). */
static char *dump(size_t *lines)
{
    char  *text = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    *lines = go_dump(out);
    fclose(out);
    return text;
}

Test(go, counts_a_goroutine_until_its_function_returns, .timeout = 10)
{
    support_begin();
    size_t    base = go_count();
    blocker_t b;
    start_blocker(&b, NULL);
    cr_assert_eq(go_count(), base + 1);
    cr_assert_neq(atomic_load(&b.tid), (int)gettid(), "fn runs on another thread");
    stop_blocker(&b);
    support_end(); /* polls until go_count() is back to base */
    cr_assert_eq(go_count(), base);
}

static atomic_int ran[64];

static void mark(void *arg)
{
    atomic_fetch_add(&ran[(long)arg], 1);
}

Test(go, every_goroutine_runs_exactly_once, .timeout = 10)
{
    support_begin();
    for (long i = 0; i < 64; i++)
        atomic_store(&ran[i], 0);
    for (long i = 0; i < 64; i++)
        cr_assert_eq(go(mark, (void *)i), 0);
    support_end();
    for (int i = 0; i < 64; i++)
        cr_assert_eq(atomic_load(&ran[i]), 1, "goroutine %d ran %d times", i, atomic_load(&ran[i]));
}

Test(go, go_named_shows_in_go_dump_and_as_the_thread_name, .timeout = 10)
{
    support_begin();
    blocker_t named, anonymous;
    start_blocker(&named, "stage square 42");
    start_blocker(&anonymous, NULL);
    size_t lines;
    char  *text = dump(&lines);
    cr_assert_geq(lines, 2);
    cr_assert_not_null(strstr(text, "]: stage square 42"), "go_dump wrote:\n%s", text);
    cr_assert_not_null(strstr(text, "]: goroutine"), "a NULL name reads \"goroutine\":\n%s", text);
    size_t newlines = 0;
    for (const char *p = text; *p; p++)
        newlines += *p == '\n';
    cr_assert_eq(newlines, lines, "go_dump returns the number of lines it wrote");
    free(text);

    /* Threads: the goroutine's own thread carries its name. M:N: a goroutine
     * is no thread; it runs on one of the workers, and that is the name. */
    const char *want = strcmp(go_runtime(), "threads") == 0 ? "stage square 42" : "goc-worker";
    cr_assert_str_eq(named.os_name, want, "the name of the thread it ran on (first 15 bytes)");
    if (strcmp(os_flavour(), "linux") == 0) { /* the kernel knows it too: ps and gdb show it */
        char path[64], comm[32] = "", line[32];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", atomic_load(&named.tid));
        snprintf(line, sizeof line, "%s\n", want);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(comm, sizeof comm, f));
        fclose(f);
        cr_assert_str_eq(comm, line, "the OS sees the same name");
    }

    stop_blocker(&named);
    stop_blocker(&anonymous);
    support_end();
    text = dump(&lines);
    cr_assert_null(strstr(text, "stage square 42"), "a returned goroutine is still listed");
    free(text);
}

/* Whether text has `name` followed by the end of the name: " on chan ..."
 * once the goroutine waits, the end of the line while it still runs. */
static bool name_ends_at(const char *text, const char *name)
{
    const char *at = strstr(text, name);
    return at != NULL && (at[strlen(name)] == ' ' || at[strlen(name)] == '\n');
}

Test(go, a_long_name_is_cut_to_47_bytes_and_a_short_one_kept_whole, .timeout = 10)
{
    support_begin();
    char long_name[100];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    memcpy(long_name, "head-", 5);
    blocker_t cut, whole;
    start_blocker(&cut, long_name);
    start_blocker(&whole, "s");
    size_t lines;
    char  *text = dump(&lines);
    char   want[64];
    snprintf(want, sizeof want, "]: %.47s", long_name);
    cr_assert(name_ends_at(text, want), "want the first 47 bytes; go_dump wrote:\n%s", text);
    cr_assert(name_ends_at(text, "]: s"), "go_dump wrote:\n%s", text);
    free(text);
    stop_blocker(&cut);
    stop_blocker(&whole);
    support_end();
}

/* A dump while goroutines finish and their records are reused at once
 * (M:N keeps finished records listed, dead): every line it prints is one
 * whole goroutine of the churn, named as it was started. Under TSan this
 * is also the check that a reused record is never rewritten while a dump
 * reads it. */
typedef struct {
    atomic_int stop;
    long       dumps, lines, bad;
    char       last_bad[160];
} dumper_t;

static void dump_until_stopped(void *arg)
{
    dumper_t *d = arg;
    while (!atomic_load(&d->stop)) {
        size_t lines;
        char  *text = dump(&lines);
        for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            const char *name = strstr(line, "]: ");
            unsigned    number;
            char        rest;
            d->lines++;
            if (name == NULL ||
                (strncmp(name + 3, "churn ", 6) == 0 ? sscanf(name + 9, "%u%c", &number, &rest) != 1
                                                     : strcmp(name + 3, "dumper") != 0)) {
                d->bad++;
                snprintf(d->last_bad, sizeof d->last_bad, "%s", line);
            }
        }
        free(text);
        d->dumps++;
    }
    atomic_store(&d->stop, 2);
}

static void churn_one(void *arg)
{
    waitgroup_done(arg);
}

Test(go, a_dump_sees_whole_records_while_goroutines_come_and_go, .timeout = 60)
{
    support_begin();
    int         rounds = support_under_valgrind() ? 20 : 200;
    dumper_t    d = {.stop = 0};
    waitgroup_t wg;
    waitgroup_init(&wg);
    cr_assert_eq(support_start_thread(dump_until_stopped, &d), 0);
    char name[32];
    for (int round = 0; round < rounds; round++) {
        waitgroup_add(&wg, 50);
        for (int i = 0; i < 50; i++) {
            snprintf(name, sizeof name, "churn %d", round * 50 + i);
            cr_assert_eq(go_named(name, churn_one, &wg), 0);
        }
        waitgroup_wait(&wg);
    }
    atomic_store(&d.stop, 1);
    while (atomic_load(&d.stop) != 2)
        sched_yield();
    waitgroup_destroy(&wg);
    cr_assert_gt(d.dumps, 0);
    cr_assert_eq(d.bad, 0, "%ld of %ld lines were not a whole goroutine, e.g. %s", d.bad, d.lines,
                 d.last_bad);
    support_end();
}

Test(go, bad_arguments_and_allocation_failure_start_nothing, .timeout = 10)
{
    support_begin();
    size_t base = go_count();
    cr_assert_eq(go(NULL, NULL), EINVAL);
    cr_assert_eq(go_named("x", NULL, NULL), EINVAL);
    cr_assert_eq(go_count(), base);

    atomic_store(&ran[0], 0);
    alloc_fail_after(0);
    int rc = go(mark, (void *)0L);
    alloc_fail_reset();
    cr_assert(rc == ENOMEM || rc == EAGAIN, "go returned %d", rc);
    cr_assert_eq(go_count(), base);
    support_end();
    cr_assert_eq(atomic_load(&ran[0]), 0, "fn ran although go() failed");
}

/* ------------------------------------------- the floating-point state */

/* A goroutine's rounding mode is its own, as a thread's is: the switch
 * saves and restores the control registers (coro.c), so one goroutine's
 * fesetround does not leak into another that runs on the same worker; and
 * a new goroutine starts with its creator's mode, as a POSIX thread does. */
typedef struct {
    chan_t    *ready, *resume;
    atomic_int seen_by_upward, seen_by_other;
} rounding_env_t;

/* The rounding mode as the program sees it: what fegetround reports (on
 * x86-64 the x87 control word; FPCR on aarch64), and on x86-64 also SSE's
 * own, in MXCSR, which double arithmetic uses: -1 if the two disagree.
 * MXCSR's two rounding bits (13-14) are the x87 word's (10-11), which is
 * how glibc numbers FE_ constants there. The register is read, not an
 * arithmetic result: valgrind keeps the mode but rounds to nearest. */
static int rounding_mode_seen(void)
{
    int mode = fegetround();
#if defined(__x86_64__)
    if ((int)(((_mm_getcsr() >> 13) & 3) << 10) != mode)
        return -1;
#endif
    return mode;
}

/* Reports the mode it sees on `ready`, through a reference of its own
 * that its creator took for it: the test may release its own as soon as
 * it has received, while this goroutine is still inside chan_send. */
static void reports_its_mode(void *arg)
{
    rounding_env_t *e = arg;
    chan_t         *ready = e->ready;
    atomic_store(&e->seen_by_other, rounding_mode_seen());
    chan_send(ready, NULL);
    chan_release(ready);
}

/* Starts the other goroutine itself, before it changes its own mode (the
 * other inherits to-nearest), so that under M:N it is queued on this
 * worker and runs there as soon as this one parks. It too reports on
 * `ready` through a reference of its own (the test's, taken for it). */
static void rounds_upward(void *arg)
{
    rounding_env_t *e = arg;
    chan_t         *ready = e->ready;
    chan_retain(ready);
    cr_assert_eq(go(reports_its_mode, e), 0);
    fesetround(FE_UPWARD);
    chan_recv(e->resume, NULL); /* parks: the other goroutine runs */
    atomic_store(&e->seen_by_upward, rounding_mode_seen());
    fesetround(FE_TONEAREST);
    chan_send(ready, NULL);
    chan_release(ready);
}

Test(go, each_goroutine_keeps_its_own_rounding_mode, .timeout = 10)
{
    support_begin();
    cr_assert_eq(rounding_mode_seen(), FE_TONEAREST);
    rounding_env_t e = {.ready = chan_make(0, 0), .resume = chan_make(0, 0)};
    chan_retain(e.ready);
    cr_assert_eq(go(rounds_upward, &e), 0);
    cr_assert_eq(chan_recv(e.ready, NULL), 0); /* from reports_its_mode */
    cr_assert_eq(chan_send(e.resume, NULL), 0);
    cr_assert_eq(chan_recv(e.ready, NULL), 0);
    cr_assert_eq(atomic_load(&e.seen_by_other), FE_TONEAREST, "another goroutine's mode leaked");
    cr_assert_eq(atomic_load(&e.seen_by_upward), FE_UPWARD, "a goroutine lost its own mode");
    cr_assert_eq(rounding_mode_seen(), FE_TONEAREST);
    chan_release(e.ready);
    chan_release(e.resume);
    support_end();
}

Test(go, a_new_goroutine_starts_with_its_creators_rounding_mode, .timeout = 10)
{
    support_begin();
    rounding_env_t e = {.ready = chan_make(0, 0)};
    chan_retain(e.ready);
    fesetround(FE_UPWARD);
    int rc = go(reports_its_mode, &e);
    fesetround(FE_TONEAREST);
    cr_assert_eq(rc, 0);
    cr_assert_eq(chan_recv(e.ready, NULL), 0);
    cr_assert_eq(atomic_load(&e.seen_by_other), FE_UPWARD);
    chan_release(e.ready);
    support_end();
}
