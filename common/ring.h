/*
 * ring.h - the lock-free buffer behind a buffered channel (internal).
 *
 * A bounded multi-producer, multi-consumer FIFO of fixed-size values, after
 * Dmitry Vyukov's bounded MPMC queue. Producers reserve a position by
 * advancing `tail` with a compare-and-swap, consumers by advancing `head`;
 * every slot carries a sequence number that says whose turn it is, so a
 * producer and a consumer working at different ends touch different cache
 * lines and never wait for each other.
 *
 * The tail word also carries flag bits. While one is set that the caller
 * of ring_push did not allow, the push fails without touching the ring:
 * that is how a channel stops lock-free sends while it has receivers or
 * senders waiting, and hands the value over under its lock instead.
 * RING_CLOSED is the ring's own flag: once set, pushes fail for good and an
 * empty ring reports EPIPE instead of EAGAIN.
 *
 * Nobody frees anything here: the ring lives inside its channel's block.
 */
#ifndef COMMON_RING_H
#define COMMON_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    RING_CLOSED = 1,      /* no push will ever succeed again */
    RING_FLAG_A = 2,      /* for the owner; stops pushes unless allowed */
    RING_FLAG_B = 4,      /* for the owner; stops pushes unless allowed */
    RING_FLAG_BITS = 3,   /* tail = position << RING_FLAG_BITS | flags */
    RING_CACHE_LINE = 64, /* the gap that keeps head and tail apart */
    RING_SPACED_CAP = 8,  /* from this cap on, head and tail get their own lines */
};

/* Sequence numbers are 32 bits and compared modulo 2^32, which stays exact
 * while a ring holds at most 2^29 values (of a size above zero). */
#define RING_MAX_CAP ((size_t)1 << 29)

typedef struct ring {
    size_t         cap, elem_size, stride;
    unsigned char *slots;
    atomic_size_t *head; /* the next position to pop */
    atomic_size_t *tail; /* the next position to push, and the flags */
} ring_t;

/* Sets *bytes to the storage a ring of cap values of elem_size bytes needs:
 * its head and tail counters (a cache line apart, and apart from what comes
 * before, once cap >= RING_SPACED_CAP: a busy ring's producers and
 * consumers then never write the same line), then the slots (none for
 * zero-size values: such a ring is two counters, and any cap goes).
 * Returns 0, or EINVAL if cap is 0, above RING_MAX_CAP for values with a
 * size, or the size overflows. */
int ring_storage_size(size_t elem_size, size_t cap, size_t *bytes);

/* Makes r an empty ring in storage (*bytes from ring_storage_size,
 * 8-aligned, owned by the caller and outliving r). */
void ring_init(ring_t *r, size_t elem_size, size_t cap, void *storage);

/* Appends a copy of *elem. Returns 0, EAGAIN if the ring is full, EPIPE if
 * it is closed, or EBUSY if a flag outside `allowed` is set (nothing
 * changes). Lock-free; waits only for a pop that has reserved the slot
 * this push needs and is copying its value out. On success *at is the
 * value's position: the number of values pushed before it, ever. */
int ring_push_at(ring_t *r, const void *elem, unsigned allowed, size_t *at);

/* Removes the oldest value into *out (out may be NULL). Returns 0, EAGAIN
 * if the ring is empty, EPIPE if it is empty and closed. Flags do not stop
 * a pop. The head's compare-and-swap is sequentially consistent, so a pop
 * followed by a seq_cst load of the owner's "someone waits" word cannot
 * miss a waiter that set that word and then looked at the ring. On success
 * *at is the value's position, the one its push reported: the ring is
 * FIFO, so the k-th value pushed is the k-th popped. */
int ring_pop_at(ring_t *r, void *out, size_t *at);

/* The same, for a caller that does not need the position. */
static inline int ring_push(ring_t *r, const void *elem, unsigned allowed)
{
    size_t at;
    return ring_push_at(r, elem, allowed, &at);
}

static inline int ring_pop(ring_t *r, void *out)
{
    size_t at;
    return ring_pop_at(r, out, &at);
}

/* A cheap look, for spinning: true if a push (push == true) or a pop
 * would probably not find the ring full (or empty) now, or a flag says the
 * caller must decide. Reads one slot and one end, never the other end, so a
 * spinning consumer does not pull the producers' cache line to itself. */
bool ring_ready(ring_t *r, bool push);

/* Sets or clears flags (sequentially consistent: a caller that sets a flag
 * and then looks at the ring sees every push that the flag did not stop). */
void ring_set_flags(ring_t *r, unsigned flags);
void ring_clear_flags(ring_t *r, unsigned flags);

/* The flags now. */
unsigned ring_flags(ring_t *r);

/* Values in the ring now, counting pushes and pops still copying; at most
 * cap. */
size_t ring_len(ring_t *r);

#endif
