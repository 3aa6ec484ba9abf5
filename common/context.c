/*
 * context.c - cancellation trees, after Go's context package.
 *
 * Three kinds of node: the static background root; cancelable contexts
 * (ctx_with_cancel/deadline/timeout), each with its own lock, reason and done
 * channel; and value contexts, which only add a key and borrow everything
 * else from their nearest cancelable ancestor (`owner`).
 *
 * Invariants:
 *   - Every node but the background holds one reference on its parent, so
 *     the whole path to the root outlives it.
 *   - A cancelable node is linked into the child list of its nearest
 *     cancelable ancestor (`attach`) while both are live and neither is
 *     done. The list and each child's `linked` flag are guarded by the
 *     ancestor's lock; `linked` goes true -> false once and never back.
 *   - err and done agree both ways, as in Go: once done is seen closed,
 *     err != 0, and once err != 0 is returned, done is closed. Under the
 *     node's lock cancel stores `reason | CLOSING`, closes done, then stores
 *     `reason`. A reader that sees CLOSING (the close may still be under
 *     way) waits for the lock before answering; everyone else pays one
 *     atomic load.
 *   - Locks are taken parent before child, never the other way: cancel
 *     holds a node's lock while it cancels its children; detaching from a
 *     parent happens with no lock held.
 *   - No timer is stopped under a context lock: stopping waits for a fire
 *     in progress, and a fire takes context locks.
 */
#include "common/context.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include "common/alloc.h"
#include "common/chan_internal.h"
#include "common/lock.h"
#include "common/timer_internal.h"
#include "common/trace_flow.h"

typedef enum { CTX_BACKGROUND, CTX_CANCEL, CTX_VALUE } ctx_kind_t;

#define CLOSING 0x40000000 /* in err: the reason is set, done is being closed */

struct ctx {
    ctx_kind_t  kind;
    atomic_long refs;
    ctx_t      *parent; /* referenced; NULL only for the background */
    ctx_t      *owner;  /* nearest cancelable node: itself, an ancestor, or NULL */
    bool        has_deadline;
    int64_t     deadline; /* the earliest on the path to the root */

    /* CTX_VALUE */
    const void *key;
    void       *value;

    /* CTX_CANCEL */
    lock_t                   lock; /* the core's futex lock: zeroed is unlocked */
    atomic_int               err;
    chan_t                  *done;
    ctx_t                   *attach;      /* nearest cancelable ancestor, or NULL */
    ctx_t                   *children;    /* cancelable descendants attached here */
    ctx_t                   *prev, *next; /* siblings in attach->children */
    atomic_bool              linked;
    _Atomic(timer_entry_t *) timer;
};

static ctx_t background = {.kind = CTX_BACKGROUND};

ctx_t *ctx_background(void)
{
    return &background;
}

/* ------------------------------------------------------------ the tree */

/* Removes c from its ancestor's list if it is still there. */
static void detach(ctx_t *c)
{
    ctx_t *anc = c->attach;
    /* A false flag is final, and was stored (release) by whoever unlinked
     * c after it last touched c, so there is nothing to wait for. */
    if (anc == NULL || !atomic_load_explicit(&c->linked, memory_order_acquire))
        return;
    lock_acquire(&anc->lock);
    if (atomic_load_explicit(&c->linked, memory_order_relaxed)) {
        if (c->prev)
            c->prev->next = c->next;
        else
            anc->children = c->next;
        if (c->next)
            c->next->prev = c->prev;
        atomic_store_explicit(&c->linked, false, memory_order_release);
    }
    lock_release(&anc->lock);
}

/* Makes c and its attached descendants done with reason, unless c is done
 * already (the first reason wins). Returns true if it made c done. */
static bool cancel(ctx_t *c, int reason)
{
    lock_acquire(&c->lock);
    if (atomic_load_explicit(&c->err, memory_order_relaxed) != 0) {
        lock_release(&c->lock);
        return false;
    }
    atomic_store_explicit(&c->err, reason | CLOSING, memory_order_release);
    chan_close(c->done);
    atomic_store_explicit(&c->err, reason, memory_order_release);
    ctx_t *child = c->children;
    c->children = NULL;
    while (child) {
        ctx_t *next = child->next;
        /* The child cannot go away while it is linked: its last release
         * must first unlink it under our lock, which we hold. */
        cancel(child, reason);
        child->prev = child->next = NULL;
        atomic_store_explicit(&child->linked, false, memory_order_release);
        child = next;
    }
    lock_release(&c->lock);
    return true;
}

/* Where a cancellation starts (ctx_cancel, a deadline): the tracer marks
 * it here once, not once per descendant it reaches. */
static void cancel_and_detach(ctx_t *c, int reason)
{
    if (cancel(c, reason))
        trace_flow_cancel(c->done->id, reason);
    detach(c);
}

static ctx_t *parent_or_background(ctx_t *parent)
{
    return parent ? parent : &background;
}

/* A new cancelable child of parent with the given effective deadline,
 * attached to (or, if that is done, canceled like) its cancelable
 * ancestor. */
