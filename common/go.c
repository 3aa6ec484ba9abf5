/*
 * go.c - goroutines as detached POSIX threads, with a registry.
 *
 * Every goroutine has a record in a doubly-linked list of the ones still
 * running, guarded by registry_lock. The record lets go_dump() and leak
 * reports name what is still running. Invariant (under registry_lock):
 * running == the number of records in the list; a record is in the list
 * from just before pthread_create until fn has returned.
 */
#include "common/go.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"

typedef struct goroutine {
    struct goroutine *prev, *next;
    uint64_t          id;
    void (*fn)(void *arg);
    void *arg;
    char  name[48];
} goroutine_t;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static goroutine_t    *registry_head;
static atomic_size_t   running;
static uint64_t        next_id = 1; /* under registry_lock */

static void registry_add(goroutine_t *g)
{
    pthread_mutex_lock(&registry_lock);
    g->id = next_id++;
    g->prev = NULL;
    g->next = registry_head;
    if (registry_head)
        registry_head->prev = g;
    registry_head = g;
    atomic_fetch_add(&running, 1);
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(goroutine_t *g)
{
    pthread_mutex_lock(&registry_lock);
    if (g->prev)
        g->prev->next = g->next;
    else
        registry_head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    atomic_fetch_sub(&running, 1);
    pthread_mutex_unlock(&registry_lock);
}

static void *goroutine_main(void *p)
{
    goroutine_t *g = p;
    char         thread_name[16]; /* the kernel keeps 15 bytes */
    strncpy(thread_name, g->name, sizeof thread_name - 1);
    thread_name[sizeof thread_name - 1] = '\0';
    pthread_setname_np(pthread_self(), thread_name);

    g->fn(g->arg);

    registry_remove(g);
    goc_free(g);
    return NULL;
}

int go_named(const char *name, void (*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return EINVAL;
    goroutine_t *g = goc_malloc(sizeof *g);
    if (g == NULL)
        return ENOMEM;
    g->fn = fn;
    g->arg = arg;
    strncpy(g->name, name ? name : "goroutine", sizeof g->name - 1);
    g->name[sizeof g->name - 1] = '\0';

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    registry_add(g); /* before the thread exists: it may finish at once */
    pthread_t thread;
    int       rc = pthread_create(&thread, &attr, goroutine_main, g);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        registry_remove(g);
        goc_free(g);
        return EAGAIN;
    }
    return 0;
}

int go(void (*fn)(void *arg), void *arg)
{
    return go_named(NULL, fn, arg);
}

size_t go_count(void)
{
    return atomic_load(&running);
}

size_t go_dump(FILE *out)
{
    size_t lines = 0;
    pthread_mutex_lock(&registry_lock);
    for (goroutine_t *g = registry_head; g; g = g->next) {
        fprintf(out, "goroutine %llu [%s]\n", (unsigned long long)g->id, g->name);
        lines++;
    }
    pthread_mutex_unlock(&registry_lock);
    return lines;
}
