/*
 * stack.c - mapping, guarding and caching goroutine stacks.
 *
 * Two levels, both under stack_lock:
 *   - The cache: up to CACHE_MAX stacks, ready to be reused at no cost,
 *     last in first out (the most recently used pages are the warmest).
 *   - Slabs: one mmap holding up to SLAB_STACKS stacks, each with its guard
 *     page below it (guarded when the slab is made). A slab hands out its
 *     fresh stacks in order, then the ones that came back (`returned`). It
 *     is on the `partial` list while it has one to give, on `full` while
 *     not, and is unmapped as soon as none is out: `out` counts its stacks
 *     in use or cached.
 * A stack handed out at least once is registered with valgrind until its
 * slab is unmapped. A stack in use belongs to its goroutine alone; the list
 * node of a cached or returned stack lives in the stack's own top bytes.
 */
#ifndef _DEFAULT_SOURCE /* a -D on the command line wins */
#define _DEFAULT_SOURCE /* glibc and musl: MAP_ANONYMOUS */
#endif

#include "common/stack.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/lock.h"
#include "common/os.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define STACK_VALGRIND 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACK_ASAN 1
#endif
#endif
#ifdef STACK_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
void __lsan_register_root_region(const void *p, size_t size);
void __lsan_unregister_root_region(const void *p, size_t size);
#endif

/* LeakSanitizer scans thread stacks for pointers, but not memory it does
 * not know: a stack in use is a root region, so what a parked goroutine
 * points to is not reported as leaked (as with one thread per goroutine). */
static void leak_roots_add(gstack_t *s)
{
#ifdef STACK_ASAN
    __lsan_register_root_region(s->lo, s->size);
#else
    (void)s;
#endif
}

static void leak_roots_remove(gstack_t *s)
{
#ifdef STACK_ASAN
    __lsan_unregister_root_region(s->lo, s->size);
#else
    (void)s;
#endif
}

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* CACHE_MAX: a burst of `go` statements runs ahead of the workers that
 * finish the goroutines, so the cache must hold a burst's worth:
 * bench/README.md measured spawn at 9.2 us per goroutine with 256, 2.7 us
 * with 4096. What it keeps is the pages the goroutines touched, typically
 * one or two: 16 to 32 MiB at most, the price of not going to the kernel.
 * SLAB_STACKS and SLAB_BYTES: one mmap and one munmap per 64 stacks (a
 * munmap flushes every core's TLB: bench/README.md measured a third of
 * goroutines_100k's time in it with one mapping per stack), fewer when
 * stacks are big, so a slab stays near 4 MiB of address space. */
enum { DEFAULT_KB = 64, MIN_KB = 16, MAX_KB = 1048576, CACHE_MAX = 4096 };
enum { SLAB_STACKS = 64, SLAB_BYTES = 4 << 20 };

typedef struct gstack_slab {
    struct gstack_slab *prev, *next; /* in `partial` or `full` */
    char               *base;        /* the mapping: count x (guard + stack) */
    size_t              bytes;
    unsigned            count, fresh; /* stacks [fresh, count) never handed out */
    unsigned            out;          /* handed out and not back in the slab */
    gstack_t           *returned;     /* back in the slab, ready again */
} slab_t;

static lock_t            stack_lock; /* zeroed: unlocked */
static gstack_t         *cache;
static size_t            cached;
static slab_t           *partial; /* slabs with a stack to give */
static slab_t           *full;    /* the others: kept listed, so leak checkers see them */
static fault_countdown_t stack_faults = FAULT_COUNTDOWN_OFF;

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

size_t gstack_size(void)
{
    static atomic_size_t size; /* 0: not read yet */
    size_t               s = atomic_load_explicit(&size, memory_order_relaxed);
    if (s != 0)
        return s;
    long        kb = DEFAULT_KB;
    const char *env = getenv("GOC_STACK_KB");
    if (env != NULL && *env != '\0') {
        char *end;
        long  v = strtol(env, &end, 10);
        if (*end == '\0' && v >= MIN_KB && v <= MAX_KB)
            kb = v;
    }
    size_t page = page_size();
    s = ((size_t)kb * 1024 + page - 1) / page * page;
    atomic_store_explicit(&size, s, memory_order_relaxed);
    return s;
}

void gstack_fail_after(long n)
{
    fault_arm(&stack_faults, n);
}

void gstack_fail_reset(void)
{
    fault_disarm(&stack_faults);
}

/* ------------------------------------------------------------- slabs */

static void list_insert(slab_t **list, slab_t *slab)
{
    slab->prev = NULL;
    slab->next = *list;
    if (*list != NULL)
        (*list)->prev = slab;
    *list = slab;
}

static void list_remove(slab_t **list, slab_t *slab)
{
    if (slab->prev != NULL)
        slab->prev->next = slab->next;
    else
        *list = slab->next;
    if (slab->next != NULL)
        slab->next->prev = slab->prev;
    slab->prev = slab->next = NULL;
}

static bool slab_has_stack(const slab_t *slab)
{
    return slab->returned != NULL || slab->fresh < slab->count;
}

/* Maps a new slab and guards every stack in it; NULL if the system would
 * not (nothing is then held). Called without stack_lock: it is slow. */
static slab_t *slab_map(void)
{
    size_t   page = page_size(), stride = gstack_size() + page;
    unsigned count = SLAB_BYTES / stride;
    count = count < 1 ? 1 : count > SLAB_STACKS ? SLAB_STACKS : count;
    slab_t *slab = calloc(1, sizeof *slab);
    if (slab == NULL)
        return NULL;
    slab->count = count;
    slab->bytes = count * stride;
    void *base = mmap(NULL, slab->bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(slab);
        return NULL;
    }
    slab->base = base;
    for (unsigned i = 0; i < count; i++) {
        if (!os_guard_pages(slab->base + i * stride, page)) {
            munmap(base, slab->bytes);
            free(slab);
            return NULL;
        }
    }
    return slab;
}

/* Gives back a slab none of whose stacks is out. Called without
 * stack_lock: the slab is no longer on any list. */
static void slab_unmap(slab_t *slab)
{
    assert(slab->out == 0);
#ifdef STACK_VALGRIND
    /* The walk touches every stack's top page: only valgrind needs it. */
    if (RUNNING_ON_VALGRIND)
        for (gstack_t *s = slab->returned; s != NULL; s = s->next)
            VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
    munmap(slab->base, slab->bytes);
    free(slab);
}

/* Takes a stack out of slab (which has one) into *s. stack_lock held. */
static void slab_take(slab_t *slab, gstack_t *s)
{
    assert(slab_has_stack(slab));
    if (slab->returned != NULL) {
        gstack_t *node = slab->returned;
        slab->returned = node->next;
        *s = *node;
    } else {
        size_t page = page_size(), size = gstack_size();
        s->guard = slab->base + slab->fresh++ * (size + page);
        s->lo = (char *)s->guard + page;
        s->size = size;
        s->slab = slab;
#ifdef STACK_VALGRIND
        s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + size);
#endif
    }
    s->next = NULL;
    slab->out++;
    if (!slab_has_stack(slab)) {
        list_remove(&partial, slab);
        list_insert(&full, slab);
    }
}

