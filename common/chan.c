/*
 * chan.c - channels and select, after Go's runtime/chan.go and select.go.
 *
 * Each channel has one lock. Under it hold these invariants:
 *
 *   - count values sit in the ring buf[recv_index .. recv_index+count) mod cap;
 *   - if count > 0, no receiver waits (recvq is empty of live waiters);
 *   - if count < cap, no sender waits (sendq is empty of live waiters);
 *     so for an unbuffered channel at most one of the queues is non-empty;
 *   - once closed, no one waits at all: close wakes every waiter, and a
 *     closed channel never makes anyone wait again.
 *
 * A blocked thread waits on a waiter_t that lives on its own stack and sits
 * in a channel's queue. Whoever completes its operation (a partner or close)
 * dequeues it, copies the value straight to or from the waiter's own
 * buffer, records the outcome in it, and only then unparks its thread: the
 * waiter's memory stays valid because its thread cannot return before that.
 *
 * A select puts one waiter in the queue of each of its channels. The first
 * channel to complete one of them must win the whole select: it claims the
 * select's shared `done` flag with a compare-and-swap; a later channel that
 * fails the swap drops that stale waiter and looks at the next one. When the
 * select wakes, it locks all its channels again and takes its remaining
 * waiters out of their queues.
 *
 * Lock order: a select locks its channels in address order (each once), so
 * two selects over the same channels cannot deadlock. No other lock is ever
 * held together with a channel lock.
 */
#include "common/chan.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/chan_internal.h"
#include "common/go_internal.h"
#include "common/park.h"

/* The waiters of one select share this: the first channel to complete one
 * of them claims `done` and records itself as the winner. */
typedef struct select_wait {
    parker_t       parker;
    atomic_int     done;
    struct waiter *winner;
} select_wait_t;

typedef struct waiter {
    struct waiter *prev, *next;
    parker_t      *parker;     /* whom to wake: `own`, or the select's */
    select_wait_t *select;     /* NULL for a single send or receive */
    void          *elem;       /* send: the value; recv: its destination (may be NULL) */
    size_t         case_index; /* select only */
    bool           queued;     /* in a channel's queue (under that channel's lock) */
    bool           success;    /* set by the waker: true = done, false = closed */
    parker_t       own;        /* a single operation parks here */
} waiter_t;

typedef struct {
    waiter_t *head, *tail;
} waitq_t;

struct chan {
    lock_t          lock; /* first: the hot fields share its cache line */
    size_t          elem_size;
    size_t          cap;
    size_t          count;
    size_t          recv_index; /* next slot to receive from */
    size_t          send_index; /* next slot to send into */
    bool            closed;
    waitq_t         recvq; /* receivers waiting for a value */
    waitq_t         sendq; /* senders waiting for room or a receiver */
    atomic_size_t   refs;
    uint64_t        id; /* for goroutine dumps: "chan #3" */
    void (*finalizer)(void *arg);
    void          *finalizer_arg;
    unsigned char *buf; /* cap * elem_size bytes, allocated with the struct */
};

/* ------------------------------------------------------------ wait queues */

static void waitq_push(waitq_t *q, waiter_t *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    w->queued = true;
}

static void waitq_remove(waitq_t *q, waiter_t *w)
{
    if (!w->queued)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->queued = false;
}

/* Removes and returns the first waiter that can still be completed, dropping
 * waiters of selects that another channel has already won. */
static waiter_t *waitq_pop(waitq_t *q)
{
    for (waiter_t *w = q->head; w; w = q->head) {
        waitq_remove(q, w);
        if (w->select == NULL)
            return w;
        int expected = 0;
        if (atomic_compare_exchange_strong(&w->select->done, &expected, 1)) {
            w->select->winner = w;
            return w;
        }
    }
    return NULL;
}

/* Wakes a waiter whose outcome is already recorded. Must be called without
 * the channel lock, and w must not be touched afterwards. */
static void waiter_wake(waiter_t *w)
{
    parker_unpark(w->parker);
}

/* ------------------------------------------------------------ lifecycle */

chan_t *chan_make(size_t elem_size, size_t cap)
{
    if (elem_size != 0 && cap > (SIZE_MAX - sizeof(chan_t)) / elem_size) {
        errno = EINVAL;
        return NULL;
    }
    chan_t *c = goc_calloc(1, sizeof *c + elem_size * cap);
    if (c == NULL)
        return NULL;
    c->elem_size = elem_size;
    c->cap = cap;
    c->buf = (unsigned char *)(c + 1);
    atomic_init(&c->refs, 1);
    static atomic_uint_fast64_t last_id;
    c->id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
    go_self(); /* the calling thread now uses the core: the watchdog counts it */
    return c;
}

