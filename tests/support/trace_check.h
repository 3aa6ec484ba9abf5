/*
 * trace_check.h - reading back what common/trace.c writes, for the tests:
 * the Chrome trace JSON (--trace FILE), the leak report and the ASCII
 * timeline (--timeline).
 *
 *     tc_trace_t t;
 *     cr_assert(tc_parse(json_text, &t), "invalid JSON: %s", t.error);
 *     cr_assert_eq(tc_count(&t, "X", "task 7"), 1);
 *     tc_free(&t);
 *
 * Nothing here asserts: every function answers a question and the test
 * decides what the answer must be. The parser is written independently of
 * trace.c on purpose: a writer checked by its own reader proves little.
 */
#ifndef TESTS_TRACE_CHECK_H
#define TESTS_TRACE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One trace event. Strings longer than their field are cut to fit. */
typedef struct {
    char   ph[4];        /* "X", "M", ... */
    char   name[64];     /* the event's name */
    char   cat[16];      /* "busy" / "wait" for spans */
    long   tid, pid;     /* -1 if missing */
    double ts, dur;      /* microseconds; -1 if missing */
    char   arg_name[64]; /* args.name (metadata events) */
    bool   open;         /* args.open */
    long   worker;       /* args.worker: the M:N worker that ran a span; -2 for
                          * "several", -1 if missing (a thread's span) */
    long id;             /* flow events: the flow's id; -1 if missing */
} tc_event_t;

/* A parsed trace file: its events in file order. */
typedef struct {
    tc_event_t *events;
    size_t      count, cap;
    bool        has_trace_events; /* the top-level "traceEvents" array was there */
    const char *error;            /* why tc_parse failed, NULL if it did not */
    size_t      error_at;         /* byte offset of the failure */
} tc_trace_t;

/* ---- the trace JSON ---- */

/* Parses a whole trace file strictly (RFC 8259: objects, arrays, strings
 * with their escapes, numbers, true/false/null, nothing after the value)
 * into *t, collecting the events of its "traceEvents" array. Returns false,
 * with t->error and t->error_at set, if the text is not valid JSON, not an
 * object, or has no "traceEvents" array. *t owns its events either way:
 * release them with tc_free. */
bool tc_parse(const char *text, tc_trace_t *t);

/* Frees the events of *t and leaves it empty. */
void tc_free(tc_trace_t *t);

/* Returns how many events have this ph and (unless name is NULL) this
 * name. */
size_t tc_count(const tc_trace_t *t, const char *ph, const char *name);

/* Returns the tid of the track named `track` (its "thread_name" metadata
 * event), or -1 if there is no such track. */
long tc_tid_of(const tc_trace_t *t, const char *track);

/* Returns the name of the track with this tid, or "" if it has none. The
 * string belongs to *t. */
const char *tc_track_of(const tc_trace_t *t, long tid);

/* Returns how many events on the track named `track` have this ph and a
 * name equal to `name`, or, if prefix, starting with it. */
size_t tc_count_on(const tc_trace_t *t, const char *track, const char *ph, const char *name,
                   bool prefix);

/* Returns the first event with this ph and name, or NULL. It belongs to
 * *t. */
const tc_event_t *tc_find(const tc_trace_t *t, const char *ph, const char *name);

/* A hand-off as the trace draws it: a flow start ("s") and the flow end
 * ("f") with the same id. */
typedef struct {
    long   from, to;         /* tids of the sender's and the receiver's tracks */
    double ts_send, ts_recv; /* microseconds */
    char   name[64];         /* the flow's name: "chan #3" */
} tc_flow_t;

/* Pairs every flow start with the flow end of the same id, in the order
 * the starts appear in the file. Returns the number of pairs; *out is
 * malloc'd (free it). A start without an end, an end without a start, or
 * a repeated id makes it return (size_t)-1. */
size_t tc_flows(const tc_trace_t *t, tc_flow_t **out);

/* The innermost span ("X" event of category "busy" or "wait") on track tid
 * that encloses time ts (start <= ts <= start + dur), or NULL. */
const tc_event_t *tc_span_at(const tc_trace_t *t, long tid, double ts);

/* Captures what write_to writes to a stream. Returns the text in a
 * malloc'd buffer the caller frees, or NULL if write_to did not return 0
 * or no stream could be made. */
char *tc_capture(int (*write_to)(FILE *out));

/* Reads a whole file. Returns its text NUL-terminated in a malloc'd buffer
 * the caller frees, or NULL if it cannot be read. */
char *tc_read_file(const char *path);

/* ---- the leak report ---- */

/* Returns how many lines of a leak report name goroutine `name`
 * ("goroutine 7 [...]: worker 2 ..."): lines holding both "goroutine " and
 * name. */
size_t tc_goroutine_lines(const char *report, const char *name);

/* ---- the ASCII timeline ---- */

/* Returns the length in bytes of the longest line of text (the timeline is
 * ASCII, so bytes are columns); 0 for NULL. */
size_t tc_longest_line(const char *text);

/* Returns the timeline row of `track` ("worker 2  |##..|"): a pointer into
 * text at the start of that line, or NULL. The name must be followed by at
 * least one space and nothing else before the '|'. */
const char *tc_row(const char *text, const char *track);

/* Returns how many lines of text are timeline rows: lines holding " |" and
 * ending in '|' (the goroutine returned) or '>' (still running). */
size_t tc_row_count(const char *text);

/* Returns how many times ch appears in the bar of a row (after its first
 * '|', the end marker excluded); 0 if row is NULL. */
size_t tc_bar_count(const char *row, char ch);

/* Returns the character that ends a row: '|' or '>'; '\0' if row is
 * NULL. */
char tc_row_end(const char *row);

#endif
