/*
 * trace.h - see what the goroutines did: spans recorded per thread, and
 * every value handed from one goroutine to another, written out as a Chrome
 * trace (Perfetto, chrome://tracing), as a self-contained web page with an
 * arrow per hand-off, or drawn in the terminal as an ASCII timeline, one
 * row per goroutine.
 *
 * A span is a named stretch of time on one thread, of one of two kinds:
 * busy ("task 7" while a worker runs it) or waiting ("wait for task" while it
 * is blocked on a channel, a semaphore, a timer). Spans nest: a begin inside
 * an open span opens an inner one and trace_end() closes the innermost, so
 * every thread's spans form a stack. Perfetto draws them stacked; the ASCII
 * timeline shows, at each moment, the innermost one.
 *
 *     trace_wait("wait for task");       // a waiting span...
 *     int err = chan_recv(tasks, &task);
 *     trace_end();                       // ...closed
 *     trace_begin("task %d", task.id);   // a busy span, name printf-style
 *     run(task);
 *     trace_end();
 *
 * Cost. Tracing is off until trace_enable(). While it is off, each of the
 * macros below is one relaxed atomic load and a branch, inlined at the call
 * site: the arguments are not evaluated, nothing is formatted, nothing is
 * allocated, no lock is taken. Modules can therefore be instrumented for
 * good. While it is on, each thread records into a buffer of its own, made
 * at its first span; the buffer's lock is taken only by its owner and by the
 * functions that read every buffer (trace_write_json, the timeline, reset),
 * so recording goroutines never contend with each other.
 *
 * Memory. The buffers come from plain malloc, not goc_malloc, on purpose:
 * tracing is an observer and must not change the numbers it observes, so a
 * program's leak check (alloc_live) comes out the same with tracing on or
 * off. Each thread keeps at most TRACE_MAX_SPANS spans and TRACE_MAX_DEPTH
 * open ones; what does not fit is counted as dropped, never blocks. Buffers
 * outlive their threads (the spans of a goroutine that has returned are
 * still written at exit) until trace_reset().
 *
 * Hand-offs. While tracing is on, the channels record, on their own, every
 * value that changes hands: who sent it and when the send began, who
 * received that very value and when (buffered or not, in a select or not),
 * plus every close and every context cancellation (trace_flow.h says how).
 * A goroutine that takes part in one gets a track even if it records no
 * span (the ASCII timeline, which draws only spans, leaves it out). While
 * tracing is off, each of those points costs one relaxed load and a
 * predictable branch. TRACE_MAX_EVENTS per thread, like the spans.

 * Enabling is one-way until trace_reset(), which turns tracing off. A span
 * whose begin ran while tracing was off has no end either: trace_end() on a
 * thread with no open span does nothing. Everything here is thread-safe.
 */
#ifndef COMMON_TRACE_H
#define COMMON_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_NAME_MAX 40      /* a span's name, NUL included; longer names are cut */
#define TRACE_THREAD_NAME 48   /* a track's name, NUL included */
#define TRACE_MAX_DEPTH 8      /* open spans per thread; deeper ones are dropped */
#define TRACE_MAX_SPANS 65536  /* finished spans kept per thread */
#define TRACE_MAX_EVENTS 65536 /* channel events (hand-offs, closes) kept per thread */

typedef enum {
    TRACE_BUSY = 0, /* doing work: '#' on the timeline */
    TRACE_WAIT = 1, /* blocked, waiting for something: '.' on the timeline */
} trace_kind_t;

/* The switch the macros test; use trace_enabled() to read it. */
extern atomic_bool trace_on_;

/* True while tracing is on. One relaxed load: the cheapest check there is. */
static inline bool trace_enabled(void)
{
    return atomic_load_explicit(&trace_on_, memory_order_relaxed);
}

/* Opens a busy span on the calling thread, named with printf's format. */
#define trace_begin(...) (trace_enabled() ? trace_begin_(TRACE_BUSY, __VA_ARGS__) : (void)0)

/* Opens a waiting span on the calling thread, named with printf's format. */
#define trace_wait(...) (trace_enabled() ? trace_begin_(TRACE_WAIT, __VA_ARGS__) : (void)0)

/* Closes the calling thread's innermost open span; nothing if it has none. */
#define trace_end() (trace_enabled() ? trace_end_() : (void)0)

/* Names the calling thread's track, replacing the default: the goroutine's
 * go_named name, "main" for the process's main thread, else the thread's
 * name as the kernel keeps it, else "thread N". Copied (cut to
 * TRACE_THREAD_NAME - 1 bytes); kept until trace_reset(); ignored while
 * tracing is off. */
#define trace_thread_name(name) (trace_enabled() ? trace_thread_name_(name) : (void)0)

/* Turns tracing on. The first call after start-up or after trace_reset()
 * sets time zero of the trace. Idempotent. */
void trace_enable(void);

/* Turns tracing off and forgets every span and track name; frees the
 * buffers of threads that have exited. A live thread keeps its (now empty)
 * buffer for its next span, and forgets the spans it had open. Counters go
 * back to zero. */
void trace_reset(void);

