/*
 * textbook_chan.c - a channel from one mutex and two condition variables.
 *
 * Invariants (under `lock`): the values waiting in the buffer are
 * slots[head], slots[head + 1], ... (len of them, indices mod room), and
 * room is cap, or 1 for an unbuffered channel, whose one slot holds the
 * value a sender is offering. `sent` and `received` count values in and
 * out; a value with ticket t (the t-th sent) has been received once
 * received >= t. Once `closed`, no value enters.
 *
 * Receivers wait on not_empty for len > 0; senders wait on not_full for
 * len < room, and an unbuffered sender then waits, on not_full again, for
 * its own ticket to be received. Every wait is a `while`, never an `if`:
 * a woken thread may find that another got there first (or the wake-up
 * was spurious), and must look again.
 *
 * Every wake-up is a broadcast. A textbook would signal where one waiter
 * is enough (a freed slot, a new value), but glibc's condition variables
 * (from 2.25; this machine's 2.36 too) can lose a pthread_cond_signal
 * when waiters come and go quickly (sourceware bug 25847): our test of
 * four producers and four consumers hung with a value in the slot and
 * every receiver asleep. A broadcast is never lost, and with one waiter it
 * costs what a signal costs.
 */
#include "bench/textbook_chan.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"

struct tchan {
    pthread_mutex_t lock;
    pthread_cond_t  not_empty; /* receivers: a value came, or the close */
    pthread_cond_t  not_full;  /* senders: room came, a value was taken, or the close */
    size_t          elem_size, room, head, len;
    uint64_t        sent, received;
    bool            closed, unbuffered;
    unsigned char   slots[]; /* room * elem_size bytes */
};

tchan_t *tchan_make(size_t elem_size, size_t cap)
{
    size_t room = cap > 0 ? cap : 1;
    if (elem_size != 0 && room > (SIZE_MAX - sizeof(tchan_t)) / elem_size) {
        errno = EINVAL;
        return NULL;
    }
    tchan_t *c = goc_calloc(1, sizeof *c + room * elem_size);
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    c->elem_size = elem_size;
    c->room = room;
    c->unbuffered = cap == 0;
    return c;
}

int tchan_send(tchan_t *c, const void *elem)
{
    if (c == NULL || (elem == NULL && c->elem_size != 0))
        return EINVAL;
    pthread_mutex_lock(&c->lock);
    while (c->len == c->room && !c->closed)
        pthread_cond_wait(&c->not_full, &c->lock);
    int rc = 0;
    if (c->closed) {
        rc = EPIPE;
    } else {
        memcpy(c->slots + (c->head + c->len) % c->room * c->elem_size, elem, c->elem_size);
        c->len++;
        uint64_t ticket = ++c->sent;
        pthread_cond_broadcast(&c->not_empty);
        if (c->unbuffered) { /* a rendezvous: wait until a receiver has it */
            while (c->received < ticket && !c->closed)
                pthread_cond_wait(&c->not_full, &c->lock);
            if (c->received < ticket) { /* closed first: take the offer back */
                c->len = 0;
                rc = EPIPE;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int tchan_recv(tchan_t *c, void *out)
{
    if (c == NULL)
        return EINVAL;
    pthread_mutex_lock(&c->lock);
    while (c->len == 0 && !c->closed)
        pthread_cond_wait(&c->not_empty, &c->lock);
    int rc = 0;
    if (c->len == 0) { /* closed and drained */
        rc = EPIPE;
        if (out)
            memset(out, 0, c->elem_size);
    } else {
        if (out)
            memcpy(out, c->slots + c->head * c->elem_size, c->elem_size);
        c->head = (c->head + 1) % c->room;
        c->len--;
        c->received++;
        /* A slot is free, and (unbuffered) the sender whose value this
         * was must hear it, among the others. */
        pthread_cond_broadcast(&c->not_full);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int tchan_close(tchan_t *c)
{
    if (c == NULL)
        return EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = c->closed ? EPIPE : 0;
    c->closed = true;
    pthread_cond_broadcast(&c->not_empty);
    pthread_cond_broadcast(&c->not_full);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void tchan_free(tchan_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    goc_free(c);
}
