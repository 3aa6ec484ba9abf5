/*
 * runtime_demo.c - small programs for tests/test_common_runtime.c: each mode
 * sets up one situation for the deadlock watchdog and the goroutine dump.
 *
 *   deadlock   two goroutines wait on each other, main waits on a wait group
 *   states     one goroutine in each kind of core wait, then deadlock
 *   reader     a goroutine blocked in read() while main waits on a channel:
 *              no report; SIGALRM feeds the pipe after 1 s and all ends well
 *   sleeper    a goroutine in time_sleep(1 s) while main waits: no report
 *   timer      a select with a time_after case: no report until it fires
 *   sigquit    SIGQUIT prints a dump and the program goes on
 *   threads    prints how many OS threads the core has added before the first
 *              go() (expected: 0, making channels starts nothing) and, workers
 *              aside, once a goroutine has come and gone (expected: 1, the
 *              timer thread that runs the watchdog)
 *   alone      main alone waits for ever on a channel, having started no
 *              goroutine: no watchdog runs, so no report; the alarm ends it
 *   blind      the deadlock of `deadlock`, on a platform that cannot count
 *              its threads (os_pretend_thread_count_unknown): no report
 * In the modes that deadlock, SIGALRM exits 3 after 2 s, so that a run with
 * the watchdog off (GOC_DEADLOCK=0, or under TSan) still ends.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/go.h"
#include "common/goroutine.h"
#include "common/leak.h"
#include "common/os.h"
#include "common/sched.h"
#include "common/sema.h"
#include "common/sync.h"
#include "common/timer.h"
#include "common/timer_internal.h"

static chan_t *first, *second, *never;
static int     pipe_fds[2];

static void pass_on(void *arg)
{
    int value;
    chan_recv(arg == NULL ? first : second, &value);
    chan_send(arg == NULL ? second : first, &value);
}

static void wait_forever(void)
{
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 1);
    waitgroup_wait(&wg);
}

static void on_alarm_exit(int signo)
{
    (void)signo;
    static const char msg[] = "alarm: no deadlock report\n";
    write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(3);
}

static void on_alarm_feed(int signo)
{
    (void)signo;
    write(pipe_fds[1], "x", 1);
}

static void receive_forever(void *arg)
{
    (void)arg;
    chan_recv(never, NULL);
}

static void send_forever(void *arg)
{
    chan_send(arg, &(int){7}); /* nobody ever receives on it */
}

static void select_forever(void *arg)
{
    (void)arg;
    chan_t     *other = chan_make(0, 0);
    chan_case_t cases[2] = {chan_case_recv(never, NULL), chan_case_recv(other, NULL)};
    chan_select(cases, 2);
}

static void acquire_forever(void *sema)
{
    sema_acquire(sema, NULL, 1);
}

static void read_then_send(void *arg)
{
    (void)arg;
    char byte;
    read(pipe_fds[0], &byte, 1);
    chan_send(first, &(int){1});
}

static void sleep_then_send(void *arg)
{
    (void)arg;
    time_sleep(TIME_SECOND);
    chan_send(first, &(int){1});
}

static void wait_for_timer(void *arg)
{
    (void)arg;
    chan_t     *timer = time_after(500 * TIME_MILLISECOND);
    chan_case_t cases[2] = {chan_case_recv(never, NULL), chan_case_recv(timer, NULL)};
    chan_select(cases, 2);
    chan_release(timer);
    printf("timer fired\n");
    fflush(stdout);
    chan_recv(never, NULL); /* now nothing can wake anyone */
}

/* The number of threads known to the core that wait in a channel receive. */
static int receivers_waiting(void)
{
    int n = 0;
    go_registry_lock();
    for (goroutine_t *g = go_registry_first(); g; g = g->next)
        n += atomic_load(&g->wait_reason) == WAIT_CHAN_RECV;
    go_registry_unlock();
    return n;
}

static void close_it(void *c)
{
    chan_close(c);
}

