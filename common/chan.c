/*
 * chan.c - channels, after Go's runtime/chan.go (select is in select.c).
 *
 * Each channel has one lock, which guards its two wait queues and `closed`.
 *
 * An unbuffered channel (cap 0) keeps all its state under the lock:
 *   - at most one of the queues holds live waiters (a sender and a
 *     receiver that meet complete each other at once);
 *   - once closed, no one waits: close wakes every waiter, and a closed
 *     channel never makes anyone wait again.
 *
 * A buffered channel keeps its values in a lock-free ring (ring.c), so a
 * send and a receive that need not wait never take the lock and work at
 * different ends of the buffer. The lock is only for waiting, and these
 * invariants tie the two together:
 *   - the ring's RECEIVERS_WAIT flag is set exactly while recvq is not
 *     empty, SENDERS_WAIT (and senders_waiting) exactly while sendq is
 *     not empty; both change only under the lock (chan_sync_flags);
 *   - either flag makes a lock-free send fail, so while anyone waits,
 *     values enter the ring only under the lock, in arrival order;
 *   - receivers wait only on an empty ring: a sender under the lock hands
 *     its value straight to the first of them;
 *   - senders wait only on a full ring. A lock-free receive that frees a
 *     slot then sees senders_waiting and, under the lock, moves the first
 *     waiting sender's value in (refill); a receive that finds the ring
 *     empty while a sender still waits takes that sender's value directly;
 *   - a thread about to wait queues itself, sets the flag, then looks at
 *     the ring once more (chan_recheck_ring): either a racing lock-free
 *     operation happened before the flag, and the recheck sees it, or it
 *     sees the flag and comes to the lock. Nothing is missed.
 *
 * While tracing is on, every hand-off is recorded where the value changes
 * hands (see trace_flow.h): whole, where a sender meets a waiting receiver
 * or the other way round; in halves paired by ring position, where it goes
 * through the ring. Receivers wait only on an empty ring and a direct
 * hand-off takes no position, so positions stay the pairing's sequence.
 *
 * A blocked thread waits on a waiter_t that lives on its own stack and sits
 * in a channel's queue. Whoever completes its operation (a partner or close)
 * dequeues it, copies the value straight to or from the waiter's own
 * buffer, records the outcome in it, and only then unparks its thread: the
 * waiter's memory stays valid because its thread cannot return before that.
 */
#include "common/chan.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/chan_internal.h"
#include "common/goroutine.h"

/* ------------------------------------------------------------ wait queues */

void waitq_push(waitq_t *q, waiter_t *w)
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

void waitq_remove(waitq_t *q, waiter_t *w)
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
waiter_t *waitq_pop(waitq_t *q)
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

/* w's outcome is recorded; it is woken when the lock has been dropped. */
static void wake_later(wakelist_t *wake, waiter_t *w)
{
    w->next = wake->first;
    wake->first = w;
}

void wakelist_wake(wakelist_t *wake)
{
    for (waiter_t *w = wake->first; w;) {
        waiter_t *next = w->next; /* read before its owner may return */
        parker_unpark(w->parker);
        w = next;
    }
    wake->first = NULL;
}

void chan_sync_flags(chan_t *c)
{
    assert(lock_is_held(&c->lock));
    if (c->ring == NULL)
        return;
    unsigned want = (c->recvq.head ? RECEIVERS_WAIT : 0) | (c->sendq.head ? SENDERS_WAIT : 0);
    unsigned have = ring_flags(c->ring) & (RECEIVERS_WAIT | SENDERS_WAIT);
    if (want & ~have)
        ring_set_flags(c->ring, want & ~have);
    if (have & ~want)
        ring_clear_flags(c->ring, have & ~want);
    bool senders = (want & SENDERS_WAIT) != 0;
    if (atomic_load_explicit(&c->senders_waiting, memory_order_relaxed) != senders)
        atomic_store_explicit(&c->senders_waiting, senders, memory_order_seq_cst);
}

/* ------------------------------------------------------------ lifecycle */

size_t chan_embedded_size(size_t elem_size, size_t cap)
{
    size_t slots = 0;
    if (cap > 0 && (ring_storage_size(elem_size, cap, &slots) != 0 ||
                    slots > SIZE_MAX - sizeof(chan_t) - sizeof(ring_t)))
        return 0;
    return sizeof(chan_t) + (cap > 0 ? sizeof(ring_t) + slots : 0);
}

