/*
 * wl_ring.c - ref_spsc_ring: the reference row. One producer, one consumer,
 * a fixed ring of 1024 ints and two C11 atomic indices; no lock, no
 * syscall, no wake-up. It is the practical limit for moving one item
 * between two cores, and what buf_spsc is measured against.
 *
 * Invariants: only the producer writes `tail`, only the consumer writes
 * `head`; 0 <= tail - head <= RING_CAP (indices run freely and wrap as
 * size_t). A release store of tail publishes the slot written before it; a
 * release store of head hands the slot back. Each side keeps a private copy
 * of the other's index and rereads the shared one only when the copy says
 * full (or empty), so in the steady state a cache line moves only when it
 * must. The indices live on separate cache lines so the two cores do not
 * fight over one line (false sharing).
 *
 * A waiting side spins with a pause hint, then yields its core: with two
 * cores and a noisy neighbour, pure spinning could starve the other side.
 */
#include <errno.h>
#include <stdalign.h>

#include "bench/bench.h"
#include "common/go.h"
#include "common/timer.h"

enum { RING_CAP = 1024, SPINS_BEFORE_YIELD = 128 };

typedef struct {
    alignas(64) atomic_size_t head; /* next slot to read; written by the consumer */
    alignas(64) atomic_size_t tail; /* next slot to write; written by the producer */
    alignas(64) int slots[RING_CAP];
} ring_t;

typedef struct {
    bench_crew_t *crew;
    ring_t       *ring;
    int64_t       count;
} ring_producer_t;

static void wait_a_little(unsigned *spins)
{
    if (++*spins < SPINS_BEFORE_YIELD) {
        bench_cpu_relax();
    } else {
        *spins = 0;
        go_yield();
    }
}

static void ring_produce(void *arg)
{
    ring_producer_t *p = arg;
    if (crew_wait_start(p->crew)) {
        ring_t *r = p->ring;
        size_t  tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        size_t  head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        for (int64_t i = 0; i < p->count; i++) {
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
    }
    crew_leave(p->crew);
}

int wl_ref_spsc_ring(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("ref_spsc_ring", ENOMEM, "out of memory");
    ring_t ring; /* on this stack: the producer is joined before we return */
    atomic_init(&ring.head, 0);
    atomic_init(&ring.tail, 0);
    ring_producer_t producer = {&crew, &ring, n};
    if (crew_go(&crew, "ring producer", ring_produce, &producer) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        return bench_fail("ref_spsc_ring", EAGAIN, "cannot start the producer");
    }

    int64_t t0 = crew_start(&crew);
    size_t  head = 0, tail_seen = 0;
    bool    in_order = true;
    for (int64_t i = 0; i < n; i++) {
        unsigned spins = 0;
        while (tail_seen == head) {
            tail_seen = atomic_load_explicit(&ring.tail, memory_order_acquire);
            if (tail_seen == head)
                wait_a_little(&spins);
        }
        in_order &= ring.slots[head % RING_CAP] == (int)i;
        head++;
        atomic_store_explicit(&ring.head, head, memory_order_release);
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);

    *elapsed_ns = t1 - t0;
    if (!in_order)
        return bench_fail("ref_spsc_ring", EPROTO, "values arrived out of order");
    return 0;
}

/* ref_cacheline: the floor under every hand-off between two threads. Two
 * threads bounce one word: main stores an odd number and waits for the next
 * even one, its partner waits for the odd one and stores the next. One
 * operation is one round trip: the word's cache line goes to the other core
 * and back, nothing else. On a quiet machine with two cores of one chip that
 * takes well under 100 ns; on a VM whose two vCPUs the hypervisor places far
 * apart, several hundred. Printed beside unbuf_pingpong, it says which kind
 * of machine a run had. */
typedef struct {
    bench_crew_t *crew;
    atomic_long  *word;
    int64_t       count;
} bouncer_t;

static void wait_for(atomic_long *word, long value)
{
    unsigned spins = 0;
    while (atomic_load_explicit(word, memory_order_acquire) != value)
        wait_a_little(&spins);
}

static void bounce_back(void *arg)
{
    bouncer_t *b = arg;
    if (crew_wait_start(b->crew)) {
        for (int64_t i = 0; i < b->count; i++) {
            wait_for(b->word, 2 * i + 1);
            atomic_store_explicit(b->word, 2 * i + 2, memory_order_release);
        }
    }
    crew_leave(b->crew);
}

int wl_ref_cacheline(int64_t n, int64_t *elapsed_ns)
{
    bench_crew_t crew;
    if (crew_init(&crew) != 0)
        return bench_fail("ref_cacheline", ENOMEM, "out of memory");
    alignas(64) atomic_long word; /* on this stack: the partner is joined before we return */
    atomic_init(&word, 0);
    bouncer_t partner = {&crew, &word, n};
    if (crew_go(&crew, "bouncer", bounce_back, &partner) != 0) {
        crew_abort(&crew);
        crew_destroy(&crew);
        return bench_fail("ref_cacheline", EAGAIN, "cannot start the partner");
    }
    int64_t t0 = crew_start(&crew);
    for (int64_t i = 0; i < n; i++) {
        atomic_store_explicit(&word, 2 * i + 1, memory_order_release);
        wait_for(&word, 2 * i + 2);
    }
    int64_t t1 = time_now();
    crew_join(&crew);
    crew_destroy(&crew);
    *elapsed_ns = t1 - t0;
    return 0;
}
