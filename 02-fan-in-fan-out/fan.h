/*
 * fan.h - fan-out (several workers on one input channel) and fan-in (many
 * channels merged into one), with cancellation and an ordered merge.
 *
 * Every channel here carries fan_item_t values. A producer numbers its items
 * 0, 1, 2, ... in `seq`; workers keep the number and replace the value with
 * their result, so an ordered merge can put results back in input order.
 *
 *     producer --in--> worker 1 --outs[0]--\
 *                  \-> worker 2 --outs[1]---> fan_in --merged--> consumer
 *                  \-> worker 3 --outs[2]--/
 *
 * Who closes what (the rule: the sender closes, and only when it is done
 * sending; a receiver never closes):
 *   - the producer closes `in` when it has sent its last item;
 *   - each worker closes its own output when `in` is closed and drained, or
 *     when the context is done;
 *   - the merger closes `merged` when every input is closed and drained, or
 *     when the context is done.
 * So the consumer's loop "receive until EPIPE" always ends.
 *
 * Who releases what (channels are reference-counted): every goroutine started
 * here retains the channels and the context it uses and releases them when it
 * returns. The caller gets one reference to each channel these functions
 * create and may release it as soon as it no longer needs the channel itself;
 * the goroutines still hold theirs.
 *
 * Cancellation: when the context is done, every goroutine started here returns
 * promptly, even if nobody ever reads its output again (a goroutine blocked on
 * a send nobody will receive is the classic leak; here every blocking send
 * also waits on ctx_done). A NULL context means one that is never done.
 */
#ifndef FAN_IN_FAN_OUT_FAN_H
#define FAN_IN_FAN_OUT_FAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/chan.h"
#include "common/context.h"

/* The element of every channel in this module. */
typedef struct {
    uint64_t seq;   /* position in the input stream, from 0; kept by the workers */
    int64_t  value; /* the job going in, the result coming out */
} fan_item_t;

/* The work done on one item by worker number `worker` (1..n). Stores the
 * result in *result and returns 0, or returns non-zero to drop the item
 * (nothing is sent for it; the worker goes on with the next one). Work that
 * takes a while should also watch ctx (for example select on ctx_done) and
 * give up when it is done: the worker discards whatever it returns then. */
typedef int (*fan_fn_t)(ctx_t *ctx, size_t worker, int64_t value, int64_t *result, void *arg);

/* Makes a channel of fan_item_t with room for cap items (0: unbuffered).
 * The caller owns the one reference. NULL with errno ENOMEM. */
chan_t *fan_chan_make(size_t cap);

/* Fan-out: starts n workers, named "worker 1".."worker n", that take items
 * from `in` until it is closed and drained, call fn(ctx, worker, value,
 * &result, arg) on each, and send the result (same seq) on their own output
 * channel, which they close when they stop. Items from one worker come out
 * in the order it took them from `in`.
 *
 * On success stores the n unbuffered output channels in outs[0..n-1] (one
 * reference each, owned by the caller) and returns 0. Returns EINVAL (NULL in,
 * fn or outs, n == 0), ENOMEM, or EAGAIN if a worker could not be started: the
 * workers already started are then stopped (they may have taken items from
 * `in`), and outs is left untouched. `in` is retained, never closed: it
 * belongs to its sender. fn and arg must stay valid until every output is
 * closed. */
int fan_out(ctx_t *ctx, chan_t *in, size_t n, fan_fn_t fn, void *arg, chan_t **outs);

/* Fan-in: merges the n channels inputs[0..n-1] into one unbuffered channel
 * and returns it (one reference, owned by the caller). A single goroutine,
 * "fan-in", forwards every item it receives, in no particular order across
 * inputs, and closes the merged channel exactly when every input is closed
 * and drained (at once if n == 0), or when ctx is done. The inputs are
 * retained, never closed. NULL with errno EINVAL (inputs NULL while n > 0, or
 * a NULL input), ENOMEM, or EAGAIN (the goroutine could not be started). */
chan_t *fan_in(ctx_t *ctx, chan_t *const *inputs, size_t n);

/* Like fan_in, but delivers items in increasing seq order (goroutine
 * "fan-in ordered"). It needs each input to deliver its own items in
 * increasing seq order, which fan_out's workers do when the producer numbers
 * its items 0, 1, 2, ... The reorder buffer holds at most one item per input:
 * an item is sent as soon as it is the next number expected; when every open
 * input is waiting with an item and none is the next one (a dropped item
 * left a gap), the smallest goes out and the count resumes from it. */
chan_t *fan_in_ordered(ctx_t *ctx, chan_t *const *inputs, size_t n);

#endif
