/*
 * wl_ring.c - the two reference rows, run on two POSIX threads of their
 * own under either runtime (two goroutines may share one worker, and then
 * nothing crosses a core, which is what a reference must measure):
 *
 *   ref_spsc_ring: one producer, one consumer, a fixed ring of 1024 ints
 *   and two C11 atomic indices; no lock, no syscall, no wake-up. It is the
 *   practical limit for moving one item between two cores, and what
 *   buf_spsc is measured against.
 *
 *   ref_cacheline: the floor under every hand-off between two cores. Two
 *   threads bounce one word: one stores an odd number and waits for the
 *   next even one, its partner waits for the odd one and stores the next.
 *   One operation is one round trip of the word's cache line, nothing
 *   else. Between two cores of one chip that takes well under 100 ns; on a
 *   VM whose two vCPUs the hypervisor places far apart, several hundred.
 *   Printed beside unbuf_pingpong, it says which kind of machine a run had.
 *
 * Ring invariants: only the producer writes `tail`, only the consumer
 * writes `head`; 0 <= tail - head <= RING_CAP (indices run freely and wrap
 * as size_t). A release store of tail publishes the slot written before it;
 * a release store of head hands the slot back. Each side keeps a private
 * copy of the other's index and rereads the shared one only when the copy
 * says full (or empty), so in the steady state a cache line moves only
 * when it must. The indices live on separate cache lines so the two cores
 * do not fight over one line (false sharing).
 *
 * A waiting side spins with a pause hint, then yields its core: with two
 * cores and a noisy neighbour, pure spinning could starve the other side.
 * Both threads wait for each other at a start line, so thread creation is
 * outside the race; the time runs from before the first creation to after
 * both are joined (microseconds against millions of operations).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>

#include "bench/bench.h"
#include "common/go.h"
#include "common/timer.h"

enum { RING_CAP = 1024, SPINS_BEFORE_YIELD = 128 };

static void wait_a_little(unsigned *spins)
{
    if (++*spins < SPINS_BEFORE_YIELD) {
        bench_cpu_relax();
    } else {
        *spins = 0;
        sched_yield(); /* a thread of our own: yield the core, not a worker */
    }
}

/* ------------------------------------------------------- ref_spsc_ring */

typedef struct {
    start_line_t line;
    alignas(64) atomic_size_t head; /* next slot to read; written by the consumer */
    alignas(64) atomic_size_t tail; /* next slot to write; written by the producer */
    alignas(64) int slots[RING_CAP];
    int64_t count;
    bool    in_order; /* consumer: every value arrived in order */
} ring_t;

static void *ring_produce(void *arg)
{
    ring_t *r = arg;
    if (!start_line_cross(&r->line))
        return NULL;
    size_t tail = 0, head_seen = 0;
    for (int64_t i = 0; i < r->count; i++) {
        unsigned spins = 0;
        while (tail - head_seen == RING_CAP) {
            head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
            if (tail - head_seen == RING_CAP)
                wait_a_little(&spins);
        }
        r->slots[tail % RING_CAP] = (int)i;
        tail++;
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
    return NULL;
}

static void *ring_consume(void *arg)
{
    ring_t *r = arg;
    if (!start_line_cross(&r->line))
        return NULL;
    size_t head = 0, tail_seen = 0;
    bool   in_order = true;
    for (int64_t i = 0; i < r->count; i++) {
        unsigned spins = 0;
        while (tail_seen == head) {
            tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (tail_seen == head)
                wait_a_little(&spins);
        }
        in_order &= r->slots[head % RING_CAP] == (int)i;
        head++;
        atomic_store_explicit(&r->head, head, memory_order_release);
    }
    r->in_order = in_order;
    return NULL;
}

int wl_ref_spsc_ring(int64_t n, int64_t *elapsed_ns)
{
    static ring_t ring; /* 4 KiB: one workload runs at a time */
    atomic_init(&ring.line.arrived, 0);
    atomic_init(&ring.line.aborted, false);
    atomic_init(&ring.head, 0);
    atomic_init(&ring.tail, 0);
    ring.count = n;
    ring.in_order = false;
    int rc = run_pair(ring_produce, ring_consume, &ring, &ring.line, elapsed_ns);
    if (rc != 0)
        return bench_fail("ref_spsc_ring", rc, "cannot start the two threads");
    if (!ring.in_order)
        return bench_fail("ref_spsc_ring", EPROTO, "values arrived out of order");
    return 0;
}

/* ------------------------------------------------------- ref_cacheline */

typedef struct {
    start_line_t line;
    alignas(64) atomic_long word;
    int64_t count;
} bounce_t;

static void wait_for(atomic_long *word, long value)
{
    unsigned spins = 0;
    while (atomic_load_explicit(word, memory_order_acquire) != value)
        wait_a_little(&spins);
}

/* Stores the odd numbers, waits for the even ones. */
static void *bounce_odd(void *arg)
{
    bounce_t *b = arg;
    if (!start_line_cross(&b->line))
        return NULL;
    for (int64_t i = 0; i < b->count; i++) {
        atomic_store_explicit(&b->word, 2 * i + 1, memory_order_release);
        wait_for(&b->word, 2 * i + 2);
    }
    return NULL;
}

/* Waits for the odd numbers, stores the even ones. */
static void *bounce_even(void *arg)
{
    bounce_t *b = arg;
    if (!start_line_cross(&b->line))
        return NULL;
    for (int64_t i = 0; i < b->count; i++) {
        wait_for(&b->word, 2 * i + 1);
        atomic_store_explicit(&b->word, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int wl_ref_cacheline(int64_t n, int64_t *elapsed_ns)
{
    static bounce_t b; /* one workload runs at a time */
    atomic_init(&b.line.arrived, 0);
    atomic_init(&b.line.aborted, false);
    atomic_init(&b.word, 0);
    b.count = n;
    int rc = run_pair(bounce_odd, bounce_even, &b, &b.line, elapsed_ns);
    if (rc != 0)
        return bench_fail("ref_cacheline", rc, "cannot start the two threads");
    return 0;
}
