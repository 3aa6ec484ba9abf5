/*
 * ring.c - a bounded lock-free MPMC ring (Vyukov's design, with flags).
 *
 * Positions count up forever: position p lives in slot p % cap. A slot's
 * sequence number tells which position may use it next:
 *
 *   seq == 2p               free: the producer of position p may fill it;
 *   seq == 2p + 1           full: it holds the value of position p;
 *   seq == 2(p + cap)       emptied: free for position p + cap, a lap later.
 *
 * (Vyukov's queue uses p, p + 1 and p + cap, which cannot tell "full" from
 * "emptied" when cap is 1; doubling keeps the three states apart.)
 *
 * A producer reserves p by moving tail from p to p + 1 (only if the slot
 * says seq == p), copies its value in, then publishes seq = p + 1 with a
 * release store. A consumer reserves p by moving head from p to p + 1 (only
 * if seq == p + 1), copies the value out, then frees the slot with
 * seq = p + cap. Between reserving and publishing, another thread that
 * needs that very slot waits a moment (backoff()); nothing else ever waits.
 *
 * Invariants: head <= tail <= head + cap (in positions); the values in the
 * ring are those of positions head .. tail - 1; flags only change through
 * ring_set_flags / ring_clear_flags, and a push that succeeds saw none it
 * was not allowed in the same tail word it advanced.
 */
#include "common/ring.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/lock.h"

#define RING_FLAGS ((size_t)(RING_FLAG_A | RING_FLAG_B))
#define RING_ONE ((size_t)1 << RING_FLAG_BITS)

typedef struct {
    _Atomic uint32_t seq;
    unsigned char    value[]; /* elem_size bytes, copied with memcpy */
} slot_t;

/* How far seq is from the value expected, modulo 2^32. */
static int32_t seq_diff(uint32_t seq, uint32_t expected)
{
    return (int32_t)(seq - expected);
}

static uint32_t seq_free(size_t position)
{
    return (uint32_t)(2 * position);
}

static uint32_t seq_full(size_t position)
{
    return (uint32_t)(2 * position + 1);
}

static size_t stride_for(size_t elem_size)
{
    return sizeof(slot_t) + (elem_size + 3) / 4 * 4; /* keeps every seq 4-aligned */
}

/* Bytes before the slots: the two counters, spaced out on a busy ring. */
static size_t counters_size(size_t cap)
{
    return cap >= RING_SPACED_CAP ? 3 * RING_CACHE_LINE : 2 * sizeof(atomic_size_t);
}

int ring_storage_size(size_t elem_size, size_t cap, size_t *bytes)
{
    *bytes = 0;
    if (cap == 0)
        return EINVAL;
    size_t slots = 0;
    if (elem_size > 0) {
        if (cap > RING_MAX_CAP || elem_size > SIZE_MAX / 2)
            return EINVAL;
        size_t stride = stride_for(elem_size);
        if (stride > (SIZE_MAX - 3 * RING_CACHE_LINE) / cap)
            return EINVAL;
        slots = cap * stride;
    }
    *bytes = counters_size(cap) + slots;
    return 0;
}

void ring_init(ring_t *r, size_t elem_size, size_t cap, void *storage)
{
    unsigned char *base = storage;
    r->cap = cap;
    r->elem_size = elem_size;
    r->stride = stride_for(elem_size);
    if (cap >= RING_SPACED_CAP) { /* a line between each counter and its neighbours */
        r->head = (atomic_size_t *)(base + RING_CACHE_LINE);
        r->tail = (atomic_size_t *)(base + 2 * RING_CACHE_LINE);
    } else {
        r->head = (atomic_size_t *)base;
        r->tail = r->head + 1;
    }
    r->slots = elem_size ? base + counters_size(cap) : NULL;
    atomic_init(r->head, 0);
    atomic_init(r->tail, 0);
    for (size_t i = 0; r->slots && i < cap; i++)
        atomic_init(&((slot_t *)(r->slots + i * r->stride))->seq, seq_free(i));
}

static slot_t *slot_at(ring_t *r, size_t position)
{
    return (slot_t *)(r->slots + (position % r->cap) * r->stride);
}

/* Another thread has reserved the slot we need and is copying: usually a
 * few nanoseconds, unless it was preempted, hence the yield. */
static void backoff(unsigned *spins)
{
    if (++*spins < 64)
        cpu_relax();
    else
        sched_yield();
}

/* Why the flags in a tail word stop a push: EPIPE, EBUSY, or 0 (they don't). */
static int push_refused(size_t tail, unsigned allowed)
{
    if (tail & RING_CLOSED)
        return EPIPE;
    return tail & RING_FLAGS & ~(size_t)allowed ? EBUSY : 0;
}

/* Zero-size values need no slots: the ring is two counters, and a push or
 * a pop is one compare-and-swap that checks the other end first. Head and
 * tail only grow, so a check made before the swap still holds at it unless
 * the swap fails. */
