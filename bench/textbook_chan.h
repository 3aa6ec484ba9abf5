/*
 * textbook_chan.h - a Go channel the way a first course builds it: one
 * mutex, two condition variables, a circular buffer. The chapter on the
 * core (common/README.md) walks through it line by line, and `make bench`
 * measures it (textbook_spsc, textbook_pingpong) beside the core's
 * channels, which do the same job without sleeping in the kernel on every
 * hand-off.
 *
 * Semantics are those of common/chan.h for chan_make/send/recv/close, minus
 * reference counting and select: cap 0 is a rendezvous (a send returns once
 * a receiver has the value), values sent before close are still received,
 * a send on a closed channel (or one blocked when the close comes) returns
 * EPIPE, a receive on a closed, drained channel returns EPIPE with *out
 * zeroed. A NULL channel, or a NULL value to send when elem_size is not 0,
 * is EINVAL. Whoever made the channel frees it, once nobody else uses it.
 */
#ifndef BENCH_TEXTBOOK_CHAN_H
#define BENCH_TEXTBOOK_CHAN_H

#include <stddef.h>

typedef struct tchan tchan_t;

/* NULL (errno ENOMEM or EINVAL) on failure. elem_size may be 0. */
tchan_t *tchan_make(size_t elem_size, size_t cap);
int      tchan_send(tchan_t *c, const void *elem); /* blocks; 0 | EPIPE | EINVAL */
int      tchan_recv(tchan_t *c, void *out);        /* blocks; 0 | EPIPE | EINVAL; out may be NULL */
int      tchan_close(tchan_t *c);                  /* 0 | EPIPE if already closed | EINVAL */
void     tchan_free(tchan_t *c);                   /* NULL is ignored */

#endif