/* OS threads the core has added to main, less the scheduler's workers,
 * once nothing but the core's own threads is left: a goroutine thread
 * (thread runtime) that has returned may linger for a moment, so poll
 * with backoff (about 1 s in all) as leak_check does. */
static long threads_added_besides_workers(long expected)
{
    long added = 0;
    for (duration_t pause = TIME_MICROSECOND, waited = 0; waited < TIME_SECOND;
         waited += pause, pause = pause < 100 * TIME_MILLISECOND ? 2 * pause : pause) {
        added = leak_thread_count() - 1 - sched_threads();
        if (go_count() == 0 && added <= expected)
            break;
        time_sleep(pause);
    }
    return added;
}

static void raise_sigquit_when_both_wait(void *dumped)
{
    while (receivers_waiting() < 2)
        time_sleep(TIME_MILLISECOND);
    raise(SIGQUIT);
    time_sleep(TIME_SECOND);
    chan_close(dumped);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "deadlock";
    first = chan_make(sizeof(int), 0);
    second = chan_make(sizeof(int), 0);
    never = chan_make(0, 0);

    bool blind = strcmp(mode, "blind") == 0;
    if (strcmp(mode, "deadlock") == 0 || strcmp(mode, "states") == 0 ||
        strcmp(mode, "timer") == 0 || strcmp(mode, "alone") == 0 || blind) {
        signal(SIGALRM, on_alarm_exit);
        alarm(2);
    }
    if (strcmp(mode, "deadlock") == 0 || blind) {
        /* Where threads cannot be counted, one the core never met might be
         * about to wake everyone: the watchdog must not conclude. */
        os_pretend_thread_count_unknown(blind);
        go_named("first", pass_on, NULL);
        go_named("second", pass_on, "second");
        wait_forever();
    } else if (strcmp(mode, "states") == 0) {
        sema_t *sema = sema_new(1);
        sema_acquire(sema, NULL, 1); /* main holds the only token */
        go_named("receiver", receive_forever, NULL);
        go_named("sender", send_forever, second);
        go_named("selector", select_forever, NULL);
        go_named("acquirer", acquire_forever, sema);
        wait_forever();
    } else if (strcmp(mode, "reader") == 0 || strcmp(mode, "sleeper") == 0) {
        int reader = strcmp(mode, "reader") == 0;
        if (reader) {
            pipe(pipe_fds);
            signal(SIGALRM, on_alarm_feed);
            alarm(1);
        }
        go_named(reader ? "reader" : "sleeper", reader ? read_then_send : sleep_then_send, NULL);
        int value;
        chan_recv(first, &value);
        printf("%s: woke up, no report\n", mode);
        return 0;
    } else if (strcmp(mode, "alone") == 0) {
        chan_recv(never, NULL); /* Go would call this a deadlock; see runtime.h */
    } else if (strcmp(mode, "timer") == 0) {
        go_named("timer waiter", wait_for_timer, NULL);
        wait_forever();
    } else if (strcmp(mode, "sigquit") == 0) {
        /* The dump must find main and "blocked" both waiting on a channel,
         * however slowly the machine runs (valgrind): the raiser waits
         * until it sees them so, then gives the watchdog (it prints the
         * dump on its next tick, every 50 ms) a whole second. */
        chan_t *dumped = chan_make(0, 0);
        go_named("blocked", receive_forever, NULL);
        go_named("raiser", raise_sigquit_when_both_wait, dumped);
        chan_recv(dumped, NULL);
        chan_release(dumped);
        printf("still running after SIGQUIT\n");
        return 0;
    } else if (strcmp(mode, "threads") == 0) {
        printf("threads before go(): %ld\n", leak_thread_count() - 1);
        chan_t *done = chan_make(0, 0);
        go_named("returns", close_it, done);
        chan_recv(done, NULL);
        chan_release(done);
        printf("threads added by the core, workers aside: %ld\n", threads_added_besides_workers(1));
        return 0;
    }
    fprintf(stderr, "runtime_demo: unknown mode '%s'\n", mode);
    return 64;
}
