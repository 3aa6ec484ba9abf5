/*
 * tests/tsan/runner.c - the main() of a test binary in the ThreadSanitizer
 * build, where Criterion cannot run (see criterion/criterion.h beside it).
 *
 *     build/tsan/tests/test_common_chan [FILTER]
 *
 * Runs every test registered by Test() in one process, in the order they
 * appear in the file, each under an alarm() set to its .timeout. Only tests
 * whose "suite/name" contains FILTER run, if it is given. The first failure
 * (an assertion, a failed cr_expect, a timeout) prints what went wrong and
 * ends the process with status 1 at once: other threads of the failed test
 * may still be running, so carrying on would only report noise. The last
 * line is "tsan-runner: N passed, M failed", which scripts/run-tests.sh
 * checks (together with TSan's own report files).
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 30 /* seconds, for a test that gives none */

static struct tsan_test *tests;            /* sorted by (file, line) */
static int               passed;           /* tests finished so far */
static atomic_int        expect_failed;    /* a cr_expect failed in the running test */
static char              timeout_msg[512]; /* prepared in advance: the handler may only write() */

void tsan_register(struct tsan_test *t)
{
    /* Constructors may run in any order; keep the list in source order. */
    struct tsan_test **at = &tests;
    while (*at && (strcmp((*at)->file, t->file) < 0 ||
                   (strcmp((*at)->file, t->file) == 0 && (*at)->line < t->line)))
        at = &(*at)->next;
    t->next = *at;
    *at = t;
}

static void finish_failed(void)
{
    fprintf(stderr, "tsan-runner: %d passed, 1 failed\n", passed);
    fflush(NULL);
    _exit(1); /* not exit(): atexit handlers could wait on the broken test's threads */
}

void tsan_fail_(const char *file, int line, int fatal, const char *expr, const char *values,
                const char *fmt, ...)
{
    flockfile(stderr); /* one failure report at a time, even from several threads */
    fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, fatal ? "assertion" : "expectation",
            expr);
    if (values)
        fprintf(stderr, "    %s\n", values);
    if (fmt[1] != '\0') { /* skip the "x" the macros put in front */
        va_list ap;
        va_start(ap, fmt);
        fputs("    ", stderr);
        vfprintf(stderr, fmt + 1, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    funlockfile(stderr);
    if (fatal)
        finish_failed();
    atomic_store(&expect_failed, 1);
}

void tsan_log_(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

void tsan_show_int_(char *buf, size_t len, intmax_t v)
{
    snprintf(buf, len, "%jd", v);
}

void tsan_show_uint_(char *buf, size_t len, uintmax_t v)
{
    snprintf(buf, len, "%ju", v);
}

void tsan_show_float_(char *buf, size_t len, long double v)
{
    snprintf(buf, len, "%Lg", v);
}

void tsan_show_ptr_(char *buf, size_t len, const void *v)
{
    snprintf(buf, len, "%p", v);
}

static void *do_nothing(void *arg)
{
    return arg;
}

static void on_alarm(int sig)
{
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, timeout_msg, strlen(timeout_msg));
    (void)ignored;
    _exit(1);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (argc > 2 || (filter && filter[0] == '-')) {
        fprintf(stderr, "usage: %s [FILTER]   (runs the tests whose suite/name contains FILTER)\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    /* TSan starts a background thread of its own at the first
     * pthread_create. Make it happen now, before any test counts threads. */
    pthread_t first;
    if (pthread_create(&first, NULL, do_nothing, NULL) == 0)
        pthread_join(first, NULL);

    for (struct tsan_test *t = tests; t; t = t->next) {
        char id[256];
        snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
        if (filter && !strstr(id, filter))
            continue;
        unsigned timeout = DEFAULT_TIMEOUT;
        if (t->opts.timeout > 0) /* whole seconds, rounded up */
            timeout = (unsigned)t->opts.timeout + (t->opts.timeout > (unsigned)t->opts.timeout);
        snprintf(timeout_msg, sizeof timeout_msg,
                 "%s:%d: %s timed out after %u s\ntsan-runner: %d passed, 1 failed\n", t->file,
                 t->line, id, timeout, passed);
        fprintf(stderr, "[RUN ] %s\n", id);
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        alarm(timeout);
        t->fn();
        alarm(0);
        clock_gettime(CLOCK_MONOTONIC, &end);
        if (atomic_load(&expect_failed)) {
            fprintf(stderr, "[FAIL] %s\n", id);
            finish_failed();
        }
        fprintf(stderr, "[ OK ] %s (%.2f s)\n", id,
                (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
        passed++;
    }
    if (passed == 0) {
        fprintf(stderr, "tsan-runner: no test matched%s%s\n", filter ? " " : "",
                filter ? filter : "");
        return 1;
    }
    fprintf(stderr, "tsan-runner: %d passed, 0 failed\n", passed);
    return 0;
}