/* Makes a channel in size zeroed bytes at mem, with one reference. */
static chan_t *chan_init(void *mem, size_t elem_size, size_t cap)
{
    chan_t *c = mem;
    c->elem_size = elem_size;
    c->cap = cap;
    if (cap > 0) {
        c->ring = (ring_t *)(c + 1);
        ring_init(c->ring, elem_size, cap, c->ring + 1);
    }
    atomic_init(&c->refs, 1);
    static atomic_uint_fast64_t last_id;
    c->id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
    return c;
}

chan_t *chan_make(size_t elem_size, size_t cap)
{
    size_t size = chan_embedded_size(elem_size, cap);
    if (size == 0) {
        errno = EINVAL;
        return NULL;
    }
    void *mem = goc_calloc(1, size);
    return mem ? chan_init(mem, elem_size, cap) : NULL;
}

chan_t *chan_make_embedded(void *mem, size_t elem_size, size_t cap, void (*free_block)(void *),
                           void *block)
{
    chan_t *c = chan_init(mem, elem_size, cap);
    c->finalizer = free_block;
    c->finalizer_arg = block;
    c->embedded = true;
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
    bool embedded = c->embedded; /* then the finalizer frees c with its block */
    if (c->finalizer)
        c->finalizer(c->finalizer_arg);
    if (!embedded)
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
    return c && c->ring ? ring_len(c->ring) : 0;
}

size_t chan_cap(chan_t *c)
{
    return c ? c->cap : 0;
}

/* ------------------------------------------------------------ one operation
 *
 * chan_try_send_locked and chan_try_recv_locked do what can be done at once
 * with the lock held. Blocking calls, try calls and select all go through
 * them (after a lock-free attempt on a ring), so they can never disagree.
 */

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

/* The push below cannot fail: SENDERS_WAIT stops every lock-free push, so
 * only this thread fills the room it saw. */
void chan_refill_locked(chan_t *c, wakelist_t *wake)
{
    assert(lock_is_held(&c->lock));
    while (c->sendq.head && ring_len(c->ring) < c->cap) {
        waiter_t *sender = waitq_pop(&c->sendq);
        if (sender == NULL)
            break;
        size_t at;
        ring_push_at(c->ring, sender->elem, SENDERS_WAIT | RECEIVERS_WAIT, &at);
        trace_flow_send(c->id, c->elem_size, at, &sender->party);
        sender->success = true;
        wake_later(wake, sender);
    }
    chan_sync_flags(c);
}

int chan_try_send_locked(chan_t *c, const void *elem, wakelist_t *wake)
{
    assert(lock_is_held(&c->lock));
    if (c->closed)
        return EPIPE;
    waiter_t *receiver = waitq_pop(&c->recvq);
    if (receiver) { /* straight into the receiver's hands */
        copy_elem(c, receiver->elem, elem);
        trace_flow_handoff(c->id, c->elem_size, NULL, &receiver->party);
        receiver->success = true;
        wake_later(wake, receiver);
        chan_sync_flags(c);
        return 0;
    }
    if (c->ring == NULL)
        return EAGAIN;
    chan_refill_locked(c, wake); /* senders that came first go first */
    if (c->sendq.head)
        return EAGAIN;
    size_t at;
    if (ring_push_at(c->ring, elem, 0, &at) != 0)
        return EAGAIN;
    trace_flow_send(c->id, c->elem_size, at, NULL);
    return 0;
}

int chan_try_recv_locked(chan_t *c, void *out, wakelist_t *wake)
{
    assert(lock_is_held(&c->lock));
    if (c->ring) {
        size_t at;
        int    rc = ring_pop_at(c->ring, out, &at);
        if (rc == 0) {
            trace_flow_recv(c->id, c->elem_size, at);
            chan_refill_locked(c, wake);
            return 0;
        }
        if (rc == EPIPE) {
            zero_elem(c, out);
            return EPIPE;
        }
    }
    /* Unbuffered, or an empty ring whose waiting sender has not been moved
     * in yet: take the value from the first sender. */
    waiter_t *sender = waitq_pop(&c->sendq);
    chan_sync_flags(c);
    if (sender) {
        copy_elem(c, out, sender->elem);
        trace_flow_handoff(c->id, c->elem_size, &sender->party, NULL);
        sender->success = true;
        wake_later(wake, sender);
        return 0;
    }
    if (c->closed) {
        zero_elem(c, out);
        return EPIPE;
    }
    return EAGAIN;
}

