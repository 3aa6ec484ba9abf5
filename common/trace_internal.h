/*
 * trace_internal.h - the span buffers as the parts of the tracer share
 * them: trace.c records into them and owns their list, trace_json.c and
 * trace_timeline.c read them out. Not part of the public API.
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

#include "common/trace.h"

typedef struct {
    int64_t start, end; /* time_now(); end unused while the span is open */
    int8_t  kind;
    int8_t  parent_kind; /* the kind of the span it nests in; -1 for none */
    char    name[TRACE_NAME_MAX];
} span_t;

/* One thread's spans. Every field but `next` is under `lock`. */
typedef struct trace_buf {
    struct trace_buf *next; /* under the list lock */
    pthread_mutex_t   lock;
    char              name[TRACE_THREAD_NAME];
    uint64_t          order; /* tracks are listed by this: the goroutine's id, or after them */
    bool              exited;
    int64_t           first; /* start of its first span since the reset */
    int               depth;
    span_t            open[TRACE_MAX_DEPTH];
    span_t           *spans; /* finished spans, in the order they ended */
    size_t            count, cap;
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
 * since the reset, in track order (the order trace_write_json promises).
 * Lock a track's buffer (buf->lock) while reading its fields. Out of
 * memory, the view is empty, as if nothing had been recorded. */
void trace_view_open(trace_view_t *view);

/* Frees the list and drops the list lock: the view is no longer usable. */
void trace_view_close(trace_view_t *view);

/* Spans dropped since the last reset. */
uint64_t trace_dropped(void);

/* The name of track number `track`: the buffer's own, else "thread N"
 * written into fallback (size bytes). b's lock is held. */
const char *trace_track_name(const trace_buf_t *b, size_t track, char *fallback, size_t size);

#endif
