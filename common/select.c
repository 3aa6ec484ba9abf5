/*
 * select.c - chan_select and chan_try_select, after Go's runtime/select.go.
 *
 * A select runs in up to three passes:
 *
 *   0. If every case is on a buffered channel, try each one lock-free, in
 *      a fresh random order: a select over channels that have values (or
 *      room) never takes a lock.
 *   1. Lock every channel (each once, in address order, so two selects
 *      over the same channels cannot deadlock) and try each case again in
 *      random order with the channel's own rules (chan_try_*_locked).
 *   2. Nothing ready and allowed to block: queue one waiter per case, each
 *      in its channel's queue, all sharing one parker and one `done` flag.
 *      Buffered channels get their waiting flag and one more look
 *      (chan_recheck_ring). Then unlock and sleep. The first channel to
 *      complete one of the waiters claims `done` with a compare-and-swap and
 *      wins the whole select; a channel that loses the swap drops that stale
 *      waiter. Awake again, the select locks its channels once more and
 *      takes its remaining waiters out of their queues.
 *
 * No other lock is ever held together with channel locks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/chan.h"
#include "common/chan_internal.h"
#include "common/goroutine.h"
#include "common/os.h"

enum { SELECT_STACK_CASES = 64 };

/* xorshift64*: a fast per-thread generator, seeded on first use. */
static _Thread_local uint64_t rng_state;

