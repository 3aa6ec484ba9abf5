/*
 * trace_internal.h - the span buffers as the parts of the tracer share
 * them: trace.c records into them and owns their list, trace_json.c and
 * trace_timeline.c read them out. Not part of the public API.
 *
 * Besides spans, a buffer keeps the channel events its thread recorded
 * (trace_flow.c): halves of hand-offs through a ring, whole hand-offs,
 * closes and cancellations; trace_flow.c also pairs the halves up for the
 * outputs that draw arrows (trace_json.c, trace_html.c).
 *
 * The locking rules (the list lock, then a buffer's own) and the meaning
 * of each field are stated at the top of trace.c.
 */
#ifndef COMMON_TRACE_INTERNAL_H
#define COMMON_TRACE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/trace.h"

enum { TRACE_WORKERS_SEVERAL = -2 };

typedef struct {
    int64_t start, end; /* time_now(); end unused while the span is open */
    int8_t  kind;
    int8_t  parent_kind; /* the kind of the span it nests in; -1 for none */
    int8_t  depth;       /* spans it nests in (0: outermost) */
    int16_t worker;      /* M:N: the worker that ran it (sched_worker_id), or
                          * TRACE_WORKERS_SEVERAL if it ended on another one
                          * than it began on; -1: a thread, or the thread runtime */
    int8_t reason;       /* a finished wait span: what the thread last waited on
                          * inside it (a wait_reason_t, sleeps and contexts
                          * included), or 0 (WAIT_NONE): it never blocked */
    char name[TRACE_NAME_MAX];
} span_t;

/* What a channel event is. */
typedef enum {
    TRACE_EV_SEND,    /* a value entered a ring at position seq */
    TRACE_EV_RECV,    /* the value at ring position seq left it */
    TRACE_EV_HANDOFF, /* a value went from one party to the other directly */
    TRACE_EV_CLOSE,   /* a channel was closed */
    TRACE_EV_CANCEL,  /* a context was canceled; seq holds the reason */
} trace_event_type_t;

/* One channel event. Parties are named by their track's order (see
 * trace_buf_t), so an event may be recorded by one thread on behalf of
 * another (a receiver moving a waiting sender's value into the ring). */
typedef struct {
    int64_t  t_send;   /* SEND, HANDOFF: when the send began; else the event's time */
    int64_t  t_recv;   /* RECV, HANDOFF: when the receiver took the value */
    uint64_t chan;     /* the channel's id (CANCEL: its done channel's) */
    uint64_t seq;      /* SEND, RECV: the ring position; CANCEL: the errno reason */
    uint64_t from, to; /* sender and receiver (SEND: from only; RECV: to only);
                        * CLOSE, CANCEL: the actor in from */
    uint32_t elem_size;
    uint8_t  type; /* a trace_event_type_t */
} trace_event_t;

/* One thread's spans. Every field but `next` is under `lock`. */
typedef struct trace_buf {
    struct trace_buf *next; /* under the list lock */
    pthread_mutex_t   lock;
    char              name[TRACE_THREAD_NAME];
    uint64_t          order; /* tracks are listed by this: the goroutine's id, or after them */
    bool              exited;
    int64_t           first;   /* start of its first span since the reset */
    bool              touched; /* a party to a channel event since the reset */
    int               depth;
    span_t            open[TRACE_MAX_DEPTH];
    uint64_t          open_waits[TRACE_MAX_DEPTH]; /* the goroutine's wait count at each begin */
    span_t           *spans;                       /* finished spans, in the order they ended */
    size_t            count, cap;
    trace_event_t    *events; /* channel events this thread recorded, in order */
    size_t            nevents, events_cap;
} trace_buf_t;

/* A buffer with something in it, as both outputs list them. */
typedef struct {
    trace_buf_t *buf;
    uint64_t     order;
    int64_t      first;
} track_t;

/* What a reader works from, between trace_view_open and trace_view_close. */
typedef struct {
    track_t *tracks; /* in track order; track i + 1 (1, 2, ...) is tracks[i] */
    size_t   count;
    int64_t  now;   /* where a span still open is taken to end */
    int64_t  epoch; /* time zero of the trace */
} trace_view_t;

/* Takes the list lock, so no buffer is freed or added to the list until
 * trace_view_close; reads the clock; lists the buffers that hold a span
 * since the reset (and, unless spans_only, those of threads that only took
 * part in channel events), in track order (the order trace_write_json
 * promises). Lock a track's buffer (buf->lock) while reading its fields.
 * Out of memory, the view is empty, as if nothing had been recorded. */
void trace_view_open(trace_view_t *view, bool spans_only);

/* Frees the list and drops the list lock: the view is no longer usable. */
void trace_view_close(trace_view_t *view);

/* Spans dropped since the last reset. */
uint64_t trace_dropped(void);

/* Channel events dropped since the last reset (a thread's buffer full or
 * out of memory). */
uint64_t trace_events_dropped(void);

/* Creates or truncates the file at path and fills it with write_to.
 * Returns 0 or the errno of the failed open, write or close. */
int trace_write_path(const char *path, int (*write_to)(FILE *out));

/* Counts one channel event as dropped. */
void trace_count_dropped_event(void);

/* The calling thread's buffer, made and registered on first use; NULL if
 * out of memory. */
trace_buf_t *trace_self_buffer(void);

/* Writes s as a JSON string. for_html: also escapes '<', '>', '&' and ':'
 * (as \u003c ...), so the string can sit inside an HTML script element
 * without closing it or opening a tag, and holds no "http:". */
void trace_json_string(FILE *out, const char *s, bool for_html);

/* Writes nanoseconds as microseconds with three decimals, never negative. */
void trace_json_us(FILE *out, int64_t ns);

/* Marks the calling thread's buffer as taking part in channel events (a
 * lane even without a span; named as a span would name it) and returns its
 * track order; 0 if out of memory. */
uint64_t trace_self_touch(void);

/* A value's trip from one track to another, as the outputs draw it. */
typedef struct {
    uint64_t chan;
    uint32_t elem_size;
    size_t   from, to;       /* track numbers, 1-based, as in the view */
    int64_t  t_send, t_recv; /* t_send <= t_recv */
} trace_handoff_t;

/* A close or a cancellation on a track. */
typedef struct {
    uint64_t chan;
    size_t   track; /* 1-based */
    int64_t  time;
    int      type;   /* TRACE_EV_CLOSE or TRACE_EV_CANCEL */
    int      reason; /* CANCEL: ECANCELED or ETIMEDOUT */
} trace_mark_t;

/* Every hand-off among the view's tracks, sorted by send time: whole ones
 * as recorded, and each ring SEND paired with the RECV of the same channel
 * and position. A half without its partner (the value still in the ring,
 * or the partner dropped or not a track) is left out and counted in
 * *unpaired. *out is malloc'd (the caller frees it; NULL if none or out of
 * memory). Call with the view open and no buffer lock held. */
size_t trace_view_handoffs(const trace_view_t *view, trace_handoff_t **out, size_t *unpaired);

/* Every close and cancellation on the view's tracks, sorted by time; same
 * rules as trace_view_handoffs. */
size_t trace_view_marks(const trace_view_t *view, trace_mark_t **out);

/* The name of track number `track`: the buffer's own, else "thread N"
 * written into fallback (size bytes). b's lock is held. */
const char *trace_track_name(const trace_buf_t *b, size_t track, char *fallback, size_t size);

#endif
