/*
 * select_storm.c - stress: many selects over overlapping channels, while
 * other threads close them.
 *
 *     build/stress/select_storm [--threads T] [--channels K] [--sends S]
 *                               [--closers C] [--ms D]
 *
 * K channels of mixed capacity (unbuffered, 1, 8). T workers each select
 * over a random set of send cases and a random set of receive cases, the
 * sets overlapping between workers and sometimes within one select (the
 * same channel twice, or as both send and receive), with a nil case now and
 * then, and every fifth worker repeats its cases past 64 so its select takes
 * the allocating path. A worker sends up to S values, each its own id and a
 * sequence number. Meanwhile C closers all try to close every channel, at
 * random moments over D ms, so closes race with each other and with the
 * selects. A send case that reports EPIPE drops that channel from the
 * worker's send set; a receive case that reports EPIPE (closed and drained)
 * drops it from its receive set; a worker ends when it has nothing left.
 * A few "sleepers" wait in selects on channels nobody uses but the closers.
 *
 * Invariants:
 *   - every value whose send succeeded is received exactly once, and no
 *     other value is ever received; a receiver sees one sender's values on
 *     one channel in increasing order;
 *   - each channel is closed exactly once (every other close says EPIPE);
 *   - every thread blocked in a select is woken by the closes: all workers
 *     and sleepers return (the watchdog fails the run otherwise);
 *   - at the end every channel is empty, and nothing is left running.
 */
#include <stdatomic.h>

#include "common/chan.h"
#include "common/sync.h"
#include "stress/stress.h"

enum { MAX_SET = 4, WIDE_CASES = 80 };

typedef struct {
    int64_t       threads, channels, sends, closers, ms;
    chan_t      **chans;
    chan_t       *silent_recv, *silent_send; /* only the sleepers and the closers use these */
    atomic_int   *closes;                    /* per channel: successful closes */
    atomic_uchar *seen;                      /* [worker * sends + seq] */
    atomic_long  *sent;                      /* per worker: values delivered */
    atomic_long   received, epipe_wakeups;
    int64_t       start;
    waitgroup_t   wg;
} storm_t;

typedef struct {
    storm_t *st;
    int64_t  id;
} role_t;

/* A set of channel indexes, duplicates allowed. */
typedef struct {
    int64_t idx[MAX_SET];
    int     n;
} chanset_t;

static void set_drop(chanset_t *s, int64_t channel)
{
    for (int i = 0; i < s->n;)
        if (s->idx[i] == channel)
            s->idx[i] = s->idx[--s->n];
        else
            i++;
}

static void pick_sets(storm_t *st, int64_t id, uint64_t *rng, chanset_t *snd, chanset_t *rcv)
{
    snd->n = rcv->n = 0;
    /* Every channel gets at least one sender and one receiver. */
    for (int64_t c = 0; c < st->channels; c++) {
        if (c % st->threads == id && rcv->n < MAX_SET)
            rcv->idx[rcv->n++] = c;
        if ((c + 1) % st->threads == id && snd->n < MAX_SET)
            snd->idx[snd->n++] = c;
    }
    int extra = 1 + (int)stress_below(rng, MAX_SET);
    for (int i = 0; i < extra; i++) {
        if (snd->n < MAX_SET)
            snd->idx[snd->n++] = (int64_t)stress_below(rng, (uint64_t)st->channels);
        if (rcv->n < MAX_SET)
            rcv->idx[rcv->n++] = (int64_t)stress_below(rng, (uint64_t)st->channels);
    }
}

