/*
 * trace_flow.c - channel events: recording what trace_flow.h's hooks
 * report, and pairing it up into hand-offs for the outputs (see
 * trace_internal.h for the reader's side).
 *
 * Invariants:
 *   - An event goes into the buffer of the thread that records it, under
 *     that buffer's lock, like a span; the parties it names are track
 *     orders (trace_buf_t.order), so it may be about other threads.
 *   - A hook may run under a channel's lock: it takes only its own
 *     buffer's lock, never the list lock, and nobody takes a channel's
 *     lock while holding a buffer's, so no cycle can form.
 *   - The readers run with the view open (the list lock held) and lock one
 *     buffer at a time while copying its events out.
 *   - Ring halves pair by (channel, position): positions count every value
 *     that ever went through that ring, so each pair is unique even across
 *     laps of the ring.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/os.h"
#include "common/trace_flow.h"
#include "common/trace_internal.h"

/* ------------------------------------------------------------ recording */

/* Appends e to the calling thread's events, or counts it as dropped. */
static void record(const trace_event_t *e)
{
    trace_buf_t *b = trace_self_buffer();
    if (b == NULL) {
        trace_count_dropped_event();
        return;
    }
    pthread_mutex_lock(&b->lock);
    /* A reset since the caller looked: the event belongs to no trace. */
    if (!trace_enabled()) {
        pthread_mutex_unlock(&b->lock);
        return;
    }
    if (b->nevents == b->events_cap) {
        size_t         cap = b->events_cap ? 2 * b->events_cap : 64;
        trace_event_t *grown =
            cap <= TRACE_MAX_EVENTS ? realloc(b->events, cap * sizeof *grown) : NULL;
        if (grown == NULL) {
            pthread_mutex_unlock(&b->lock);
            trace_count_dropped_event();
            return;
        }
        b->events = grown;
        b->events_cap = cap;
    }
    b->events[b->nevents++] = *e;
    b->touched = true;
    pthread_mutex_unlock(&b->lock);
}

trace_party_t trace_flow_self_(void)
{
    uint64_t order = trace_self_touch();
    return (trace_party_t){order, order ? os_monotonic_ns() : 0};
}

void trace_flow_send_(uint64_t chan, size_t elem_size, size_t position, const trace_party_t *sender)
{
    trace_party_t self = sender ? *sender : trace_flow_self_();
    record(&(trace_event_t){.type = TRACE_EV_SEND,
                            .chan = chan,
                            .elem_size = (uint32_t)elem_size,
                            .seq = position,
                            .from = self.track,
                            .t_send = self.since});
}

void trace_flow_recv_(uint64_t chan, size_t elem_size, size_t position)
{
    trace_party_t self = trace_flow_self_();
    record(&(trace_event_t){.type = TRACE_EV_RECV,
                            .chan = chan,
                            .elem_size = (uint32_t)elem_size,
                            .seq = position,
                            .to = self.track,
                            .t_recv = self.since});
}

void trace_flow_handoff_(uint64_t chan, size_t elem_size, const trace_party_t *sender,
                         const trace_party_t *receiver)
{
    trace_party_t self = trace_flow_self_();
    trace_party_t from = sender ? *sender : self, to = receiver ? *receiver : self;
    record(&(trace_event_t){.type = TRACE_EV_HANDOFF,
                            .chan = chan,
                            .elem_size = (uint32_t)elem_size,
                            .from = from.track,
                            .to = to.track,
                            .t_send = from.since,
                            .t_recv = self.since}); /* taken now, whoever waited */
}

void trace_flow_close_(uint64_t chan)
{
    trace_party_t self = trace_flow_self_();
    record(&(trace_event_t){
        .type = TRACE_EV_CLOSE, .chan = chan, .from = self.track, .t_send = self.since});
}

void trace_flow_cancel_(uint64_t chan, int reason)
{
    trace_party_t self = trace_flow_self_();
    record(&(trace_event_t){.type = TRACE_EV_CANCEL,
                            .chan = chan,
                            .seq = (uint64_t)reason,
                            .from = self.track,
                            .t_send = self.since});
}

/* ------------------------------------------------------------ reading */

/* The 1-based number of the view's track with this order, or 0. The view
 * lists tracks by order, ascending, so a binary search finds it. */
static size_t track_number(const trace_view_t *view, uint64_t order)
{
    size_t lo = 0, hi = view->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (view->tracks[mid].order < order)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < view->count && view->tracks[lo].order == order && order != 0 ? lo + 1 : 0;
}

/* Copies every event of the view's tracks whose type is in `types` (a bit
 * per trace_event_type_t) into a malloc'd array. Returns the count; *out
 * is NULL if there are none or memory ran out. */