/* What is recorded right now. */
typedef struct {
    size_t   buffers;        /* per-thread buffers held, empty ones of live threads included */
    size_t   threads;        /* tracks: threads that have begun a span since the reset */
    size_t   spans;          /* finished spans kept */
    size_t   open;           /* spans begun and not yet ended (kept ones only) */
    uint64_t dropped;        /* spans lost: buffer full, nested too deep, or out of memory */
    size_t   bytes;          /* memory held by the buffers */
    size_t   events;         /* channel events kept: hand-offs (or their halves), closes, cancels */
    uint64_t events_dropped; /* channel events lost: buffer full or out of memory */
} trace_stats_t;
trace_stats_t trace_stats(void);

/* Writes every span as Chrome trace-event JSON (the format Perfetto and
 * chrome://tracing open): an "X" (complete) event per span with "ts" and
 * "dur" in microseconds since time zero, "pid", "tid" (the track's number,
 * 1, 2, ...) and "cat" "busy" or "wait"; a "thread_name" and a
 * "thread_sort_index" metadata ("M") event per track, so each goroutine is
 * one named track; a "process_name" one. Tracks come in the order the
 * goroutines were started (main first), then threads the core does not
 * know, in the order they first traced; the timeline uses the same order.
 * A span still open is written as ending now, with "args": {"open": true}.
 * Each hand-off is a flow, drawn by Perfetto as an arrow: a zero-length
 * "send #C" slice (cat "handoff") and a flow start ("ph":"s", named
 * "chan #C", a fresh "id") on the sender's track at the send, a "recv #C"
 * slice and the flow's end ("ph":"f", "bp":"e", the same id) on the
 * receiver's at the receive, C the channel's number; flows in send order.
 * Each close is an instant event ("ph":"i") "close #C" (but a context's done
 * channel closed by its cancellation: the cancel stands for it), each cancellation
 * "cancel, done #C (canceled)" or "(deadline)", on the track of whoever
 * did it (a deadline: the timer thread).
 * Returns 0, or the errno of the failed write. The path form creates or
 * truncates the file. */
int trace_write_json(const char *path);
int trace_write_json_to(FILE *out);

/* Most spans, arrows and marks one page holds (see trace_write_html). */
#define TRACE_HTML_MAX_ITEMS 10000

/* Writes the trace as one self-contained HTML page that any browser opens
 * from disk, with no network: one lane per track (the same tracks, in the
 * same order, as trace_write_json), each span a bar (busy green, waiting
 * coloured by what the goroutine waited on: channel receive or send,
 * select, a context (a select on its done channel), wait group, semaphore,
 * sleep, or nothing: it never blocked), an arrow
 * for every channel hand-off from the sender's lane where the send began
 * to the receiver's lane where it took that value (buffered or not), a
 * bar for every close and a diamond for every canceled context (where the
 * cancellation started). Hovering shows details; the wheel zooms, dragging
 * pans. Names are escaped: a goroutine called "<b>" shows as that text.
 * At most TRACE_HTML_MAX_ITEMS items go in, the earliest; the page says
 * how many it left out, and how many the recorder dropped. Returns 0, or
 * the errno of the failed write; the path form creates or truncates. */
int trace_write_html(const char *path);
int trace_write_html_to(FILE *out);

/* Draws the ASCII timeline: a header line, one row per track (its name,
 * then time across: '#' busy, '.' waiting, ' ' not started yet, returned or
 * outside any span; the innermost span wins, and within one column the kind
 * that took most of it), a time scale and a legend. A row ending in '>' was
 * still inside a span at the end (a goroutine that never returned shows
 * so). No line is longer than width columns (clamped to 60..200; 0 means
 * 100). Prints "no spans recorded" if there is nothing. */
void trace_print_timeline(FILE *out, int width);

/* The end-of-program step every lesson takes: if json_path is not NULL,
 * writes the JSON there and says so on stdout; if timeline is not NULL,
 * prints the timeline to it; then trace_reset(). A failure is reported as
 * "<prog>: cannot write the trace to PATH: reason" on stderr. Returns 0 or
 * the errno of the failed write. Does nothing (returns 0) if tracing was
 * never enabled. */
int trace_finish(const char *prog, const char *json_path, FILE *timeline);

/* The file formats, for trace_write_file. */
typedef enum {
    TRACE_FORMAT_JSON, /* trace_write_json */
    TRACE_FORMAT_HTML, /* trace_write_html */
} trace_format_t;

/* Writes the trace to path in format and says so on stdout ("Trace written
 * to PATH (open it in https://ui.perfetto.dev)", "Timeline page written to
 * PATH (open it in any browser; it needs no network)"), or why not on
 * stderr ("<prog>: cannot write the trace to PATH: reason", "... the
 * timeline page ..."). Returns 0 or the errno of the failed write. What
 * trace_finish and the lesson harness's --trace and --html do. */
int trace_write_file(const char *prog, trace_format_t format, const char *path);

/* The functions behind the macros: call the macros instead. */
void trace_begin_(trace_kind_t kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void trace_end_(void);
void trace_thread_name_(const char *name);

#endif