static ctx_t *new_cancelable(ctx_t *parent, bool has_deadline, int64_t deadline)
{
    /* One block: the context, then its done channel. */
    size_t done_at =
        (sizeof(ctx_t) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    ctx_t *c = goc_calloc(1, done_at + chan_embedded_size(0, 1));
    if (c == NULL)
        return NULL;
    c->done = chan_make_embedded((char *)c + done_at, 0, 1, goc_free, c);
    c->kind = CTX_CANCEL;
    atomic_init(&c->refs, 1);
    c->parent = ctx_retain(parent);
    c->owner = c;
    c->has_deadline = has_deadline;
    c->deadline = deadline;
    c->key = c->value = NULL;
    atomic_init(&c->err, 0);
    c->attach = parent->owner;
    c->children = c->prev = c->next = NULL;
    atomic_init(&c->linked, false);
    atomic_init(&c->timer, NULL);

    ctx_t *anc = c->attach;
    if (anc == NULL)
        return c;
    lock_acquire(&anc->lock);
    int reason = atomic_load_explicit(&anc->err, memory_order_relaxed);
    if (reason == 0) {
        c->next = anc->children;
        if (c->next)
            c->next->prev = c;
        anc->children = c;
        atomic_store_explicit(&c->linked, true, memory_order_relaxed);
    }
    lock_release(&anc->lock);
    if (reason != 0)
        cancel(c, reason); /* not linked, not yet visible: no detach needed */
    return c;
}

/* ------------------------------------------------------- constructors */

ctx_t *ctx_with_cancel(ctx_t *parent)
{
    parent = parent_or_background(parent);
    return new_cancelable(parent, parent->has_deadline, parent->deadline);
}

static void deadline_passed(void *c)
{
    cancel_and_detach(c, ETIMEDOUT);
}

ctx_t *ctx_with_deadline(ctx_t *parent, int64_t deadline)
{
    parent = parent_or_background(parent);
    bool    parents_is_earlier = parent->has_deadline && parent->deadline <= deadline;
    int64_t effective = parents_is_earlier ? parent->deadline : deadline;

    ctx_t *c = new_cancelable(parent, true, effective);
    if (c == NULL || atomic_load_explicit(&c->err, memory_order_relaxed) != 0)
        return c;
    /* Past already (even if the parent's timer has not fired yet): done
     * before this returns, as promised. */
    if (effective <= time_now()) {
        cancel_and_detach(c, ETIMEDOUT);
        return c;
    }
    if (parents_is_earlier)
        return c; /* the parent's timer will cancel it, through the tree */
    timer_entry_t *timer = timer_entry_start(deadline, 0, deadline_passed, c);
    if (timer == NULL) {
        int err = errno;
        ctx_release(c);
        errno = err;
        return NULL;
    }
    atomic_store_explicit(&c->timer, timer, memory_order_release);
    return c;
}

ctx_t *ctx_with_timeout(ctx_t *parent, duration_t timeout)
{
    int64_t now = time_now();
    int64_t deadline = timeout > 0 && now > INT64_MAX - timeout ? INT64_MAX : now + timeout;
    return ctx_with_deadline(parent, deadline);
}

ctx_t *ctx_with_value(ctx_t *parent, const void *key, void *value)
{
    if (key == NULL) { /* Go panics on a nil key: it could never be looked up on purpose */
        errno = EINVAL;
        return NULL;
    }
    parent = parent_or_background(parent);
    ctx_t *v = goc_malloc(sizeof *v);
    if (v == NULL)
        return NULL;
    v->kind = CTX_VALUE;
    atomic_init(&v->refs, 1);
    v->parent = ctx_retain(parent);
    v->owner = parent->owner;
    v->has_deadline = parent->has_deadline;
    v->deadline = parent->deadline;
    v->key = key;
    v->value = value;
    return v;
}

/* ------------------------------------------------------------- queries */

void ctx_cancel(ctx_t *ctx)
{
    if (ctx == NULL || ctx->kind != CTX_CANCEL)
        return;
    cancel_and_detach(ctx, ECANCELED);
    /* Like Go, a canceled context gives its timer back at once. */
    if (atomic_load_explicit(&ctx->timer, memory_order_relaxed) != NULL)
        timer_entry_stop(atomic_exchange(&ctx->timer, NULL));
}

chan_t *ctx_done(ctx_t *ctx)
{
    return ctx && ctx->owner ? ctx->owner->done : NULL;
}

int ctx_err(ctx_t *ctx)
{
    if (ctx == NULL || ctx->owner == NULL)
        return 0;
    ctx_t *c = ctx->owner;
    int    err = atomic_load_explicit(&c->err, memory_order_acquire);
    if (err & CLOSING) {
        /* cancel holds the lock until done is closed. */
        lock_acquire(&c->lock);
        lock_release(&c->lock);
        err &= ~CLOSING;
    }
    return err;
}

bool ctx_deadline(ctx_t *ctx, int64_t *deadline)
{
    if (ctx == NULL || !ctx->has_deadline)
        return false;
    if (deadline)
        *deadline = ctx->deadline;
    return true;
}

void *ctx_value(ctx_t *ctx, const void *key)
{
    for (; ctx; ctx = ctx->parent)
        if (ctx->kind == CTX_VALUE && ctx->key == key)
            return ctx->value;
    return NULL;
}

/* ----------------------------------------------------------- lifetime */

ctx_t *ctx_retain(ctx_t *ctx)
{
    if (ctx && ctx->kind != CTX_BACKGROUND)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

void ctx_release(ctx_t *ctx)
{
    /* A loop, not recursion: releasing a long chain frees it bottom up. */
    while (ctx && ctx->kind != CTX_BACKGROUND &&
           atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1) {
        ctx_t *parent = ctx->parent;
        if (ctx->kind == CTX_CANCEL) {
            /* No child is attached any more: each one holds a reference. */
            if (atomic_load_explicit(&ctx->timer, memory_order_relaxed) != NULL)
                timer_entry_stop(atomic_exchange(&ctx->timer, NULL));
            detach(ctx);
            chan_release(ctx->done); /* frees ctx with it, unless done is still held */
        } else {
            goc_free(ctx);
        }
        ctx = parent;
    }
}
