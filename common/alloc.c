/*
 * alloc.c - counted allocation with fault injection.
 *
 * Each block carries a small header recording its size, so that the live
 * byte count can be kept exactly.
 *
 * The counts are kept per thread: each thread has a tally that only it
 * writes (a plain load and store, no locked instruction: a context made
 * and freed used to pay four atomic adds on two process-wide counters,
 * 15% of its cost, and two workers allocating at once fought over their
 * cache line). alloc_live() adds the tallies up under tallies_lock. A
 * thread's tally is linked into `tallies` on its first allocation, and
 * when the thread ends its counts move into `retired` and it is unlinked,
 * both under the lock, so a reader sees each count exactly once.
 * A goroutine may move between threads, but never inside one allocation,
 * which does not park: it adds to one tally and subtracts from another,
 * and the sum stays exact.
 */
#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/fault.h"

typedef struct {
    alignas(max_align_t) size_t size;
} block_header_t;

typedef struct tally {
    atomic_int_fast64_t blocks, bytes; /* written by the owner thread only */
    struct tally       *prev, *next;   /* in `tallies`, under tallies_lock */
    bool                linked;        /* owner only */
} tally_t;

static pthread_mutex_t       tallies_lock = PTHREAD_MUTEX_INITIALIZER;
static tally_t              *tallies;                       /* live threads' tallies */
static int64_t               retired_blocks, retired_bytes; /* ended threads' counts */
static pthread_once_t        tally_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t         tally_key;
static _Thread_local tally_t my_tally;
static fault_countdown_t     allocation_faults = FAULT_COUNTDOWN_OFF;

/* At a thread's end (a pthread key destructor): its counts retire. */
static void retire_tally(void *arg)
{
    tally_t *t = arg;
    pthread_mutex_lock(&tallies_lock);
    retired_blocks += atomic_load_explicit(&t->blocks, memory_order_relaxed);
    retired_bytes += atomic_load_explicit(&t->bytes, memory_order_relaxed);
    atomic_store_explicit(&t->blocks, 0, memory_order_relaxed);
    atomic_store_explicit(&t->bytes, 0, memory_order_relaxed);
    if (t->prev)
        t->prev->next = t->next;
    else
        tallies = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&tallies_lock);
    t->linked = false; /* a later destructor that allocates links it again */
}

static void make_tally_key(void)
{
    pthread_key_create(&tally_key, retire_tally);
}

/* The calling thread's tally, linked on first use. Never inlined into a
 * caller: the thread-local's address must be read anew on every call, as
 * a goroutine may run on another thread by the next one. */
__attribute__((noinline)) static tally_t *my_linked_tally(void)
{
    tally_t *t = &my_tally;
    if (!t->linked) {
        pthread_once(&tally_key_once, make_tally_key);
        pthread_mutex_lock(&tallies_lock);
        t->prev = NULL;
        t->next = tallies;
        if (tallies)
            tallies->prev = t;
        tallies = t;
        pthread_mutex_unlock(&tallies_lock);
        t->linked = true;
        pthread_setspecific(tally_key, t);
    }
    return t;
}

/* Adds to the calling thread's tally: a plain read and write, as only
 * this thread writes it (readers load it as an atomic). */
static void count(int64_t blocks, int64_t bytes)
{
    tally_t *t = my_linked_tally();
    atomic_store_explicit(&t->blocks,
                          atomic_load_explicit(&t->blocks, memory_order_relaxed) + blocks,
                          memory_order_relaxed);
    atomic_store_explicit(&t->bytes, atomic_load_explicit(&t->bytes, memory_order_relaxed) + bytes,
                          memory_order_relaxed);
}

static void *allocate(size_t size, int zero)
{
    if (size > SIZE_MAX - sizeof(block_header_t) || fault_strikes(&allocation_faults)) {
        errno = ENOMEM;
        return NULL;
    }
    block_header_t *h = zero ? calloc(1, sizeof *h + size) : malloc(sizeof *h + size);
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    h->size = size;
    count(1, (int64_t)size);
    return h + 1;
}

void *goc_malloc(size_t size)
{
    return allocate(size, 0);
}

void *goc_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return allocate(count * size, 1);
}

void goc_free(void *ptr)
{
    if (ptr == NULL)
        return;
    block_header_t *h = (block_header_t *)ptr - 1;
    count(-1, -(int64_t)h->size);
    free(h);
}

/* Sums the retired counts and every live tally (bytes: which = 1). */
static int64_t sum(int which)
{
    pthread_mutex_lock(&tallies_lock);
    int64_t total = which ? retired_bytes : retired_blocks;
    for (tally_t *t = tallies; t != NULL; t = t->next)
        total += atomic_load_explicit(which ? &t->bytes : &t->blocks, memory_order_relaxed);
    pthread_mutex_unlock(&tallies_lock);
    return total;
}

int64_t alloc_live(void)
{
    return sum(0);
}

int64_t alloc_live_bytes(void)
{
    return sum(1);
}

void alloc_fail_after(int64_t n)
{
    fault_arm(&allocation_faults, n);
}

void alloc_fail_reset(void)
{
    fault_disarm(&allocation_faults);
}

bool alloc_injected_failure(void)
{
    return fault_strikes(&allocation_faults);
}