static void worker(void *arg)
{
    role_t   *r = arg;
    storm_t  *st = r->st;
    uint64_t  rng = 0x1234567ull + (uint64_t)r->id * 7919;
    chanset_t snd, rcv;
    pick_sets(st, r->id, &rng, &snd, &rcv);
    bool        wide = r->id % 5 == 0;
    chan_case_t cases[WIDE_CASES];
    int64_t     which[WIDE_CASES]; /* channel index of each case, -1 for nil */
    int64_t    *last = malloc((size_t)(st->channels * st->threads) * sizeof *last);
    STRESS_CHECK(last != NULL, "out of memory");
    for (int64_t i = 0; i < st->channels * st->threads; i++)
        last[i] = -1;
    int64_t seq = 0;
    for (;;) {
        bool can_send = seq < st->sends && snd.n > 0;
        if (!can_send && rcv.n == 0)
            break;
        uint64_t out = ((uint64_t)r->id << 32) | (uint64_t)seq, in = UINT64_MAX;
        int      n = 0;
        do {
            if (can_send)
                for (int i = 0; i < snd.n; i++, n++) {
                    cases[n] = chan_case_send(st->chans[snd.idx[i]], &out);
                    which[n] = snd.idx[i];
                }
            for (int i = 0; i < rcv.n; i++, n++) {
                cases[n] = chan_case_recv(st->chans[rcv.idx[i]], &in);
                which[n] = rcv.idx[i];
            }
            if (stress_below(&rng, 4) == 0) {
                cases[n] = chan_case_recv(NULL, NULL);
                which[n++] = -1;
            }
        } while (wide && n <= 64);

        int k = -1;
        if (stress_below(&rng, 8) == 0) {
            k = chan_try_select(cases, (size_t)n);
            STRESS_CHECK(k >= 0 || errno == EAGAIN, "try_select failed: errno %d", errno);
        }
        if (k < 0)
            k = chan_select(cases, (size_t)n);
        STRESS_CHECK(k >= 0 && k < n, "select returned %d of %d cases (errno %d)", k, n, errno);
        STRESS_CHECK(which[k] >= 0, "a nil case fired");
        int64_t ch = which[k];
        if (cases[k].op == CHAN_SEND) {
            if (cases[k].err == EPIPE) {
                set_drop(&snd, ch);
                continue;
            }
            STRESS_CHECK(cases[k].err == 0, "send case err %d", cases[k].err);
            seq++;
            atomic_fetch_add(&st->sent[r->id], 1);
            continue;
        }
        if (cases[k].err == EPIPE) {
            STRESS_CHECK(in == 0, "a receive on a closed channel left %#" PRIx64, in);
            set_drop(&rcv, ch);
            continue;
        }
        STRESS_CHECK(cases[k].err == 0, "receive case err %d", cases[k].err);
        int64_t from = (int64_t)(in >> 32), s = (int64_t)(in & 0xffffffffu);
        STRESS_CHECK(from < st->threads && s < st->sends, "received %#" PRIx64 ", never sent", in);
        int64_t *prev = &last[ch * st->threads + from];
        STRESS_CHECK(s > *prev,
                     "worker %" PRId64 " got %" PRId64 ":%" PRId64 " after :%" PRId64
                     " on channel %" PRId64 ": order broken",
                     r->id, from, s, *prev, ch);
        *prev = s;
        unsigned char before = atomic_fetch_add(&st->seen[from * st->sends + s], 1);
        STRESS_CHECK(before == 0, "value %" PRId64 ":%" PRId64 " received twice", from, s);
        atomic_fetch_add(&st->received, 1);
    }
    free(last);
    waitgroup_done(&st->wg);
}

/* Waits in a select that only a close can end. */
static void sleeper(void *arg)
{
    role_t     *r = arg;
    storm_t    *st = r->st;
    uint64_t    v = 7, in = 1;
    chan_case_t cases[3] = {chan_case_recv(st->silent_recv, &in),
                            chan_case_send(st->silent_send, &v), chan_case_recv(NULL, NULL)};
    int         k = chan_select(cases, 3);
    STRESS_CHECK(k == 0 || k == 1, "sleeper woke on case %d", k);
    STRESS_CHECK(cases[k].err == EPIPE, "sleeper woke without a close (err %d)", cases[k].err);
    atomic_fetch_add(&st->epipe_wakeups, 1);
    waitgroup_done(&st->wg);
}

static void closer(void *arg)
{
    role_t  *r = arg;
    storm_t *st = r->st;
    uint64_t rng = 0xC105E5ull * (uint64_t)(r->id + 1);
    int64_t  k = st->channels;
    int64_t *order = malloc((size_t)k * sizeof *order);
    int64_t *when = malloc((size_t)k * sizeof *when);
    STRESS_CHECK(order && when, "out of memory");
    for (int64_t i = 0; i < k; i++) {
        int64_t j = (int64_t)stress_below(&rng, (uint64_t)i + 1);
        order[i] = order[j];
        order[j] = i;
        when[i] = st->ms * TIME_MILLISECOND * (i + 1) / (k + 1) +
                  (int64_t)stress_below(&rng, (uint64_t)(st->ms * TIME_MILLISECOND / (k + 1) + 1));
    }
    for (int64_t i = 0; i < k; i++) {
        time_sleep(st->start + when[i] - time_now());
        int rc = chan_close(st->chans[order[i]]);
        STRESS_CHECK(rc == 0 || rc == EPIPE, "chan_close returned %d", rc);
        if (rc == 0)
            atomic_fetch_add(&st->closes[order[i]], 1);
    }
    time_sleep(st->start + st->ms * TIME_MILLISECOND - time_now());
    for (int i = 0; i < 2; i++) {
        int rc = chan_close(i ? st->silent_send : st->silent_recv);
        STRESS_CHECK(rc == 0 || rc == EPIPE, "chan_close returned %d", rc);
    }
    free(order);
    free(when);
    waitgroup_done(&st->wg);
}

