/*
 * context.h - cancellation trees (Go's `context`).
 *
 * A context carries a done signal, the reason it became done, an optional
 * deadline and request-scoped values down a tree of goroutines. Derived
 * contexts form a tree: cancelling a context cancels, synchronously, every
 * context derived from it; cancelling a child never touches its parent.
 *
 * Ownership, the C spelling of Go's `ctx, cancel := ...; defer cancel()`:
 *
 *     ctx_t *ctx = ctx_with_cancel(parent);
 *     ...
 *     ctx_cancel(ctx);
 *     ctx_release(ctx);
 *
 * Every ctx_with_* returns one reference. A child holds a reference on its
 * parent, so a parent may be released before its children; a parent never
 * holds its children, so a released child is gone from the tree.
 *
 * ctx_err() and the done channel agree: once ctx_err() returns non-zero,
 * ctx_done() is already closed, and the first reason wins forever.
 */
#ifndef COMMON_CONTEXT_H
#define COMMON_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/timer.h"

typedef struct ctx ctx_t;

/* The root: never done, no deadline, no values. retain/release do nothing. */
ctx_t *ctx_background(void);

/* A child of parent (NULL means background) that is done when ctx_cancel is
 * called on it or on an ancestor. If parent is already done, so is the
 * child, with the parent's reason. NULL with errno ENOMEM. */
ctx_t *ctx_with_cancel(ctx_t *parent);

/* A cancelable child that also becomes done with ETIMEDOUT at deadline (on
 * the time_now() clock). The earlier of parent's deadline and this one wins;
 * a deadline already past makes it done before this returns. */
ctx_t *ctx_with_deadline(ctx_t *parent, int64_t deadline);

/* ctx_with_deadline(parent, time_now() + timeout). */
ctx_t *ctx_with_timeout(ctx_t *parent, duration_t timeout);

/* A child that carries key -> value (key compared by address) and is
 * otherwise its parent: same done channel, same reason, same deadline. */
ctx_t *ctx_with_value(ctx_t *parent, const void *key, void *value);

/* Makes ctx and all its descendants done with ECANCELED, unless already
 * done. Idempotent. No effect on background or on a value context (cancel
 * its cancelable ancestor instead). NULL is ignored. */
void ctx_cancel(ctx_t *ctx);

/* A channel (elem_size 0) that is closed when ctx is done, for chan_select.
 * NULL for a context that can never be done (background and its value
 * children): a NULL case never fires, which is exactly right. Borrowed:
 * valid while ctx is, or for as long as a chan_retain on it is held. */
chan_t *ctx_done(ctx_t *ctx);

/* 0 while not done, then ECANCELED or ETIMEDOUT forever. A context made done
 * by an ancestor reports the ancestor's reason. 0 for NULL. */
int ctx_err(ctx_t *ctx);

/* True and *deadline set if ctx (or an ancestor) has a deadline: the
 * earliest on its path to the root. deadline may be NULL. */
bool ctx_deadline(ctx_t *ctx, int64_t *deadline);

/* The value of the nearest ancestor (or ctx itself) made with this key, or
 * NULL. */
void *ctx_value(ctx_t *ctx, const void *key);

/* Adds a reference and returns ctx. */
ctx_t *ctx_retain(ctx_t *ctx);

/* Drops a reference; the last one detaches ctx from its parent, stops its
 * deadline timer, frees it and releases the parent. It does not cancel
 * descendants still held elsewhere (they hold ctx). NULL is ignored. */
void ctx_release(ctx_t *ctx);

#endif
