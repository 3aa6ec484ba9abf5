/*
 * trace_flow.h - what channels and contexts tell the tracer (internal):
 * every hand-off of a value from a sender to the receiver that took it,
 * every close and every cancellation, so the outputs can draw an arrow per
 * hand-off (trace_write_html, trace_write_json's flow events).
 *
 * Cost. Like trace.h's macros, each macro here is one relaxed load of the
 * trace switch and a branch while tracing is off: its arguments are not
 * evaluated. Channels call them at the points where a value changes hands.
 *
 * How a hand-off is known:
 *   - Directly, under the channel's lock: a sender meets a waiting
 *     receiver, or a receiver a waiting sender (always so on an unbuffered
 *     channel). The one completing the other knows both parties, so it
 *     records the whole hand-off (trace_flow_handoff).
 *   - Through a buffered channel's ring: the k-th value pushed is the k-th
 *     popped, so the ring position the value went in at is the sequence
 *     number that pairs its send (trace_flow_send) with its receive
 *     (trace_flow_recv), recorded by different threads, maybe lock-free.
 *     Direct hand-offs never take a position (a receiver waits only on an
 *     empty ring), so they cannot shift the pairing.
 *
 * A party that waits records who it is and when it began (its
 * trace_party_t) in its waiter before it sleeps; whoever completes it
 * records the event with that party as sender or receiver.
 */
#ifndef COMMON_TRACE_FLOW_H
#define COMMON_TRACE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/trace.h"

/* One side of a hand-off: its track's key and when its operation began.
 * {0, 0} (tracing was off when it began) matches no track. */
typedef struct {
    uint64_t track;
    int64_t  since;
} trace_party_t;

/* The calling thread as a party, now; marks its track as taking part. */
#define trace_flow_self() (trace_enabled() ? trace_flow_self_() : (trace_party_t){0, 0})

/* A value entered chan's ring at `position`; sender NULL means the caller,
 * now. */
#define trace_flow_send(chan, elem_size, position, sender)                                         \
    (trace_enabled() ? trace_flow_send_(chan, elem_size, position, sender) : (void)0)

/* The caller took the value at `position` out of chan's ring, now. */
#define trace_flow_recv(chan, elem_size, position)                                                 \
    (trace_enabled() ? trace_flow_recv_(chan, elem_size, position) : (void)0)

/* A value went straight from sender to receiver, now; NULL means the
 * caller (and, for the sender, now). */
#define trace_flow_handoff(chan, elem_size, sender, receiver)                                      \
    (trace_enabled() ? trace_flow_handoff_(chan, elem_size, sender, receiver) : (void)0)

/* The caller closed chan. */
#define trace_flow_close(chan) (trace_enabled() ? trace_flow_close_(chan) : (void)0)

/* The caller canceled a context (reason ECANCELED or ETIMEDOUT) whose done
 * channel is chan. */
#define trace_flow_cancel(chan, reason)                                                            \
    (trace_enabled() ? trace_flow_cancel_(chan, reason) : (void)0)

/* The functions behind the macros: call the macros instead. */
trace_party_t trace_flow_self_(void);
void          trace_flow_send_(uint64_t chan, size_t elem_size, size_t position,
                               const trace_party_t *sender);
void          trace_flow_recv_(uint64_t chan, size_t elem_size, size_t position);
void          trace_flow_handoff_(uint64_t chan, size_t elem_size, const trace_party_t *sender,
                                  const trace_party_t *receiver);
void          trace_flow_close_(uint64_t chan);
void          trace_flow_cancel_(uint64_t chan, int reason);

#endif
