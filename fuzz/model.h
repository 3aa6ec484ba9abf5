/*
 * model.h - a small, obviously-correct model of Go's channel and context
 * semantics, single-threaded, for the fuzz harness to check the core
 * against.
 *
 * The model never blocks: where Go would block, it says EAGAIN, and the
 * harness then only issues the non-blocking form of the operation. Values
 * are 64-bit ids; the harness turns an id into the bytes of an element.
 *
 * Channels: a FIFO of at most cap ids, a closed flag, a reference count.
 * With nobody else running, an unbuffered channel never has a partner: a
 * send or receive on it proceeds only once it is closed.
 *
 * Contexts: an append-only tree of nodes (a node outlives the harness's
 * last reference to it, since its children may still hold it: that is how
 * cancellation still reaches them). A cancelable node has its own reason;
 * a value node reports its nearest cancelable ancestor's; the background
 * (parent -1) is never done. Deadlines are a range [lo, hi] because
 * ctx_with_timeout reads the clock itself.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_CAP 8
#define MODEL_MAX_NODES 64

typedef struct {
    bool     live; /* the harness holds at least one reference */
    int      refs;
    size_t   elem, cap;
    bool     closed;
    uint64_t queue[MODEL_MAX_CAP];
    size_t   head, len;
} model_chan_t;

/* What a send would do now: 0 (it is buffered), EPIPE (closed) or EAGAIN
 * (it would block). model_send also does it when the answer is 0. */
int model_send_outcome(const model_chan_t *m);
int model_send(model_chan_t *m, uint64_t id);

/* What a receive would do now: 0 (*id is the oldest value), EPIPE (closed
 * and drained, *id = 0) or EAGAIN. model_recv also does it. */
int model_recv_outcome(const model_chan_t *m);
int model_recv(model_chan_t *m, uint64_t *id);

/* 0, or EPIPE if already closed. */
int model_close(model_chan_t *m);

typedef enum { NODE_CANCEL, NODE_VALUE } model_node_kind_t;

typedef struct {
    model_node_kind_t kind;
    int               parent; /* node index, or -1 for the background */
    int               err;    /* NODE_CANCEL only: 0, ECANCELED or ETIMEDOUT */
    bool              has_deadline;
    int64_t           deadline_lo, deadline_hi; /* the effective (earliest) one */
    const void       *key;                      /* NODE_VALUE */
    void             *value;
} model_node_t;

typedef struct {
    model_node_t nodes[MODEL_MAX_NODES];
    int          n;
} model_tree_t;

/* Adds a node under parent (-1: background) and returns its index, or -1
 * if the tree is full. A cancelable node with a deadline passes
 * has_deadline, the range it was given, and `expired` if that deadline was
 * already past when it was made. Applies Go's rules: the child of a done
 * parent is done with the parent's reason; the earlier deadline wins; an
 * expired deadline makes the node done with ETIMEDOUT. */
int model_ctx_cancelable(model_tree_t *t, int parent, bool has_deadline, int64_t lo, int64_t hi,
                         bool expired);
int model_ctx_value(model_tree_t *t, int parent, const void *key, void *value);

/* ctx_cancel: no effect on a value node or one already done. */
void model_ctx_cancel(model_tree_t *t, int node);

/* The nearest cancelable node at or above node, or -1 (never done). */
int model_ctx_owner(const model_tree_t *t, int node);

/* ctx_err. */
int model_ctx_err(const model_tree_t *t, int node);

/* ctx_value: the nearest value node at or above node with key, or NULL. */
void *model_ctx_lookup(const model_tree_t *t, int node, const void *key);

#endif
