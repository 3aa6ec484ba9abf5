/*
 * harness.h - what the parts of the fuzz harness share: the state of one
 * run (the real objects in their slots beside their model), reading the
 * input, and failing loudly. See fuzz_core.c for the whole picture.
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/sema.h"
#include "fuzz/model.h"

enum { N_CHANS = 4, N_CTX = 8, MAX_ELEM = 24, MAX_CASES = 70, N_KEYS = 3 };

/* One run's state; zeroed at the start of every input. */
typedef struct {
    const uint8_t *in;
    size_t         left;
    int            op; /* index of the operation, for messages */
    chan_t        *chan[N_CHANS];
    model_chan_t   mc[N_CHANS];
    ctx_t         *ctx[N_CTX];
    int            node[N_CTX], ctx_refs[N_CTX];
    model_tree_t   tree;
    sema_t        *sema;
    int64_t        sema_size, sema_held;
    uint64_t       next_id;
    int64_t        start;
} harness_t;

extern harness_t h;

/* Fails the run: libFuzzer saves the input that got here. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_core: operation %d: check failed: %s\n    ", h.op, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The next input byte; 0 once the input is used up. */
unsigned next(void);

/* Channel operations (chan_ops.c), on slot `slot` (live). */
void op_make(unsigned slot);
void op_send(unsigned slot, unsigned flags);
void op_recv(unsigned slot, unsigned flags);
void op_release(unsigned slot);
void op_select(unsigned flags);

#endif
