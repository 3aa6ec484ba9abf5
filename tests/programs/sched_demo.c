/*
 * sched_demo.c - situations of the M:N scheduler that need a process of
 * their own (tests/test_common_sched.c runs them):
 *
 *   many N        N goroutines park on one channel, then all are released;
 *                 prints how many OS threads and how much memory they took
 *   guards        prints "free" if a guard page costs no kernel mapping of
 *                 its own here (os_guard_pages_are_free), else "mappings"
 *   one-worker    GOC_MAXPROCS=1: a pipeline and a fair select, all on one
 *                 worker thread
 *   burst         GOC_MAXPROCS=1: a goroutine starts 20,000 goroutines
 *                 that return at once; prints how many were alive at most
 *   blocking      GOC_MAXPROCS=1: a goroutine blocks in read() inside
 *                 go_blocking_begin/end while two others play ping-pong
 *   overflow      a goroutine named "deep recursion" overflows its stack
 *   no-thread     the first worker thread cannot start: go() says EAGAIN
 *   no-stack      no stack can be mapped: go() says ENOMEM
 *
 * Every mode that could hang arms alarm(): exit status 3 means "stuck".
 * Each mode prints "ok" last when it finished as it should.
 */
#ifndef _DEFAULT_SOURCE /* a -D on the command line wins */
#define _DEFAULT_SOURCE /* setenv */
#endif

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/go.h"
#include "common/leak.h"
#include "common/os.h"
#include "common/sched.h"
#include "common/stack.h"
#include "common/sync.h"

