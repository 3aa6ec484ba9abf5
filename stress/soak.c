/*
 * soak.c - stress: a long mixed run whose threads and memory must not grow.
 *
 *     build/stress/soak [--seconds N]        (make soak: 60 s)
 *
 * Round after round until the time is up, a little of everything: producers
 * and consumers over unbuffered and buffered channels, selects racing with
 * closes, a context tree with deadlines canceled from several threads, a
 * semaphore under timeouts, tickers and time_after timers, and short-lived
 * goroutines. After each round the process must be quiescent: no goroutine,
 * allocation or timer left, and exactly as many OS threads as after the
 * first round.
 *
 * Resident memory (VmRSS in /proc/self/status) is sampled after every
 * round. The first 10% of the run is warm-up (malloc arenas, thread stacks
 * and the timer heap settle); after it, the largest RSS seen in the second
 * half must stay within 20% + 4 MB of the largest seen in the first half:
 * memory that grows round after round is a leak outside the counted
 * allocations (a thread not reclaimed, a stack, an arena).
 */
#include <stdatomic.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/sema.h"
#include "common/sync.h"
#include "stress/stress.h"

/* A field of /proc/self/status ("VmRSS:", "Threads:"), or -1. */
static long status_field(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0) {
            value = strtol(line + strlen(field), NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

/* ---------------------------------------------------------------- pieces */

typedef struct {
    chan_t     *chan;
    atomic_long sum, producers_left;
    waitgroup_t wg;
} pipe_t;

static void produce(void *arg)
{
    pipe_t *p = arg;
    for (long v = 1; v <= 500; v++)
        STRESS_CHECK(chan_send(p->chan, &v) == 0, "send");
    if (atomic_fetch_sub(&p->producers_left, 1) == 1)
        chan_close(p->chan);
    waitgroup_done(&p->wg);
}

static void consume(void *arg)
{
    pipe_t *p = arg;
    long    v, sum = 0;
    while (chan_recv(p->chan, &v) == 0)
        sum += v;
    atomic_fetch_add(&p->sum, sum);
    waitgroup_done(&p->wg);
}

static void channels_round(size_t cap)
{
    pipe_t p = {.chan = chan_make(sizeof(long), cap)};
    STRESS_CHECK(p.chan != NULL, "chan_make");
    atomic_init(&p.producers_left, 4);
    waitgroup_init(&p.wg);
    waitgroup_add(&p.wg, 8);
    for (int i = 0; i < 8; i++)
        STRESS_CHECK(go_named(i < 4 ? "producer" : "consumer", i < 4 ? produce : consume, &p) == 0,
                     "go");
    waitgroup_wait(&p.wg);
    STRESS_CHECK(atomic_load(&p.sum) == 4L * 500 * 501 / 2, "values lost or duplicated");
    waitgroup_destroy(&p.wg);
    chan_release(p.chan);
}

typedef struct {
    chan_t     *a, *b;
    atomic_long got;
    waitgroup_t wg;
} duo_t;

static void select_until_closed(void *arg)
{
    duo_t *d = arg;
    long   x = 0, y = 1;
    for (int open = 2; open > 0;) {
        chan_case_t cases[3] = {chan_case_recv(d->a, &x), chan_case_send(d->b, &y),
                                chan_case_recv(NULL, NULL)};
        int         k = chan_select(cases, 3);
        STRESS_CHECK(k == 0 || k == 1, "select chose %d", k);
        if (cases[k].err == EPIPE) {
            open--;
            if (k == 0)
                d->a = NULL; /* a nil case from now on */
            else
                d->b = NULL;
        } else if (k == 0) {
            atomic_fetch_add(&d->got, 1);
        }
    }
    waitgroup_done(&d->wg);
}

static void select_round(void)
{
    chan_t *a = chan_make(sizeof(long), 4), *b = chan_make(sizeof(long), 0);
    STRESS_CHECK(a && b, "chan_make");
    duo_t d[4];
    for (int i = 0; i < 4; i++) {
        d[i] = (duo_t){.a = a, .b = b};
        waitgroup_init(&d[i].wg);
        waitgroup_add(&d[i].wg, 1);
        STRESS_CHECK(go_named("selector", select_until_closed, &d[i]) == 0, "go");
    }
    long v = 5, sent = 0;
    for (int i = 0; i < 200; i++) {
        if (chan_send(a, &v) == 0)
            sent++;
        chan_try_recv(b, NULL);
    }
    chan_close(a);
    chan_close(b);
    long got = 0;
    for (int i = 0; i < 4; i++) {
        waitgroup_wait(&d[i].wg);
        waitgroup_destroy(&d[i].wg);
        got += atomic_load(&d[i].got);
    }
    STRESS_CHECK(got == sent, "%ld sent, %ld received", sent, got);
    chan_release(a);
    chan_release(b);
}

typedef struct {
    ctx_t     **nodes;
    int         n;
    waitgroup_t wg;
} forest_t;

static void cancel_some(void *arg)
{
    forest_t *f = arg;
    uint64_t  rng = (uint64_t)(uintptr_t)&rng;
    for (int i = 0; i < f->n / 4; i++)
        ctx_cancel(f->nodes[stress_below(&rng, (uint64_t)f->n)]);
    waitgroup_done(&f->wg);
}

static void contexts_round(uint64_t *rng)
{
    enum { N = 300 };
    ctx_t   *nodes[N];
    forest_t f = {.nodes = nodes, .n = N};
    nodes[0] = ctx_with_timeout(NULL, (duration_t)stress_below(rng, 3 * TIME_MILLISECOND));
    for (int i = 1; i < N; i++) {
        ctx_t *parent = nodes[stress_below(rng, (uint64_t)i)];
        nodes[i] = i % 3
                       ? ctx_with_cancel(parent)
                       : ctx_with_timeout(parent, (duration_t)stress_below(rng, TIME_MILLISECOND));
        STRESS_CHECK(nodes[i] != NULL, "context");
    }
    waitgroup_init(&f.wg);
    waitgroup_add(&f.wg, 3);
    for (int i = 0; i < 3; i++)
        STRESS_CHECK(go_named("canceler", cancel_some, &f) == 0, "go");
    waitgroup_wait(&f.wg);
    waitgroup_destroy(&f.wg);
    ctx_cancel(nodes[0]);
    for (int i = 0; i < N; i++) {
        STRESS_CHECK(ctx_err(nodes[i]) != 0, "context %d not done", i);
        ctx_release(nodes[i]);
    }
}

typedef struct {
    sema_t     *s;
    waitgroup_t wg;
} gate_t;

static void sema_user(void *arg)
{
    gate_t  *g = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng;
    for (int i = 0; i < 50; i++) {
        int64_t n = 1 + (int64_t)stress_below(&rng, 4);
        ctx_t *ctx = ctx_with_timeout(NULL, (duration_t)stress_below(&rng, 100 * TIME_MICROSECOND));
        if (sema_acquire(g->s, ctx, n) == 0)
            STRESS_CHECK(sema_release(g->s, n) == 0, "release");
        ctx_release(ctx);
    }
    waitgroup_done(&g->wg);
}

static void sema_round(void)
{
    gate_t g = {.s = sema_new(4)};
    STRESS_CHECK(g.s != NULL, "sema_new");
    waitgroup_init(&g.wg);
    waitgroup_add(&g.wg, 6);
    for (int i = 0; i < 6; i++)
        STRESS_CHECK(go_named("sema user", sema_user, &g) == 0, "go");
    waitgroup_wait(&g.wg);
    STRESS_CHECK(sema_held(g.s) == 0, "tokens left held");
    waitgroup_destroy(&g.wg);
    sema_free(g.s);
}

static void timers_round(void)
{
    ticker_t *t = ticker_new(200 * TIME_MICROSECOND);
    STRESS_CHECK(t != NULL, "ticker_new");
    chan_t *soon = time_after(TIME_MILLISECOND), *never = time_after(3600 * TIME_SECOND);
    STRESS_CHECK(soon && never, "time_after");
    int64_t when;
    for (int i = 0; i < 3; i++)
        STRESS_CHECK(chan_recv(ticker_chan(t), &when) == 0, "tick");
    STRESS_CHECK(chan_recv(soon, &when) == 0, "time_after");
    ticker_stop(t);
    chan_release(soon);
    chan_release(never); /* unfired: releasing it disarms it */
}

static void nothing(void *arg)
{
    waitgroup_done(arg);
}

static void goroutines_round(void)
{
    waitgroup_t wg;
    waitgroup_init(&wg);
    waitgroup_add(&wg, 32);
    for (int i = 0; i < 32; i++)
        STRESS_CHECK(go(nothing, &wg) == 0, "go");
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
}

int main(int argc, char **argv)
{
    int64_t         seconds = 60, limit = 0;
    stress_option_t opts[] = {
        {"seconds", &seconds, 1, 86400, "how long to run"},
        {"limit-s", &limit, 0, 86400, "fail if it takes longer (0: seconds + 60)"},
    };
    stress_parse("soak", "A long mixed run whose thread count and memory must not grow.", argc,
                 argv, opts, sizeof opts / sizeof opts[0]);
    stress_watchdog_start(limit ? limit : seconds + 60);
    leak_snapshot_t base = leak_snapshot();
    int64_t         start = time_now(), end = start + seconds * TIME_SECOND;
    uint64_t        rng = 7;
    long            rounds = 0, threads_after_first = -1, rss_first_half = 0, rss_second_half = 0;
    long            rss_start = status_field("VmRSS:");
    while (time_now() < end) {
        channels_round(0);
        channels_round(16);
        select_round();
        contexts_round(&rng);
        sema_round();
        timers_round();
        goroutines_round();
        rounds++;
        stress_check_clean(&base); /* goroutines, allocations, timers, threads */

        long threads = status_field("Threads:"), rss = status_field("VmRSS:");
        if (threads_after_first < 0)
            threads_after_first = threads;
        STRESS_CHECK(threads <= threads_after_first,
                     "round %ld: %ld threads, %ld after the first round", rounds, threads,
                     threads_after_first);
        int64_t elapsed = time_now() - start;
        if (elapsed < seconds * TIME_SECOND / 10)
            continue; /* warm-up */
        if (elapsed < seconds * TIME_SECOND / 2) {
            if (rss > rss_first_half)
                rss_first_half = rss;
        } else if (rss > rss_second_half) {
            rss_second_half = rss;
        }
    }
    if (rss_first_half > 0 && rss_second_half > 0)
        STRESS_CHECK(rss_second_half <= rss_first_half + rss_first_half / 5 + 4096,
                     "resident memory grew: %ld kB at most in the first half, %ld kB in the second",
                     rss_first_half, rss_second_half);
    stress_watchdog_stop();
    printf("stress soak: OK: %ld rounds in %" PRId64 " s; threads steady at %ld; RSS %ld kB at "
           "start, at most %ld kB in the first half and %ld kB in the second\n",
           rounds, seconds, threads_after_first, rss_start, rss_first_half, rss_second_half);
    return 0;
}
