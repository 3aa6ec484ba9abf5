/*
 * model.c - see model.h. Written for clarity, not speed: every rule is the
 * sentence from Go's specification or its context package, in code.
 */
#include "fuzz/model.h"

#include <errno.h>

/* ------------------------------------------------------------ channels */

int model_send_outcome(const model_chan_t *m)
{
    if (m->closed)
        return EPIPE; /* Go panics; the core reports EPIPE */
    return m->len < m->cap ? 0 : EAGAIN;
}

int model_send(model_chan_t *m, uint64_t id)
{
    int rc = model_send_outcome(m);
    if (rc == 0) {
        m->queue[(m->head + m->len) % m->cap] = id;
        m->len++;
    }
    return rc;
}

int model_recv_outcome(const model_chan_t *m)
{
    if (m->len > 0)
        return 0; /* values sent before the close are still received */
    return m->closed ? EPIPE : EAGAIN;
}

int model_recv(model_chan_t *m, uint64_t *id)
{
    int rc = model_recv_outcome(m);
    *id = 0;
    if (rc == 0) {
        *id = m->queue[m->head];
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    return rc;
}

int model_close(model_chan_t *m)
{
    if (m->closed)
        return EPIPE;
    m->closed = true;
    return 0;
}

/* ------------------------------------------------------------ contexts */

int model_ctx_owner(const model_tree_t *t, int node)
{
    while (node >= 0 && t->nodes[node].kind != NODE_CANCEL)
        node = t->nodes[node].parent;
    return node;
}

int model_ctx_err(const model_tree_t *t, int node)
{
    int owner = model_ctx_owner(t, node);
    return owner < 0 ? 0 : t->nodes[owner].err;
}

void *model_ctx_lookup(const model_tree_t *t, int node, const void *key)
{
    for (; node >= 0; node = t->nodes[node].parent)
        if (t->nodes[node].kind == NODE_VALUE && t->nodes[node].key == key)
            return t->nodes[node].value;
    return NULL;
}

/* Makes node done with reason unless it is already, and with it every
 * cancelable node below it that is not (value nodes just pass it on). */
static void cancel_below(model_tree_t *t, int node, int reason)
{
    if (t->nodes[node].kind == NODE_CANCEL) {
        if (t->nodes[node].err != 0)
            return; /* the first reason wins; its subtree is done already */
        t->nodes[node].err = reason;
    }
    for (int i = node + 1; i < t->n; i++) /* children come after parents */
        if (t->nodes[i].parent == node)
            cancel_below(t, i, reason);
}

void model_ctx_cancel(model_tree_t *t, int node)
{
    if (node >= 0 && t->nodes[node].kind == NODE_CANCEL)
        cancel_below(t, node, ECANCELED);
}

static int add_node(model_tree_t *t, int parent)
{
    if (t->n == MODEL_MAX_NODES)
        return -1;
    int           i = t->n++;
    model_node_t *n = &t->nodes[i];
    *n = (model_node_t){.parent = parent};
    if (parent >= 0) {
        n->has_deadline = t->nodes[parent].has_deadline;
        n->deadline_lo = t->nodes[parent].deadline_lo;
        n->deadline_hi = t->nodes[parent].deadline_hi;
    }
    return i;
}

int model_ctx_cancelable(model_tree_t *t, int parent, bool has_deadline, int64_t lo, int64_t hi,
                         bool expired)
{
    int i = add_node(t, parent);
    if (i < 0)
        return -1;
    model_node_t *n = &t->nodes[i];
    n->kind = NODE_CANCEL;
    /* The earlier deadline wins. The harness never makes a deadline whose
     * range overlaps its parent's, so "earlier" is never in doubt. */
    if (has_deadline && (!n->has_deadline || hi < n->deadline_lo)) {
        n->has_deadline = true;
        n->deadline_lo = lo;
        n->deadline_hi = hi;
    } else {
        expired = false; /* the parent's earlier deadline is the one that counts */
    }
    int parent_err = parent < 0 ? 0 : model_ctx_err(t, parent);
    n->err = parent_err != 0 ? parent_err : expired ? ETIMEDOUT : 0;
    return i;
}

int model_ctx_value(model_tree_t *t, int parent, const void *key, void *value)
{
    int i = add_node(t, parent);
    if (i < 0)
        return -1;
    t->nodes[i].kind = NODE_VALUE;
    t->nodes[i].key = key;
    t->nodes[i].value = value;
    return i;
}