static void on_alarm(int signo)
{
    (void)signo;
    static const char msg[] = "stuck: the alarm rang\n";
    ssize_t           ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

/* Resident memory of this process in KiB, from /proc (0 if unknown). */
static long resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long  pages = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ------------------------------------------------------------ many */

static chan_t     *gate;
static waitgroup_t all_parked, all_done;
static atomic_int  ran;

static void park_on_gate(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
    waitgroup_done(&all_parked);
    chan_recv(gate, NULL);
    waitgroup_done(&all_done);
}

static int many(int n)
{
    long threads_before = leak_thread_count();
    long rss_before = resident_kib();
    gate = chan_make(0, 0);
    waitgroup_init(&all_parked), waitgroup_init(&all_done);
    waitgroup_add(&all_parked, n), waitgroup_add(&all_done, n);
    for (int i = 0; i < n; i++) {
        int rc = go_named("parked", park_on_gate, NULL);
        if (rc != 0) {
            printf("go() failed at goroutine %d: %s\n", i, strerror(rc));
            return 1;
        }
    }
    waitgroup_wait(&all_parked);
    long threads = leak_thread_count() - threads_before;
    long kib = resident_kib() - rss_before;
    printf("parked %d goroutines: %zu running, %ld OS threads added, %.1f KiB each\n", n,
           go_count(), threads, (double)kib / n);
    chan_close(gate);
    waitgroup_wait(&all_done);
    while (go_count() > 0) /* between waitgroup_done and returning */
        go_yield();
    waitgroup_destroy(&all_parked), waitgroup_destroy(&all_done);
    chan_release(gate);
    printf("released: %d ran, %zu still running\n", atomic_load(&ran), go_count());
    return 0;
}

/* ------------------------------------------------------------ one-worker */

enum { STAGE_ITEMS = 2000, SELECT_ROUNDS = 4000 };

static waitgroup_t stages; /* every goroutine of one-worker */

static void produce(void *arg)
{
    chan_t *out = arg;
    for (int i = 0; i < STAGE_ITEMS; i++)
        chan_send(out, &i);
    chan_close(out);
    waitgroup_done(&stages);
}

static void square(void *arg)
{
    chan_t **link = arg;
    int      v;
    while (chan_recv(link[0], &v) == 0) {
        v *= v;
        chan_send(link[1], &v);
    }
    chan_close(link[1]);
    waitgroup_done(&stages);
}

/* Selects SELECT_ROUNDS times over two channels that stay ready (each
 * holds a value for every round): a fair select picks each about half the
 * time. Runs as a goroutine, so on the one worker too. */
static void select_rounds(void *arg)
{
    chan_t **ab = arg;
    int      picked[2] = {0, 0}, v;
    for (int i = 0; i < SELECT_ROUNDS; i++) {
        chan_case_t cases[2] = {chan_case_recv(ab[0], &v), chan_case_recv(ab[1], &v)};
        picked[chan_select(cases, 2)]++;
    }
    chan_send(ab[2], picked);
    waitgroup_done(&stages);
}

/* burst: one goroutine starts BURST goroutines, each of which only says
 * it is done, and notes the most goroutines alive right after a start. */
enum { BURST = 20000 };

typedef struct {
    waitgroup_t started, finished;
    size_t      peak;
    int         rc;
} burst_t;

static void burst_one(void *arg)
{
    waitgroup_done(&((burst_t *)arg)->finished);
}

static void burst_starter(void *arg)
{
    burst_t *b = arg;
    for (int i = 0; i < BURST && b->rc == 0; i++) {
        waitgroup_add(&b->finished, 1);
        b->rc = go_named("burst", burst_one, b);
        if (b->rc != 0)
            waitgroup_done(&b->finished);
        size_t alive = go_count();
        b->peak = alive > b->peak ? alive : b->peak;
    }
    waitgroup_done(&b->started);
}

static int burst(void)
{
    burst_t b = {.peak = 0, .rc = 0};
    waitgroup_init(&b.started), waitgroup_init(&b.finished);
    waitgroup_add(&b.started, 1);
    int rc = go_named("starter", burst_starter, &b);
    if (rc == 0) {
        waitgroup_wait(&b.started);
        waitgroup_wait(&b.finished);
        rc = b.rc;
    }
    waitgroup_destroy(&b.started), waitgroup_destroy(&b.finished);
    printf("burst: %d goroutines started, at most %zu alive at once\n", BURST, b.peak);
    return rc;
}

static int one_worker(void)
{
    chan_t *numbers = chan_make(sizeof(int), 0), *squares = chan_make(sizeof(int), 0);
    chan_t *link[2] = {numbers, squares};
    waitgroup_init(&stages);
    waitgroup_add(&stages, 3);
    go_named("produce", produce, numbers);
    go_named("square", square, link);
    long sum = 0, expected = 0;
    int  v, received = 0;
    while (chan_recv(squares, &v) == 0) {
        sum += v;
        received++;
    }
    for (long i = 0; i < STAGE_ITEMS; i++)
        expected += i * i;
    printf("pipeline: %d values, sum %s\n", received, sum == expected ? "right" : "WRONG");

    chan_t *a = chan_make(sizeof(int), SELECT_ROUNDS), *b = chan_make(sizeof(int), SELECT_ROUNDS);
    chan_t *counts = chan_make(2 * sizeof(int), 0);
    for (int i = 0; i < SELECT_ROUNDS; i++) {
        chan_send(a, &i);
        chan_send(b, &i);
    }
    chan_t *ab[3] = {a, b, counts};
    go_named("selector", select_rounds, ab);
    int picked[2];
    chan_recv(counts, picked);
    waitgroup_wait(&stages);
    waitgroup_destroy(&stages);
    printf("select: a %d, b %d of %d\n", picked[0], picked[1], SELECT_ROUNDS);
    chan_release(numbers), chan_release(squares), chan_release(a), chan_release(b);
    chan_release(counts);
    bool fair = picked[0] > SELECT_ROUNDS / 4 && picked[1] > SELECT_ROUNDS / 4;
    return received == STAGE_ITEMS && sum == expected && fair ? 0 : 1;
}

/* ------------------------------------------------------------ blocking */

static int        pipe_fds[2];
static atomic_int volleys, reader_in_call;

static void read_pipe(void *arg)
{
    waitgroup_t *done = arg;
    char         byte = 0;
    go_blocking_begin();
    atomic_store(&reader_in_call, 1);
    ssize_t n = read(pipe_fds[0], &byte, 1); /* blocks until ping-pong is over */
    go_blocking_end();
    printf("reader: read %zd byte '%c'\n", n, byte);
    waitgroup_done(done);
}

static void ping(void *arg)
{
    chan_t **pair = arg;
    while (!atomic_load(&reader_in_call)) /* the reader blocks first */
        go_yield();
    for (int i = 0; i < 1000; i++) {
        chan_send(pair[0], &i);
        chan_recv(pair[1], &i);
        atomic_fetch_add(&volleys, 1);
    }
    ssize_t ignored = write(pipe_fds[1], "x", 1); /* now let the reader go */
    (void)ignored;
    chan_close(pair[0]);
}

static void pong(void *arg)
{
    chan_t **pair = arg;
    int      v;
    while (chan_recv(pair[0], &v) == 0)
        chan_send(pair[1], &v);
}

static int blocking(void)
{
    if (pipe(pipe_fds) != 0)
        return 1;
    waitgroup_t done;
    waitgroup_init(&done);
    waitgroup_add(&done, 1);
    chan_t *pair[2] = {chan_make(sizeof(int), 0), chan_make(sizeof(int), 0)};
    go_named("reader", read_pipe, &done);
    go_named("ping", ping, pair);
    go_named("pong", pong, pair);
    waitgroup_wait(&done);
    waitgroup_destroy(&done);
    printf("volleys while the reader blocked: %d\n", atomic_load(&volleys));
    while (go_count() > 0) /* pong ends once ping closed its channel */
        go_yield();
    chan_release(pair[0]), chan_release(pair[1]);
    return atomic_load(&volleys) == 1000 ? 0 : 1;
}

/* ------------------------------------------------------------ overflow */

/* Recurses until `limit` (never reached: the stack ends first); the
 * compiler cannot see that, so it keeps every frame. */
static int recurse(volatile char *previous, int depth, int limit)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = previous != NULL ? previous[0] : 0;
    if (depth == limit)
        return frame[0];
    return recurse(frame, depth + 1, limit) + frame[511];
}

