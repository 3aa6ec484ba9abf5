/*
 * chan.h - channels and select, with Go's semantics.
 *
 * A channel carries values of one fixed size (elem_size bytes, copied in and
 * out). With cap 0 it is unbuffered: a send completes only when a receiver
 * has taken the value (a rendezvous). With cap > 0 it is a FIFO buffer of
 * cap values: a send blocks only when the buffer is full, a receive only when
 * it is empty. elem_size 0 makes a signal channel: only the event matters,
 * and elem pointers may be NULL.
 *
 * Closing a channel says "no more values will be sent". Receivers still get
 * every value sent before the close, then EPIPE with a zeroed value (Go's
 * `v, ok := <-c` with ok == false). Senders, blocked or not, get EPIPE. A
 * closed signal channel is a broadcast: every receiver, now and later,
 * proceeds at once. That is how ctx_done() works.
 *
 * Channels are reference-counted: chan_make returns one reference, each
 * chan_retain adds one, each chan_release drops one, and the last release
 * frees the channel. A goroutine that uses a channel should hold a reference
 * for as long as it does.
 *
 * Errors follow pthreads: 0 or a positive errno value. EPIPE: closed.
 * EAGAIN: a try-operation would block. EINVAL: a NULL channel or bad
 * argument; nothing is changed. Blocked senders and receivers are served
 * in arrival order, and a value handed to a blocked receiver is copied
 * straight into its destination.
 */
#ifndef COMMON_CHAN_H
#define COMMON_CHAN_H

#include <stddef.h>

typedef struct chan chan_t;

/* Makes a channel of cap values of elem_size bytes (cap 0: unbuffered).
 * Returns it with one reference, or NULL with errno ENOMEM, or EINVAL when
 * the buffer's size overflows or cap exceeds 2^29 for values of a size
 * above zero (signal channels, elem_size 0, take any cap). */
chan_t *chan_make(size_t elem_size, size_t cap);

/* Adds a reference to c and returns c (NULL is returned as NULL). */
chan_t *chan_retain(chan_t *c);

/* Drops a reference; the last one frees c (and cancels the timer of a
 * time_after or ticker channel). NULL is ignored. Releasing a channel that
 * other threads are blocked on while they hold no reference is a bug. */
void chan_release(chan_t *c);

/* Sends *elem (elem_size bytes are copied). Blocks until a receiver takes it
 * (unbuffered) or there is room in the buffer. Returns 0, EPIPE if c is
 * closed or is closed while waiting (the value was not delivered), EINVAL if
 * c is NULL or elem is NULL with elem_size > 0. */
int chan_send(chan_t *c, const void *elem);

/* Receives into *out (out may be NULL to discard). Blocks until a value is
 * available. Returns 0, EPIPE once c is closed and drained (out is zeroed),
 * EINVAL if c is NULL. */
int chan_recv(chan_t *c, void *out);

/* Non-blocking forms: 0 if the operation happened, EAGAIN if it would have
 * blocked, EPIPE as above, EINVAL for a NULL channel. */
int chan_try_send(chan_t *c, const void *elem);
int chan_try_recv(chan_t *c, void *out);

/* Closes c: wakes every blocked receiver (they drain what is buffered, then
 * get EPIPE) and every blocked sender (EPIPE). Returns 0, EPIPE if c was
 * already closed (nothing changes), EINVAL if c is NULL. The channel is not
 * freed: that is chan_release's job. */
int chan_close(chan_t *c);

/* Values buffered now / capacity. 0 for NULL. */
size_t chan_len(chan_t *c);
size_t chan_cap(chan_t *c);

/* select */

typedef enum { CHAN_RECV = 1, CHAN_SEND = 2 } chan_op_t;

typedef struct {
    chan_t   *chan; /* NULL: never ready, like Go's nil channel */
    chan_op_t op;
    void     *elem; /* send: the value; recv: where to store it (may be NULL) */
    int       err;  /* out, for the chosen case: 0, or EPIPE if its channel was closed */
} chan_case_t;

static inline chan_case_t chan_case_recv(chan_t *c, void *out)
{
    chan_case_t cc = {c, CHAN_RECV, out, 0};
    return cc;
}

static inline chan_case_t chan_case_send(chan_t *c, const void *elem)
{
    chan_case_t cc = {c, CHAN_SEND, (void *)elem, 0};
    return cc;
}

/* Blocks until one of the n cases can proceed, performs exactly that one and
 * returns its index; its err says whether its channel was closed (a receive
 * then stores a zero value, a send delivers nothing). When several cases can
 * proceed one is chosen uniformly at random. Cases with a NULL channel never
 * proceed; with n == 0 or only NULL channels this blocks forever, as Go's
 * `select {}` does. Returns -1 with errno EINVAL if cases is NULL while
 * n > 0 or a case has an invalid op, and -1 with errno ENOMEM if the
 * bookkeeping for a large n (over 64 cases) cannot be allocated. */
int chan_select(chan_case_t *cases, size_t n);

/* Like chan_select, but never blocks: if no case can proceed at once it
 * returns -1 with errno EAGAIN (Go's `default:`). */
int chan_try_select(chan_case_t *cases, size_t n);

#endif
