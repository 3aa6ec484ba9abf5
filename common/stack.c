/*
 * stack.c - mapping, guarding and caching goroutine stacks.
 *
 * Invariants (under cache_lock): `cache` is a list of `cached` stacks, each
 * still mapped, guarded and registered with valgrind, ready to be reused;
 * never more than CACHE_MAX of them. A stack in use belongs to its
 * goroutine alone.
 */
#ifndef _DEFAULT_SOURCE /* a -D on the command line wins */
#define _DEFAULT_SOURCE /* glibc and musl: MAP_ANONYMOUS */
#endif

#include "common/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fault.h"
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

/* CACHE_MAX: a new stack costs three system calls (mmap, the guard, munmap
 * when it is dropped) and a page fault on first touch; a cached one costs
 * none. A burst of `go` statements runs ahead of the workers that finish
 * the goroutines, so the cache must hold a burst's worth: bench/README.md
 * measured spawn at 9.2 us per goroutine with 256, 2.7 us with 4096. What
 * it keeps is the pages the goroutines touched, typically one or two: 16 to
 * 32 MiB at most, the price of not going to the kernel. */
enum { DEFAULT_KB = 64, MIN_KB = 16, MAX_KB = 1048576, CACHE_MAX = 4096 };

static pthread_mutex_t   cache_lock = PTHREAD_MUTEX_INITIALIZER;
static gstack_t         *cache;
static size_t            cached;
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

static int map_new(gstack_t *s)
{
    size_t page = page_size(), size = gstack_size();
    void  *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return ENOMEM;
    if (!os_guard_pages(map, page)) {
        munmap(map, size + page);
        return ENOMEM;
    }
    s->map = map;
    s->map_size = size + page;
    s->lo = (char *)map + page;
    s->size = size;
#ifdef STACK_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + size);
#endif
    return 0;
}

static void unmap(gstack_t *s)
{
#ifdef STACK_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
    munmap(s->map, s->map_size);
}

int gstack_alloc(gstack_t *s)
{
    if (fault_strikes(&stack_faults))
        return ENOMEM;
    pthread_mutex_lock(&cache_lock);
    gstack_t *reuse = cache;
    if (reuse != NULL) {
        cache = reuse->next;
        cached--;
    }
    pthread_mutex_unlock(&cache_lock);
    if (reuse == NULL) {
        int rc = map_new(s);
        if (rc == 0)
            leak_roots_add(s);
        return rc;
    }
    *s = *reuse; /* the cache entry was stored at the stack's top */
    s->next = NULL;
    leak_roots_add(s);
    return 0;
}

void gstack_free(gstack_t *s)
{
    leak_roots_remove(s);
#ifdef STACK_ASAN
    /* A goroutine that ended left its deepest frames' red zones poisoned:
     * the next goroutine on this stack starts with a clean one. */
    __asan_unpoison_memory_region(s->lo, s->size);
#endif
    /* The cache keeps its list node in the stack's own top bytes. */
    gstack_t *node = (gstack_t *)((char *)s->lo + s->size - sizeof *node);
    *node = *s;
    pthread_mutex_lock(&cache_lock);
    if (cached < CACHE_MAX) {
        node->next = cache;
        cache = node;
        cached++;
        node = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    if (node != NULL)
        unmap(s);
}

void gstack_trim(void)
{
    pthread_mutex_lock(&cache_lock);
    gstack_t *list = cache;
    cache = NULL;
    cached = 0;
    pthread_mutex_unlock(&cache_lock);
    while (list != NULL) {
        gstack_t s = *list;
        list = s.next;
        unmap(&s);
    }
}

bool gstack_in_guard(const gstack_t *s, const void *addr)
{
    uintptr_t a = (uintptr_t)addr, guard = (uintptr_t)s->map;
    return s->map != NULL && a >= guard && a < (uintptr_t)s->lo;
}
