/*
 * stress.h - what the stress programs in stress/ share.
 *
 * A stress program is a plain pthread program (no Criterion, so it also runs
 * under ThreadSanitizer) that hammers one part of the core with many threads
 * and checks invariants as it goes. The rules they all follow:
 *   - any violated invariant prints "stress <name>: FAIL: <what>" to stderr
 *     and exits 1 at once (other threads may still be running: carrying on
 *     would only add noise);
 *   - a watchdog turns a hang (a lost wake-up, a deadlock) into the same kind
 *     of failure, with a dump of the goroutines still running;
 *   - on success the last line on stdout is one summary line,
 *     "stress <name>: OK: ...", and the exit status is 0;
 *   - sizes come from the command line (`--help` lists them), so `make
 *     stress` can run the sizes and `make stress-ci` small ones.
 *
 * Everything here is static inline: each program is one .c file and this
 * header, nothing else to link but the core.
 */
#ifndef STRESS_STRESS_H
#define STRESS_STRESS_H

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/cli.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/timer.h"

/* The program's short name ("mpmc"), set by stress_parse. */
static const char *stress_name = "stress";

/* Prints the failure and ends the process with status 1. */
static inline void stress_fail(const char *file, int line, const char *fmt, ...)
{
    flockfile(stderr);
    fprintf(stderr, "stress %s: FAIL: ", stress_name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s:%d)\n", file, line);
    funlockfile(stderr);
    fflush(NULL);
    _exit(1); /* not exit(): the threads still running hold the objects atexit would tear down */
}

#define STRESS_CHECK(cond, ...)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            stress_fail(__FILE__, __LINE__, __VA_ARGS__);                                          \
    } while (0)

/* Seconds since an arbitrary origin, for the summary line. */
static inline double stress_seconds(void)
{
    return (double)time_now() / (double)TIME_SECOND;
}

/* xorshift64*: a private, reproducible random stream per thread. */
static inline uint64_t stress_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A number in [0, n). */
static inline uint64_t stress_below(uint64_t *state, uint64_t n)
{
    return n ? stress_rand(state) % n : 0;
}

/* ------------------------------------------------------------ options */

typedef struct {
    const char *name; /* "values": the flag is --values */
    int64_t    *value;
    int64_t     min, max;
    const char *help;
} stress_option_t;

/* Parses --name N (or --name=N) for each option, and --help. Bad input
 * prints the message and the usage to stderr and exits 2, like the lessons. */
static inline void stress_parse(const char *name, const char *what, int argc, char **argv,
                                stress_option_t *opts, size_t n_opts)
{
    stress_name = name;
    struct option long_opts[32];
    size_t        n = n_opts < 30 ? n_opts : 30;
    for (size_t i = 0; i < n; i++)
        long_opts[i] = (struct option){opts[i].name, required_argument, NULL, (int)i + 1};
    long_opts[n] = (struct option){"help", no_argument, NULL, 'h'};
    long_opts[n + 1] = (struct option){NULL, 0, NULL, 0};

    bool bad = false, help = false;
    int  c;
    opterr = 0;
    while (!bad && !help && (c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (c == 'h')
            help = true;
        else if (c >= 1 && c <= (int)n) {
            stress_option_t *o = &opts[c - 1];
            char             flag[64];
            snprintf(flag, sizeof flag, "--%s", o->name);
            bad = cli_parse_int(name, flag, optarg, o->min, o->max, o->value) != 0;
        } else {
            if (c == ':')
                fprintf(stderr, "%s: %s needs a value\n", name, argv[optind - 1]);
            else
                fprintf(stderr, "%s: unknown option '%s'\n", name, argv[optind - 1]);
            bad = true;
        }
    }
    if (!bad && !help && optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
        bad = true;
    }
    if (bad || help) {
        FILE *out = bad ? stderr : stdout;
        fprintf(out, "Usage: %s [OPTION]...\n%s\n\n", name, what);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "  --%-14s %s (default %" PRId64 ")\n", opts[i].name, opts[i].help,
                    *opts[i].value);
        fprintf(out, "  --%-14s this text\n", "help");
        exit(bad ? 2 : 0);
    }
}

/* ------------------------------------------------------------ watchdog */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t  stop;
    bool            stopping;
    int64_t         seconds;
    pthread_t       thread;
} stress_dog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0};

static inline void *stress_watchdog_main(void *unused)
{
    (void)unused;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += stress_dog.seconds;
    pthread_mutex_lock(&stress_dog.lock);
    int rc = 0;
    while (!stress_dog.stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&stress_dog.stop, &stress_dog.lock, &deadline);
    bool expired = !stress_dog.stopping;
    pthread_mutex_unlock(&stress_dog.lock);
    if (expired) {
        flockfile(stderr);
        fprintf(stderr,
                "stress %s: FAIL: still running after %" PRId64 " s (a lost wake-up or a "
                "deadlock?); goroutines still running:\n",
                stress_name, stress_dog.seconds);
        go_dump(stderr);
        funlockfile(stderr);
        fflush(NULL);
        _exit(1);
    }
    return NULL;
}

/* Fails the program if stress_watchdog_stop is not called within seconds. */
static inline void stress_watchdog_start(int64_t seconds)
{
    stress_dog.seconds = seconds;
    if (pthread_create(&stress_dog.thread, NULL, stress_watchdog_main, NULL) != 0) {
        fprintf(stderr, "stress %s: cannot start the watchdog thread\n", stress_name);
        exit(1);
    }
}

static inline void stress_watchdog_stop(void)
{
    pthread_mutex_lock(&stress_dog.lock);
    stress_dog.stopping = true;
    pthread_cond_signal(&stress_dog.stop);
    pthread_mutex_unlock(&stress_dog.lock);
    pthread_join(stress_dog.thread, NULL);
}

/* Fails unless every goroutine has returned and every allocation, timer and
 * thread is back to the snapshot taken at the start. */
static inline void stress_check_clean(const leak_snapshot_t *base)
{
    char  *report = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&report, &size);
    int    rc = leak_check(base, 1, out);
    if (out)
        fclose(out);
    STRESS_CHECK(rc == 0, "the run did not shut down cleanly:\n%s", report ? report : "");
    free(report);
}

#endif