chan_t *chan_retain(chan_t *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void chan_release(chan_t *c)
{
    if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->finalizer)
        c->finalizer(c->finalizer_arg);
    goc_free(c);
}

void chan_set_finalizer(chan_t *c, void (*fn)(void *arg), void *arg)
{
    lock_acquire(&c->lock);
    c->finalizer = fn;
    c->finalizer_arg = arg;
    lock_release(&c->lock);
}

size_t chan_len(chan_t *c)
{
    if (c == NULL)
        return 0;
    lock_acquire(&c->lock);
    size_t n = c->count;
    lock_release(&c->lock);
    return n;
}

size_t chan_cap(chan_t *c)
{
    return c ? c->cap : 0;
}

/* ------------------------------------------------------------ one operation
 *
 * try_send_locked and try_recv_locked do what can be done at once, with the
 * lock held. They return 0 (done), EPIPE (closed) or EAGAIN (would block);
 * if they completed a blocked partner it is returned in *partner, to be
 * woken once the lock is dropped. Blocking calls, try calls and select all
 * go through them, so the three can never disagree.
 */

static void *slot(chan_t *c, size_t index)
{
    return c->buf + index * c->elem_size;
}

static void copy_elem(chan_t *c, void *dst, const void *src)
{
    if (c->elem_size != 0 && dst != NULL)
        memcpy(dst, src, c->elem_size);
}

static void zero_elem(chan_t *c, void *dst)
{
    if (c->elem_size != 0 && dst != NULL)
        memset(dst, 0, c->elem_size);
}

static size_t ring_next(chan_t *c, size_t index)
{
    return index + 1 == c->cap ? 0 : index + 1;
}

static int try_send_locked(chan_t *c, const void *elem, waiter_t **partner)
{
    if (c->closed)
        return EPIPE;
    waiter_t *receiver = waitq_pop(&c->recvq);
    if (receiver) { /* straight into the receiver's hands */
        copy_elem(c, receiver->elem, elem);
        receiver->success = true;
        *partner = receiver;
        return 0;
    }
    if (c->count < c->cap) {
        copy_elem(c, slot(c, c->send_index), elem);
        c->send_index = ring_next(c, c->send_index);
        c->count++;
        return 0;
    }
    return EAGAIN;
}

static int try_recv_locked(chan_t *c, void *out, waiter_t **partner)
{
    waiter_t *sender = waitq_pop(&c->sendq);
    if (sender) {
        if (c->cap == 0) {
            copy_elem(c, out, sender->elem);
        } else {
            /* The buffer is full: take its head, and put the sender's
             * value in the slot just freed, which is the tail. */
            copy_elem(c, out, slot(c, c->recv_index));
            copy_elem(c, slot(c, c->recv_index), sender->elem);
            c->recv_index = ring_next(c, c->recv_index);
            c->send_index = c->recv_index;
        }
        sender->success = true;
        *partner = sender;
        return 0;
    }
    if (c->count > 0) {
        copy_elem(c, out, slot(c, c->recv_index));
        c->recv_index = ring_next(c, c->recv_index);
        c->count--;
        return 0;
    }
    if (c->closed) {
        zero_elem(c, out);
        return EPIPE;
    }
    return EAGAIN;
}

/* Sends or receives, waiting if block is true. */
static int operate(chan_t *c, chan_op_t op, void *elem, bool block)
{
    waiter_t *partner = NULL;
    lock_acquire(&c->lock);
    int rc = op == CHAN_SEND ? try_send_locked(c, elem, &partner)
                             : try_recv_locked(c, elem, &partner);
    if (rc != EAGAIN || !block) {
        lock_release(&c->lock);
        if (partner)
            waiter_wake(partner);
        return rc;
    }
    waiter_t me = {.elem = elem};
    me.parker = &me.own;
    waitq_push(op == CHAN_SEND ? &c->sendq : &c->recvq, &me);
    lock_release(&c->lock);
    go_wait_begin(op == CHAN_SEND ? WAIT_CHAN_SEND : WAIT_CHAN_RECV, c->id, c->elem_size, c->cap,
                  0);
    parker_park(&me.own);
    go_wait_end();
    return me.success ? 0 : EPIPE; /* close zeroed a receiver's elem */
}

static int check_send(chan_t *c, const void *elem)
{
    return c == NULL || (elem == NULL && c->elem_size != 0) ? EINVAL : 0;
}