static int counter_push(ring_t *r, unsigned allowed, size_t *position)
{
    size_t tail = atomic_load_explicit(r->tail, memory_order_relaxed);
    for (;;) {
        int refused = push_refused(tail, allowed);
        if (refused)
            return refused;
        size_t head = atomic_load_explicit(r->head, memory_order_seq_cst);
        if ((tail >> RING_FLAG_BITS) - head >= r->cap)
            return EAGAIN;
        if (atomic_compare_exchange_weak_explicit(r->tail, &tail, tail + RING_ONE,
                                                  memory_order_release, memory_order_relaxed)) {
            *position = tail >> RING_FLAG_BITS;
            return 0;
        }
    }
}

static int counter_pop(ring_t *r, size_t *position)
{
    size_t head = atomic_load_explicit(r->head, memory_order_relaxed);
    for (;;) {
        size_t tail = atomic_load_explicit(r->tail, memory_order_seq_cst);
        if (tail >> RING_FLAG_BITS == head)
            return tail & RING_CLOSED ? EPIPE : EAGAIN;
        if (atomic_compare_exchange_weak_explicit(r->head, &head, head + 1, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            *position = head;
            return 0;
        }
    }
}

int ring_push_at(ring_t *r, const void *elem, unsigned allowed, size_t *at)
{
    if (r->slots == NULL)
        return counter_push(r, allowed, at);
    unsigned spins = 0;
    size_t   tail = atomic_load_explicit(r->tail, memory_order_relaxed);
    for (;;) {
        int refused = push_refused(tail, allowed);
        if (refused)
            return refused;
        size_t   position = tail >> RING_FLAG_BITS;
        slot_t  *s = slot_at(r, position);
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int32_t  diff = seq_diff(seq, seq_free(position));
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(r->tail, &tail, tail + RING_ONE,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                if (r->elem_size)
                    memcpy(s->value, elem, r->elem_size);
                atomic_store_explicit(&s->seq, seq_full(position), memory_order_release);
                *at = position;
                return 0;
            }
            continue; /* the failed swap reloaded tail */
        }
        if (diff < 0) {
            /* The slot still holds position - cap: full, unless that
             * value's pop has reserved it and is copying it out. */
            size_t head = atomic_load_explicit(r->head, memory_order_seq_cst);
            if (head + r->cap <= position)
                return EAGAIN;
            backoff(&spins);
        }
        tail = atomic_load_explicit(r->tail, memory_order_relaxed);
    }
}

int ring_pop_at(ring_t *r, void *out, size_t *at)
{
    if (r->slots == NULL)
        return counter_pop(r, at);
    unsigned spins = 0;
    size_t   head = atomic_load_explicit(r->head, memory_order_relaxed);
    for (;;) {
        slot_t  *s = slot_at(r, head);
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int32_t  diff = seq_diff(seq, seq_full(head));
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(r->head, &head, head + 1,
                                                      memory_order_seq_cst, memory_order_relaxed)) {
                if (r->elem_size && out)
                    memcpy(out, s->value, r->elem_size);
                atomic_store_explicit(&s->seq, seq_free(head + r->cap), memory_order_release);
                *at = head;
                return 0;
            }
            continue;
        }
        if (diff < 0) {
            /* No value at head yet: empty, unless its push has reserved
             * the slot and is copying the value in. */
            size_t tail = atomic_load_explicit(r->tail, memory_order_seq_cst);
            if (tail >> RING_FLAG_BITS == head)
                return tail & RING_CLOSED ? EPIPE : EAGAIN;
            backoff(&spins);
        }
        head = atomic_load_explicit(r->head, memory_order_relaxed);
    }
}

bool ring_ready(ring_t *r, bool push)
{
    if (push) {
        size_t tail = atomic_load_explicit(r->tail, memory_order_relaxed);
        if (tail & (RING_FLAGS | RING_CLOSED) || r->slots == NULL)
            return true;
        size_t position = tail >> RING_FLAG_BITS;
        return atomic_load_explicit(&slot_at(r, position)->seq, memory_order_relaxed) ==
               seq_free(position);
    }
    if (r->slots == NULL)
        return true;
    size_t head = atomic_load_explicit(r->head, memory_order_relaxed);
    return atomic_load_explicit(&slot_at(r, head)->seq, memory_order_relaxed) == seq_full(head);
}

void ring_set_flags(ring_t *r, unsigned flags)
{
    atomic_fetch_or_explicit(r->tail, (size_t)flags, memory_order_seq_cst);
}

void ring_clear_flags(ring_t *r, unsigned flags)
{
    atomic_fetch_and_explicit(r->tail, ~(size_t)flags, memory_order_seq_cst);
}

unsigned ring_flags(ring_t *r)
{
    size_t tail = atomic_load_explicit(r->tail, memory_order_seq_cst);
    return (unsigned)(tail & (RING_FLAGS | RING_CLOSED));
}

size_t ring_len(ring_t *r)
{
    size_t head = atomic_load_explicit(r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(r->tail, memory_order_acquire) >> RING_FLAG_BITS;
    return tail > head ? (tail - head < r->cap ? tail - head : r->cap) : 0;
}
