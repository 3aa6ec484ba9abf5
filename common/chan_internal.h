/*
 * chan_internal.h - a channel's private state, shared by chan.c and
 * select.c, and hooks for other core modules. Not part of the public API.
 *
 * The invariants the lock protects, and how the lock-free ring of a
 * buffered channel fits in, are stated at the top of chan.c.
 */
#ifndef COMMON_CHAN_INTERNAL_H
#define COMMON_CHAN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/park.h"
#include "common/ring.h"
#include "common/trace_flow.h"

/* The waiters of one select share this: the first channel to complete one
 * of them claims `done` and records itself as the winner. */
typedef struct select_wait {
    parker_t       parker;
    atomic_int     done;
    struct waiter *winner;
} select_wait_t;

/* A blocked send or receive, on the waiting thread's stack. */
typedef struct waiter {
    struct waiter *prev, *next;
    parker_t      *parker;     /* whom to wake: `own`, or the select's */
    select_wait_t *select;     /* NULL for a single send or receive */
    void          *elem;       /* send: the value; recv: its destination (may be NULL) */
    size_t         case_index; /* select only */
    bool           queued;     /* in a channel's queue (under that channel's lock) */
    bool           success;    /* set by the waker: true = done, false = closed */
    parker_t       own;        /* a single operation parks here */
    trace_party_t  party;      /* who waits, since when: for the tracer ({0, 0} if off) */
} waiter_t;

typedef struct {
    waiter_t *head, *tail;
} waitq_t;

/* Waiters completed under a lock, to be woken once it is dropped. */
typedef struct {
    waiter_t *first;
} wakelist_t;

/* Flags in a buffered channel's ring: set exactly while the queue is not
 * empty, so a lock-free send cannot slip past a waiting thread. */
enum { RECEIVERS_WAIT = RING_FLAG_A, SENDERS_WAIT = RING_FLAG_B };

struct chan {
    lock_t        lock; /* guards everything below but refs, id and ring */
    size_t        elem_size;
    size_t        cap;
    bool          closed;
    waitq_t       recvq; /* receivers waiting for a value */
    waitq_t       sendq; /* senders waiting for room or a receiver */
    atomic_size_t refs;
    uint64_t      id; /* for goroutine dumps: "chan #3" */
    void (*finalizer)(void *arg);
    void *finalizer_arg;
    /* cap > 0: true exactly while sendq is not empty; read by every
     * lock-free receive, written rarely, so it stays in both caches. */
    atomic_bool senders_waiting;
    bool        embedded; /* lives inside another object's block */
    ring_t     *ring;     /* cap > 0: the buffer, in the same block; else NULL */
};

/* Queue operations; the channel's lock is held. */
void      waitq_push(waitq_t *q, waiter_t *w);
void      waitq_remove(waitq_t *q, waiter_t *w);
waiter_t *waitq_pop(waitq_t *q);

/* After any change to c's queues (lock held): brings the ring's waiting
 * flags and senders_waiting in line with them. No-op when cap is 0. */
void chan_sync_flags(chan_t *c);

/* What can be done at once, with c's lock held: 0 (done), EPIPE (closed)
 * or EAGAIN (would block). Waiters completed on the way go on *wake. */
int chan_try_send_locked(chan_t *c, const void *elem, wakelist_t *wake);
int chan_try_recv_locked(chan_t *c, void *out, wakelist_t *wake);

/* For a buffered channel whose waiter w has just been queued and the flags
 * set (lock held): tries the operation once more, because a lock-free
 * operation may have slipped in before the flags were seen. Returns 0 if it
 * was done, else EAGAIN. Either way w is still queued: after a receive the
 * caller takes all its own waiters out and then calls chan_refill_locked,
 * which must not meet a waiter of the caller's own select. */
int chan_recheck_ring(chan_t *c, chan_op_t op, waiter_t *w);

/* After a receive freed room in c's ring (lock held): moves the values of
 * waiting senders into it, first come first served, and completes them. */
void chan_refill_locked(chan_t *c, wakelist_t *wake);

/* A buffered channel's lock-free attempt, no lock held: 0 (done), EPIPE
 * (closed; a receive is then drained, and its *elem zeroed), EAGAIN (full,
 * or empty), or EBUSY: someone waits, so only the locked path may decide.
 * A receive that freed a slot moves a waiting sender's value in. */
int chan_ring_try(chan_t *c, chan_op_t op, void *elem);

/* Wakes everyone on the list; call with no lock held. */
void wakelist_wake(wakelist_t *wake);

/* Bytes a channel of cap values of elem_size bytes takes, ring included:
 * what chan_make allocates, and what chan_make_embedded needs. 0 if too
 * big (see chan_make). */
size_t chan_embedded_size(size_t elem_size, size_t cap);

/* Makes a channel, with one reference, inside another object's block (one
 * allocation for both: a context and its done channel). mem: that many
 * zeroed bytes, aligned like malloc's. The channel's last release calls
 * free_block(block) instead of freeing mem: whoever owns the block drops
 * its share by releasing the channel, so a reference taken on the channel
 * keeps the whole block alive. */
chan_t *chan_make_embedded(void *mem, size_t elem_size, size_t cap, void (*free_block)(void *),
                           void *block);

/* Registers fn(arg) to run once when c's last reference is released, before
 * c is freed (time_after uses it to cancel its timer). One finalizer per
 * channel; a second call replaces the first. */
void chan_set_finalizer(chan_t *c, void (*fn)(void *arg), void *arg);

#endif