int chan_send(chan_t *c, const void *elem)
{
    int rc = check_send(c, elem);
    return rc ? rc : operate(c, CHAN_SEND, (void *)elem, true);
}

int chan_try_send(chan_t *c, const void *elem)
{
    int rc = check_send(c, elem);
    return rc ? rc : operate(c, CHAN_SEND, (void *)elem, false);
}

int chan_recv(chan_t *c, void *out)
{
    return c ? operate(c, CHAN_RECV, out, true) : EINVAL;
}

int chan_try_recv(chan_t *c, void *out)
{
    return c ? operate(c, CHAN_RECV, out, false) : EINVAL;
}

int chan_close(chan_t *c)
{
    if (c == NULL)
        return EINVAL;
    lock_acquire(&c->lock);
    if (c->closed) {
        lock_release(&c->lock);
        return EPIPE;
    }
    c->closed = true;
    /* Collect every waiter under the lock, wake them after it. */
    waiter_t *woken = NULL;
    for (waiter_t *w; (w = waitq_pop(&c->recvq)) != NULL; woken = w) {
        zero_elem(c, w->elem);
        w->success = false;
        w->next = woken;
    }
    for (waiter_t *w; (w = waitq_pop(&c->sendq)) != NULL; woken = w) {
        w->success = false;
        w->next = woken;
    }
    lock_release(&c->lock);
    while (woken) {
        waiter_t *next = woken->next; /* read before the owner may return */
        waiter_wake(woken);
        woken = next;
    }
    return 0;
}

/* ------------------------------------------------------------ select */

enum { SELECT_STACK_CASES = 64 };

/* xorshift64*: a fast per-thread generator, seeded on first use. */
static _Thread_local uint64_t rng_state;

static uint32_t random_below(uint32_t n)
{
    uint64_t x = rng_state;
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t)(uintptr_t)&rng_state * 0x9E3779B97F4A7C15ull) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)ts.tv_sec << 32) ^ 1;
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
} select_plan_t;

static void plan_orders(select_plan_t *p, chan_case_t *cases, size_t n)
{
    p->active = 0;
    for (size_t i = 0; i < n; i++) {
        if (cases[i].chan == NULL)
            continue;
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

/* Pass 1: with every channel locked, the first ready case in poll order. */
static int select_ready_case(select_plan_t *p, chan_case_t *cases, waiter_t **partner)
{
    for (size_t i = 0; i < p->active; i++) {
        size_t       k = p->poll_order[i];
        chan_case_t *cc = &cases[k];
        int rc = cc->op == CHAN_SEND ? try_send_locked(cc->chan, cc->elem, partner)
                                     : try_recv_locked(cc->chan, cc->elem, partner);
        if (rc != EAGAIN) {
            cc->err = rc;
            return (int)k;
        }
    }
    return -1;
}

/* Passes 2 and 3: wait on every channel at once, then leave every queue. */
static int select_wait(select_plan_t *p, chan_case_t *cases)
{
    select_wait_t sw = {.winner = NULL};
    for (size_t i = 0; i < p->active; i++) {
        size_t    k = p->poll_order[i]; /* random queue order among same-channel cases */
        waiter_t *w = &p->waiters[k];
        *w = (waiter_t){.parker = &sw.parker, .select = &sw, .elem = cases[k].elem,
                        .case_index = k};
        waitq_push(cases[k].op == CHAN_SEND ? &cases[k].chan->sendq : &cases[k].chan->recvq, w);
    }
    unlock_all(p, cases);

    go_wait_begin(WAIT_SELECT, 0, 0, 0, p->active);
    parker_park(&sw.parker);
    go_wait_end();

    lock_all(p, cases);
    for (size_t i = 0; i < p->active; i++) {
        size_t k = p->lock_order[i];
        waitq_remove(cases[k].op == CHAN_SEND ? &cases[k].chan->sendq : &cases[k].chan->recvq,
                     &p->waiters[k]);
    }
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
    size_t   stack_orders[2 * SELECT_STACK_CASES];
    waiter_t stack_waiters[SELECT_STACK_CASES];
    void    *heap = NULL;
    select_plan_t plan = {stack_orders, stack_orders + SELECT_STACK_CASES, stack_waiters, 0};
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
        waiter_t *partner = NULL;
        lock_all(&plan, cases);
        chosen = select_ready_case(&plan, cases, &partner);
        if (chosen >= 0 || !block) {
            unlock_all(&plan, cases);
            if (partner)
                waiter_wake(partner);
        } else {
            chosen = select_wait(&plan, cases);
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