static uint32_t random_below(uint32_t n)
{
    uint64_t x = rng_state;
    if (x == 0) {
        x = ((uint64_t)(uintptr_t)&rng_state * 0x9E3779B97F4A7C15ull) ^
            (uint64_t)os_monotonic_ns() ^ 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    uint32_t r = (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
    return (uint32_t)(((uint64_t)r * n) >> 32);
}

/* The per-select scratch space: on the stack for up to 64 cases. */
typedef struct {
    size_t   *poll_order; /* active cases, in random order */
    size_t   *lock_order; /* active cases, sorted by channel address */
    waiter_t *waiters;    /* one per case */
    size_t    active;     /* cases with a channel */
    bool      all_buffered;
} select_plan_t;

static void plan_orders(select_plan_t *p, chan_case_t *cases, size_t n)
{
    p->active = 0;
    p->all_buffered = true;
    for (size_t i = 0; i < n; i++) {
        if (cases[i].chan == NULL)
            continue;
        p->all_buffered = p->all_buffered && cases[i].chan->ring != NULL;
        /* Inside-out Fisher-Yates: a uniform random permutation. */
        size_t j = random_below((uint32_t)p->active + 1);
        p->poll_order[p->active] = p->poll_order[j];
        p->poll_order[j] = i;
        /* Insertion sort by address; n is small in practice. */
        size_t k = p->active;
        while (k > 0 && (uintptr_t)cases[p->lock_order[k - 1]].chan > (uintptr_t)cases[i].chan) {
            p->lock_order[k] = p->lock_order[k - 1];
            k--;
        }
        p->lock_order[k] = i;
        p->active++;
    }
}

static void lock_all(const select_plan_t *p, chan_case_t *cases)
{
    for (size_t i = 0; i < p->active; i++) {
        chan_t *c = cases[p->lock_order[i]].chan;
        if (i == 0 || c != cases[p->lock_order[i - 1]].chan)
            lock_acquire(&c->lock);
    }
}

static void unlock_all(const select_plan_t *p, chan_case_t *cases)
{
    for (size_t i = p->active; i-- > 0;) {
        chan_t *c = cases[p->lock_order[i]].chan;
        if (i == 0 || c != cases[p->lock_order[i - 1]].chan)
            lock_release(&c->lock);
    }
}

static bool valid_cases(chan_case_t *cases, size_t n)
{
    if (cases == NULL && n > 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        chan_case_t *cc = &cases[i];
        if (cc->op != CHAN_RECV && cc->op != CHAN_SEND)
            return false;
        if (cc->op == CHAN_SEND && cc->chan && cc->elem == NULL && cc->chan->elem_size != 0)
            return false;
    }
    return true;
}

/* Pass 0: every channel buffered; the first case done lock-free. */
static int select_lock_free(select_plan_t *p, chan_case_t *cases)
{
    for (size_t i = 0; i < p->active; i++) {
        size_t       k = p->poll_order[i];
        chan_case_t *cc = &cases[k];
        int          rc = chan_ring_try(cc->chan, cc->op, cc->elem);
        if (rc == 0 || rc == EPIPE) {
            cc->err = rc;
            return (int)k;
        }
    }
    return -1;
}

/* Pass 1: with every channel locked, the first ready case in poll order. */
static int select_ready_case(select_plan_t *p, chan_case_t *cases, wakelist_t *wake)
{
    for (size_t i = 0; i < p->active; i++) {
        size_t       k = p->poll_order[i];
        chan_case_t *cc = &cases[k];
        int          rc = cc->op == CHAN_SEND ? chan_try_send_locked(cc->chan, cc->elem, wake)
                                              : chan_try_recv_locked(cc->chan, cc->elem, wake);
        if (rc != EAGAIN) {
            cc->err = rc;
            return (int)k;
        }
    }
    return -1;
}

static waitq_t *queue_of(chan_case_t *cc)
{
    return cc->op == CHAN_SEND ? &cc->chan->sendq : &cc->chan->recvq;
}

/* Takes every waiter of this select out of its queue (all locks held). */
static void leave_queues(select_plan_t *p, chan_case_t *cases)
{
    for (size_t i = 0; i < p->active; i++) {
        size_t k = p->lock_order[i];
        waitq_remove(queue_of(&cases[k]), &p->waiters[k]);
        chan_sync_flags(cases[k].chan);
    }
}

/* For the tracer: does one of the cases wait on a context's done channel?
 * (Contexts are the only owners of embedded channels.) */
static bool waits_on_a_context(const select_plan_t *p, const chan_case_t *cases)
{
    for (size_t i = 0; i < p->active; i++)
        if (cases[p->poll_order[i]].chan->embedded)
            return true;
    return false;
}

/* Pass 2: wait on every channel at once (called with all locks held;
 * returns with none). wake holds waiters that pass 1 completed on the way. */
static int select_wait(select_plan_t *p, chan_case_t *cases, wakelist_t *wake)
{
    select_wait_t sw = {.winner = NULL};
    trace_party_t me = trace_flow_self(); /* each case's hand-off names us */
    for (size_t i = 0; i < p->active; i++) {
        size_t    k = p->poll_order[i]; /* random queue order among same-channel cases */
        waiter_t *w = &p->waiters[k];
        *w = (waiter_t){.parker = &sw.parker,
                        .select = &sw,
                        .elem = cases[k].elem,
                        .case_index = k,
                        .party = me};
        waitq_push(queue_of(&cases[k]), w);
        chan_sync_flags(cases[k].chan);
    }
    for (size_t i = 0; i < p->active; i++) {
        size_t       k = p->poll_order[i];
        chan_case_t *cc = &cases[k];
        if (cc->chan->ring && chan_recheck_ring(cc->chan, cc->op, &p->waiters[k]) == 0) {
            leave_queues(p, cases);
            if (cc->op == CHAN_RECV) /* only now: our own send waiters are out */
                chan_refill_locked(cc->chan, wake);
            unlock_all(p, cases);
            wakelist_wake(wake);
            cc->err = 0;
            return (int)k;
        }
    }
    unlock_all(p, cases);
    wakelist_wake(wake);

    go_wait_begin(WAIT_SELECT, 0, 0, 0, p->active);
    if (trace_enabled() && waits_on_a_context(p, cases))
        go_note_wait(WAIT_CONTEXT);
    parker_park(&sw.parker);
    go_wait_end();

    lock_all(p, cases);
    leave_queues(p, cases);
    unlock_all(p, cases);
    waiter_t *winner = sw.winner;
    cases[winner->case_index].err = winner->success ? 0 : EPIPE;
    return (int)winner->case_index;
}

static int select_impl(chan_case_t *cases, size_t n, bool block)
{
    if (!valid_cases(cases, n)) {
        errno = EINVAL;
        return -1;
    }
    size_t        stack_orders[2 * SELECT_STACK_CASES];
    waiter_t      stack_waiters[SELECT_STACK_CASES];
    void         *heap = NULL;
    select_plan_t plan = {stack_orders, stack_orders + SELECT_STACK_CASES, stack_waiters, 0, true};
    if (n > SELECT_STACK_CASES) {
        heap = goc_malloc(n * (2 * sizeof(size_t) + sizeof(waiter_t)));
        if (heap == NULL)
            return -1; /* errno is ENOMEM */
        plan.waiters = heap;
        plan.poll_order = (size_t *)(plan.waiters + n);
        plan.lock_order = plan.poll_order + n;
    }
    for (size_t i = 0; i < n; i++)
        cases[i].err = 0;
    plan_orders(&plan, cases, n);

    int chosen = -1;
    if (plan.active == 0) {
        parker_t never_woken = {0};
        if (block) { /* select {}: nothing can ever wake us */
            go_wait_begin(WAIT_SELECT_EMPTY, 0, 0, 0, 0);
            for (;;)
                parker_park(&never_woken);
        }
    } else {
        if (plan.all_buffered)
            chosen = select_lock_free(&plan, cases);
        if (chosen < 0) {
            wakelist_t wake = {NULL};
            lock_all(&plan, cases);
            chosen = select_ready_case(&plan, cases, &wake);
            if (chosen >= 0 || !block) {
                unlock_all(&plan, cases);
                wakelist_wake(&wake);
            } else {
                chosen = select_wait(&plan, cases, &wake);
            }
        }
    }
    goc_free(heap);
    if (chosen < 0)
        errno = EAGAIN;
    return chosen;
}

int chan_select(chan_case_t *cases, size_t n)
{
    return select_impl(cases, n, true);
}

int chan_try_select(chan_case_t *cases, size_t n)
{
    return select_impl(cases, n, false);
}