int chan_recheck_ring(chan_t *c, chan_op_t op, waiter_t *w)
{
    assert(lock_is_held(&c->lock));
    size_t at;
    if (op == CHAN_RECV) {
        if (ring_pop_at(c->ring, w->elem, &at) != 0)
            return EAGAIN;
        trace_flow_recv(c->id, c->elem_size, at);
        return 0;
    }
    if (c->sendq.head != w) /* only the first waiting sender may take room */
        return EAGAIN;
    if (ring_push_at(c->ring, w->elem, SENDERS_WAIT, &at) != 0)
        return EAGAIN;
    trace_flow_send(c->id, c->elem_size, at, NULL);
    return 0;
}

/* The lock-free path: with tracing off, recording costs the one test of
 * trace_enabled() in front of each hook, and nothing else. */
int chan_ring_try(chan_t *c, chan_op_t op, void *elem)
{
    size_t at;
    if (op == CHAN_SEND) {
        int rc = ring_push_at(c->ring, elem, 0, &at);
        if (trace_enabled() && rc == 0)
            trace_flow_send_(c->id, c->elem_size, at, NULL);
        return rc;
    }
    int rc = ring_pop_at(c->ring, elem, &at);
    if (trace_enabled() && rc == 0)
        trace_flow_recv_(c->id, c->elem_size, at);
    if (rc == 0 && atomic_load_explicit(&c->senders_waiting, memory_order_seq_cst)) {
        wakelist_t wake = {NULL};
        lock_acquire(&c->lock);
        chan_refill_locked(c, &wake);
        lock_release(&c->lock);
        wakelist_wake(&wake);
    } else if (rc == EPIPE) {
        zero_elem(c, elem);
    } else if (rc == EAGAIN && atomic_load_explicit(&c->senders_waiting, memory_order_seq_cst)) {
        rc = EBUSY; /* empty, but a sender waits: its value is for us */
    }
    return rc;
}

typedef struct {
    ring_t *ring;
    bool    push;
} ring_look_t;

static bool ring_looks_ready(void *arg)
{
    ring_look_t *look = arg;
    return ring_ready(look->ring, look->push);
}

/* Sends or receives, waiting if block is true. */
static int operate(chan_t *c, chan_op_t op, void *elem, bool block)
{
    if (c->ring) {
        int rc = chan_ring_try(c, op, elem);
        if (rc == EAGAIN && block) {
            /* The partner is likely running on another core: a moment's
             * spin saves going to sleep and being woken. */
            ring_look_t look = {c->ring, op == CHAN_SEND};
            if (spin_until(ring_looks_ready, &look))
                rc = chan_ring_try(c, op, elem);
        }
        if (rc != EBUSY && (rc != EAGAIN || !block))
            return rc;
    }
    wakelist_t wake = {NULL};
    lock_acquire(&c->lock);
    int rc = op == CHAN_SEND ? chan_try_send_locked(c, elem, &wake)
                             : chan_try_recv_locked(c, elem, &wake);
    if (rc != EAGAIN || !block) {
        lock_release(&c->lock);
        wakelist_wake(&wake);
        return rc;
    }
    waiter_t me = {.elem = elem};
    me.parker = &me.own;
    if (trace_enabled())
        me.party = trace_flow_self_();
    waitq_t *q = op == CHAN_SEND ? &c->sendq : &c->recvq;
    waitq_push(q, &me);
    if (c->ring) {
        chan_sync_flags(c);
        if (chan_recheck_ring(c, op, &me) == 0) {
            waitq_remove(q, &me);
            if (op == CHAN_RECV)
                chan_refill_locked(c, &wake);
            chan_sync_flags(c);
            lock_release(&c->lock);
            wakelist_wake(&wake);
            return 0;
        }
    }
    lock_release(&c->lock);
    wakelist_wake(&wake);
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
    if (c->ring)
        ring_set_flags(c->ring, RING_CLOSED);
    /* Receivers wait only on an empty ring, so for them the close is final. */
    wakelist_t wake = {NULL};
    for (waiter_t *w; (w = waitq_pop(&c->recvq)) != NULL;) {
        zero_elem(c, w->elem);
        w->success = false;
        wake_later(&wake, w);
    }
    for (waiter_t *w; (w = waitq_pop(&c->sendq)) != NULL;) {
        w->success = false;
        wake_later(&wake, w);
    }
    chan_sync_flags(c);
    lock_release(&c->lock);
    wakelist_wake(&wake);
    trace_flow_close(c->id);
    return 0;
}