int main(int argc, char **argv)
{
    storm_t         st = {.threads = 32, .channels = 16, .sends = 20000, .closers = 4, .ms = 2000};
    int64_t         sleepers = 4, limit = 300;
    stress_option_t opts[] = {
        {"threads", &st.threads, 2, 512, "selecting workers"},
        {"channels", &st.channels, 1, 256, "channels shared by the workers"},
        {"sends", &st.sends, 1, 1 << 24, "most values one worker sends"},
        {"closers", &st.closers, 1, 64, "threads that each try to close every channel"},
        {"ms", &st.ms, 1, 3600000, "the closes are spread over this many ms"},
        {"sleepers", &sleepers, 0, 256, "threads woken only by a close"},
        {"limit-s", &limit, 1, 86400, "fail if the whole program takes longer (seconds)"},
    };
    stress_parse("select_storm",
                 "Selects over overlapping channels while others close them: nothing lost, "
                 "nothing duplicated, every waiter woken.",
                 argc, argv, opts, sizeof opts / sizeof opts[0]);
    stress_watchdog_start(limit);
    leak_snapshot_t base = leak_snapshot();
    double          t0 = stress_seconds();

    st.chans = calloc((size_t)st.channels, sizeof *st.chans);
    st.closes = calloc((size_t)st.channels, sizeof *st.closes);
    st.seen = calloc((size_t)(st.threads * st.sends), 1);
    st.sent = calloc((size_t)st.threads, sizeof *st.sent);
    role_t *roles = calloc((size_t)(st.threads + st.closers + sleepers), sizeof *roles);
    STRESS_CHECK(st.chans && st.closes && st.seen && st.sent && roles, "out of memory");
    static const size_t caps[] = {0, 1, 8};
    for (int64_t c = 0; c < st.channels; c++) {
        st.chans[c] = chan_make(sizeof(uint64_t), caps[c % 3]);
        STRESS_CHECK(st.chans[c] != NULL, "chan_make failed");
    }
    st.silent_recv = chan_make(sizeof(uint64_t), 0);
    st.silent_send = chan_make(sizeof(uint64_t), 0);
    STRESS_CHECK(st.silent_recv && st.silent_send, "chan_make failed");
    waitgroup_init(&st.wg);
    st.start = time_now();

    int64_t n_roles = st.threads + st.closers + sleepers;
    waitgroup_add(&st.wg, n_roles);
    for (int64_t i = 0; i < n_roles; i++) {
        char name[32];
        void (*fn)(void *) = worker;
        if (i < st.threads) {
            roles[i] = (role_t){&st, i};
            snprintf(name, sizeof name, "worker %" PRId64, i);
        } else if (i < st.threads + st.closers) {
            roles[i] = (role_t){&st, i - st.threads};
            snprintf(name, sizeof name, "closer %" PRId64, roles[i].id);
            fn = closer;
        } else {
            roles[i] = (role_t){&st, i - st.threads - st.closers};
            snprintf(name, sizeof name, "sleeper %" PRId64, roles[i].id);
            fn = sleeper;
        }
        int rc = go_named(name, fn, &roles[i]);
        STRESS_CHECK(rc == 0, "go_named failed: %d", rc);
    }
    waitgroup_wait(&st.wg);

    long sent = 0;
    for (int64_t w = 0; w < st.threads; w++) {
        long n = atomic_load(&st.sent[w]);
        sent += n;
        for (int64_t s = 0; s < st.sends; s++) {
            int times = atomic_load(&st.seen[w * st.sends + s]);
            STRESS_CHECK(times == (s < n ? 1 : 0),
                         "worker %" PRId64 "'s value %" PRId64 " (of %ld sent) received %d times",
                         w, s, n, times);
        }
    }
    STRESS_CHECK(sent == atomic_load(&st.received), "%ld sent, %ld received", sent,
                 atomic_load(&st.received));
    for (int64_t c = 0; c < st.channels; c++) {
        STRESS_CHECK(atomic_load(&st.closes[c]) == 1, "channel %" PRId64 " closed %d times", c,
                     atomic_load(&st.closes[c]));
        STRESS_CHECK(chan_len(st.chans[c]) == 0, "channel %" PRId64 " still holds values", c);
        STRESS_CHECK(chan_try_recv(st.chans[c], NULL) == EPIPE, "channel %" PRId64 " not closed",
                     c);
        chan_release(st.chans[c]);
    }
    STRESS_CHECK(atomic_load(&st.epipe_wakeups) == sleepers, "%ld of %" PRId64 " sleepers woken",
                 atomic_load(&st.epipe_wakeups), sleepers);
    chan_release(st.silent_recv);
    chan_release(st.silent_send);
    waitgroup_destroy(&st.wg);
    free(st.chans);
    free(st.closes);
    free(st.seen);
    free(st.sent);
    free(roles);
    stress_check_clean(&base);
    stress_watchdog_stop();
    printf("stress select_storm: OK: %" PRId64 " workers over %" PRId64 " channels, %" PRId64
           " closers, %ld values each received exactly once, %" PRId64
           " sleepers woken by close: %.2f s\n",
           st.threads, st.channels, st.closers, sent, sleepers, stress_seconds() - t0);
    return 0;
}