static size_t gather(const trace_view_t *view, unsigned types, trace_event_t **out)
{
    size_t         n = 0, cap = 0;
    trace_event_t *all = NULL;
    for (size_t i = 0; i < view->count; i++) {
        trace_buf_t *b = view->tracks[i].buf;
        pthread_mutex_lock(&b->lock);
        for (size_t k = 0; k < b->nevents; k++) {
            if (!(types & (1u << b->events[k].type)))
                continue;
            if (n == cap) {
                size_t         grown_cap = cap ? 2 * cap : 256;
                trace_event_t *grown = realloc(all, grown_cap * sizeof *grown);
                if (grown == NULL) {
                    pthread_mutex_unlock(&b->lock);
                    free(all);
                    *out = NULL;
                    return 0;
                }
                all = grown;
                cap = grown_cap;
            }
            all[n++] = b->events[k];
        }
        pthread_mutex_unlock(&b->lock);
    }
    *out = all;
    return n;
}

/* Ring halves by channel, then position, then SEND before RECV. */
static int by_channel_position(const void *a, const void *b)
{
    const trace_event_t *x = a, *y = b;
    if (x->chan != y->chan)
        return x->chan < y->chan ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (int)x->type - (int)y->type;
}

static int by_send_time(const void *a, const void *b)
{
    const trace_handoff_t *x = a, *y = b;
    if (x->t_send != y->t_send)
        return x->t_send < y->t_send ? -1 : 1;
    return x->t_recv < y->t_recv ? -1 : x->t_recv > y->t_recv;
}

/* Adds e's hand-off to out[*n] if both its parties are tracks. A push is
 * recorded just after the value entered the ring, so a fast receiver may
 * have stamped its pop a hair earlier: the send then counts as at the pop. */
static bool add_handoff(const trace_view_t *view, const trace_event_t *send,
                        const trace_event_t *recv, trace_handoff_t *out)
{
    size_t from = track_number(view, send->from), to = track_number(view, recv->to);
    if (from == 0 || to == 0)
        return false;
    *out = (trace_handoff_t){.chan = send->chan,
                             .elem_size = send->elem_size,
                             .from = from,
                             .to = to,
                             .t_send = send->t_send < recv->t_recv ? send->t_send : recv->t_recv,
                             .t_recv = recv->t_recv};
    return true;
}

size_t trace_view_handoffs(const trace_view_t *view, trace_handoff_t **out, size_t *unpaired)
{
    trace_event_t *ev;
    size_t         n =
        gather(view, 1u << TRACE_EV_SEND | 1u << TRACE_EV_RECV | 1u << TRACE_EV_HANDOFF, &ev);
    trace_handoff_t *h = n ? malloc(n * sizeof *h) : NULL;
    size_t           count = 0, lost = 0;
    if (h == NULL) {
        free(ev);
        *out = NULL;
        *unpaired = n;
        return 0;
    }
    qsort(ev, n, sizeof *ev, by_channel_position);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type == TRACE_EV_HANDOFF) {
            if (add_handoff(view, &ev[i], &ev[i], &h[count]))
                count++;
            else
                lost++;
        } else if (ev[i].type == TRACE_EV_SEND && i + 1 < n && ev[i + 1].type == TRACE_EV_RECV &&
                   ev[i + 1].chan == ev[i].chan && ev[i + 1].seq == ev[i].seq) {
            if (add_handoff(view, &ev[i], &ev[i + 1], &h[count]))
                count++;
            else
                lost++;
            i++; /* the RECV is used */
        } else {
            lost++;
        }
    }
    free(ev);
    qsort(h, count, sizeof *h, by_send_time);
    *out = h;
    *unpaired = lost;
    return count;
}

static int by_time(const void *a, const void *b)
{
    const trace_mark_t *x = a, *y = b;
    return x->time < y->time ? -1 : x->time > y->time;
}

/* A cancellation closes its context's done channel: one mark says it, so
 * the close of a channel that has a cancel mark goes. Returns the count
 * left; n is small (one per close), so a quadratic search will do. */
static size_t drop_closes_of_canceled(trace_mark_t *m, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool canceled = false;
        for (size_t k = 0; k < n && m[i].type == TRACE_EV_CLOSE && !canceled; k++)
            canceled = m[k].type == TRACE_EV_CANCEL && m[k].chan == m[i].chan;
        if (!canceled)
            m[kept++] = m[i];
    }
    return kept;
}

size_t trace_view_marks(const trace_view_t *view, trace_mark_t **out)
{
    trace_event_t *ev;
    size_t         n = gather(view, 1u << TRACE_EV_CLOSE | 1u << TRACE_EV_CANCEL, &ev);
    trace_mark_t  *m = n ? malloc(n * sizeof *m) : NULL;
    size_t         count = 0;
    for (size_t i = 0; m != NULL && i < n; i++) {
        size_t track = track_number(view, ev[i].from);
        if (track == 0)
            continue;
        m[count++] = (trace_mark_t){.chan = ev[i].chan,
                                    .track = track,
                                    .time = ev[i].t_send,
                                    .type = ev[i].type,
                                    .reason = ev[i].type == TRACE_EV_CANCEL ? (int)ev[i].seq : 0};
    }
    free(ev);
    if (m != NULL)
        qsort(m, count, sizeof *m, by_time);
    *out = m;
    return drop_closes_of_canceled(m, count);
}
