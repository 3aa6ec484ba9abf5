/*
 * memory.c - the memory report: what one channel, context or pending timer
 * costs, in bytes requested from goc_malloc (alloc_live_bytes), averaged
 * over `count` live objects so that shared, grown-once structures (the
 * timer heap's array) are spread over the objects that made them grow.
 *
 * What it does not count: malloc's own per-block overhead (typically 8-16
 * bytes) and the alloc.c header; the objects' stacks (there are none: no
 * object here owns a thread).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "bench/bench.h"
#include "common/alloc.h"
#include "common/context.h"
#include "common/timer.h"

typedef enum { OBJ_CHAN_UNBUFFERED, OBJ_CHAN_1024, OBJ_CTX, OBJ_TIMER } object_kind_t;

static const char *const object_names[] = {
    [OBJ_CHAN_UNBUFFERED] = "chan_int_cap0",
    [OBJ_CHAN_1024] = "chan_int_cap1024",
    [OBJ_CTX] = "ctx_with_cancel",
    [OBJ_TIMER] = "time_after_pending",
};

/* Makes `count` objects of one kind, measures, frees them. Contexts are
 * children of one cancelable parent, as in a real request tree, so the
 * parent's bookkeeping for them is counted. */
static int measure(object_kind_t kind, int64_t count)
{
    void **objects = goc_calloc((size_t)count, sizeof *objects);
    ctx_t *parent = kind == OBJ_CTX ? ctx_with_cancel(NULL) : NULL;
    if (objects == NULL || (kind == OBJ_CTX && parent == NULL)) {
        goc_free(objects);
        ctx_release(parent);
        return ENOMEM;
    }

    int64_t before = alloc_live_bytes();
    int64_t made = 0;
    for (; made < count; made++) {
        void *obj = NULL;
        switch (kind) {
        case OBJ_CHAN_UNBUFFERED:
            obj = chan_make(sizeof(int), 0);
            break;
        case OBJ_CHAN_1024:
            obj = chan_make(sizeof(int), 1024);
            break;
        case OBJ_CTX:
            obj = ctx_with_cancel(parent);
            break;
        case OBJ_TIMER:
            obj = time_after(TIME_SECOND * 3600);
            break;
        }
        if (obj == NULL)
            break;
        objects[made] = obj;
    }
    int64_t after = alloc_live_bytes();

    for (int64_t i = 0; i < made; i++) {
        if (kind == OBJ_CTX) {
            ctx_cancel(objects[i]);
            ctx_release(objects[i]);
        } else {
            chan_release(objects[i]);
        }
    }
    ctx_cancel(parent);
    ctx_release(parent);
    goc_free(objects);
    if (made != count)
        return ENOMEM;

    printf("memory=%s bytes=%" PRId64 "\n", object_names[kind],
           (after - before + count / 2) / count);
    fflush(stdout);
    return 0;
}

int bench_memory_report(int64_t count)
{
    for (int kind = OBJ_CHAN_UNBUFFERED; kind <= OBJ_TIMER; kind++) {
        int rc = measure((object_kind_t)kind, count);
        if (rc != 0)
            return bench_fail("memory", rc, "cannot make %" PRId64 " %s objects", count,
                              object_names[kind]);
    }
    return 0;
}