static void deep(void *arg)
{
    (void)arg;
    printf("recursion: %d\n", recurse(NULL, 0, atoi("100000000")));
}

static int overflow(void)
{
    waitgroup_t never;
    waitgroup_init(&never);
    waitgroup_add(&never, 1);
    go_named("deep recursion", deep, NULL);
    waitgroup_wait(&never); /* the overflow ends the process first */
    return 1;
}

/* ------------------------------------------------------------ faults */

static void nothing(void *arg)
{
    (void)arg;
}

static int start_failure(bool stack)
{
    int64_t live = alloc_live();
    if (stack)
        gstack_fail_after(0);
    else
        sched_thread_fail_after(0);
    int rc = go_named("doomed", nothing, NULL);
    printf("go() = %s; %zu running, %lld blocks live more than before\n",
           rc == 0 ? "0" : strerror(rc), go_count(), (long long)(alloc_live() - live));
    gstack_fail_reset();
    sched_thread_fail_reset();
    int want = stack ? ENOMEM : EAGAIN;
    if (rc != want || go_count() != 0 || alloc_live() != live)
        return 1;
    /* Nothing broke: the next start works. */
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 1);
    rc = go_named("fine", (void (*)(void *))waitgroup_done, &wg);
    if (rc == 0)
        waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
    printf("then go() = %d\n", rc);
    return rc;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "one-worker") == 0 || strcmp(mode, "blocking") == 0 ||
        strcmp(mode, "burst") == 0)
        setenv("GOC_MAXPROCS", "1", 1); /* before the core's first use */
    signal(SIGALRM, on_alarm);
    alarm(60);
    int rc = 2;
    if (strcmp(mode, "many") == 0 && argc > 2)
        rc = many(atoi(argv[2]));
    else if (strcmp(mode, "guards") == 0)
        rc = printf("%s\n", os_guard_pages_are_free() ? "free" : "mappings") > 0 ? 0 : 1;
    else if (strcmp(mode, "one-worker") == 0)
        rc = one_worker();
    else if (strcmp(mode, "blocking") == 0)
        rc = blocking();
    else if (strcmp(mode, "burst") == 0)
        rc = burst();
    else if (strcmp(mode, "overflow") == 0)
        rc = overflow();
    else if (strcmp(mode, "no-thread") == 0)
        rc = start_failure(false);
    else if (strcmp(mode, "no-stack") == 0)
        rc = start_failure(true);
    else
        fprintf(stderr, "usage: %s many N|one-worker|burst|blocking|overflow|no-thread|no-stack\n",
                argv[0]);
    if (rc == 0)
        printf("ok\n");
    return rc;
}