/* Puts node (a stack's own list node) back in its slab; returns the slab
 * if that was its last stack out (the caller unmaps it), else NULL.
 * stack_lock held. */
static slab_t *slab_give_back(gstack_t *node)
{
    slab_t *slab = node->slab;
    assert(slab->out > 0);
    if (!slab_has_stack(slab)) {
        list_remove(&full, slab);
        list_insert(&partial, slab);
    }
    node->next = slab->returned;
    slab->returned = node;
    if (--slab->out > 0)
        return NULL;
    list_remove(&partial, slab);
    return slab;
}

/* ------------------------------------------------------------ stacks */

int gstack_alloc(gstack_t *s)
{
    if (fault_strikes(&stack_faults))
        return ENOMEM;
    lock_acquire(&stack_lock);
    if (cache != NULL) {
        gstack_t *node = cache;
        cache = node->next;
        cached--;
        lock_release(&stack_lock);
        *s = *node;
        s->next = NULL;
        gstack_wake(s);
        return 0;
    }
    if (partial == NULL) {
        lock_release(&stack_lock);
        slab_t *slab = slab_map();
        if (slab == NULL)
            return ENOMEM;
        lock_acquire(&stack_lock);
        list_insert(&partial, slab);
    }
    slab_take(partial, s);
    lock_release(&stack_lock);
    gstack_wake(s);
    return 0;
}

void gstack_idle(gstack_t *s)
{
    leak_roots_remove(s);
#ifdef STACK_ASAN
    /* A goroutine that ended left its deepest frames' red zones poisoned:
     * the next goroutine on this stack starts with a clean one. */
    __asan_unpoison_memory_region(s->lo, s->size);
#endif
}

void gstack_wake(gstack_t *s)
{
    leak_roots_add(s);
}

void gstack_free(gstack_t *s)
{
    gstack_idle(s);
    gstack_t *node = (gstack_t *)((char *)s->lo + s->size - sizeof *node);
    *node = *s;
    slab_t *empty = NULL;
    lock_acquire(&stack_lock);
    if (cached < CACHE_MAX) {
        node->next = cache;
        cache = node;
        cached++;
    } else {
        empty = slab_give_back(node);
    }
    lock_release(&stack_lock);
    if (empty != NULL)
        slab_unmap(empty);
}

void gstack_trim(void)
{
    lock_acquire(&stack_lock);
    gstack_t *list = cache;
    cache = NULL;
    cached = 0;
    slab_t *empty = NULL; /* unmapped after the lock, linked through next */
    while (list != NULL) {
        gstack_t *node = list;
        list = node->next;
        slab_t *slab = slab_give_back(node);
        if (slab != NULL) {
            slab->next = empty;
            empty = slab;
        }
    }
    lock_release(&stack_lock);
    while (empty != NULL) {
        slab_t *slab = empty;
        empty = slab->next;
        slab_unmap(slab);
    }
}

bool gstack_in_guard(const gstack_t *s, const void *addr)
{
    uintptr_t a = (uintptr_t)addr, guard = (uintptr_t)s->guard;
    return s->guard != NULL && a >= guard && a < (uintptr_t)s->lo;
}
