/*
 * alloc.c - counted allocation with fault injection.
 *
 * Each block carries a small header recording its size, so that the live
 * byte count can be kept exactly. Counters are atomics: allocation is on no
 * hot path of the channel operations, only on creation of objects.
 */
#include "common/alloc.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/fault.h"

typedef struct {
    alignas(max_align_t) size_t size;
} block_header_t;

static atomic_int_fast64_t live_blocks;
static atomic_int_fast64_t live_bytes;
static fault_countdown_t   allocation_faults = FAULT_COUNTDOWN_OFF;

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
    atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&live_bytes, (int_fast64_t)size);
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
    atomic_fetch_sub(&live_blocks, 1);
    atomic_fetch_sub(&live_bytes, (int_fast64_t)h->size);
    free(h);
}

int64_t alloc_live(void)
{
    return atomic_load(&live_blocks);
}

int64_t alloc_live_bytes(void)
{
    return atomic_load(&live_bytes);
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
