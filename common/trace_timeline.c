/*
 * trace_timeline.c - trace_print_timeline: the recorded spans drawn in the
 * terminal, one row per track, time across. trace.h says what the marks
 * mean; trace.c records the spans.
 *
 * Every row covers the same time, cut into the same columns. A row is drawn
 * from a tally of the nanoseconds its thread spent busy and waiting in each
 * column (see tally_span), and the larger of the two picks the mark.
 *
 * Invariants it relies on:
 *   - Everything is read through a view (trace_internal.h), which holds the
 *     list lock until the last line, so no buffer comes or goes; each
 *     buffer's own lock is held while its track is read.
 *   - The width is clamped to 60..200 before anything is drawn, so a row,
 *     the scale and their labels always fit the 256-byte line buffers.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "common/trace_internal.h"

/* One row being drawn: time [t0, t1) cut into cols columns, and in each the
 * nanoseconds spent busy and waiting. */
typedef struct {
    int64_t  t0, t1;
    int      cols;
    int64_t *busy, *wait;
} row_t;

/* Adds sign * (the part of [start, end) in each column) to kind's tally. */
static void tally(row_t *row, int kind, int64_t start, int64_t end, int sign)
{
    if (kind < 0)
        return;
    int64_t *acc = kind == TRACE_WAIT ? row->wait : row->busy, total = row->t1 - row->t0;
    start = start < row->t0 ? row->t0 : start;
    end = end > row->t1 ? row->t1 : end;
    if (end <= start)
        return;
    int first = (int)((start - row->t0) * row->cols / total);
    int last = (int)((end - row->t0) * row->cols / total);
    for (int c = first; c <= last && c < row->cols; c++) {
        int64_t from = row->t0 + total * c / row->cols, to = row->t0 + total * (c + 1) / row->cols;
        int64_t part = (end < to ? end : to) - (start > from ? start : from);
        if (part > 0)
            acc[c] += sign * part;
    }
}

/* Each span counts for its own kind and is taken off the span it nests in,
 * so what is left in each column is the time of the innermost spans. */
static void tally_span(row_t *row, const span_t *s, int64_t end, int parent_kind)
{
    tally(row, s->kind, s->start, end, +1);
    tally(row, parent_kind, s->start, end, -1);
}

static void format_duration(char *buf, size_t size, int64_t ns)
{
    if (ns < 1e6)
        snprintf(buf, size, "%dus", ns > 0 ? (int)(ns / 1000) : 0);
    else if (ns < 1e7)
        snprintf(buf, size, "%.1fms", (double)ns / 1e6);
    else if (ns < 1e9)
        snprintf(buf, size, "%.0fms", (double)ns / 1e6);
    else
        snprintf(buf, size, "%.2fs", (double)ns / 1e9);
}

/* The scale under the rows, shaped like a row: '+' under both bars and
 * under every 10th column, labelled with the time where that column starts
 * while the labels fit, and the total under the right end. */
static void print_scale(FILE *out, const row_t *row, int indent)
{
    char ticks[256], labels[256], text[32];
    int  len = indent + row->cols + 3, bar = indent + 2; /* as long as a row; column 0 */
    memset(ticks, ' ', (size_t)len);
    memset(labels, ' ', (size_t)len);
    ticks[bar - 1] = ticks[len - 1] = '+';
    labels[bar - 1] = '0';
    format_duration(text, sizeof text, row->t1 - row->t0);
    int total_at = len - (int)strlen(text), free_from = bar + 1;
    memcpy(labels + total_at, text, strlen(text));
    for (int c = 0; c < row->cols; c++) {
        ticks[bar + c] = c % 10 == 0 && c > 0 && c + 2 < row->cols ? '+' : '-';
        if (ticks[bar + c] != '+' || bar + c < free_from)
            continue;
        format_duration(text, sizeof text, (row->t1 - row->t0) * c / row->cols);
        int n = (int)strlen(text);
        if (bar + c + n < total_at) {
            memcpy(labels + bar + c, text, (size_t)n);
            free_from = bar + c + n + 1;
        }
    }
    fprintf(out, "%.*s\n%.*s\n", len, ticks, len, labels);
}

/* The time every row covers, from the first span's start to the last end
 * (or now, if a span is still open), into row->t0 and row->t1. Returns the
 * width of the name column: the longest track name, between 4 and 16. */
static int measure(const trace_view_t *view, row_t *row)
{
    int name_width = 4;
    row->t0 = INT64_MAX;
    row->t1 = 0;
    for (size_t i = 0; i < view->count; i++) {
        trace_buf_t *b = view->tracks[i].buf;
        row->t0 = view->tracks[i].first < row->t0 ? view->tracks[i].first : row->t0;
        char fallback[32];
        pthread_mutex_lock(&b->lock);
        int len = (int)strlen(trace_track_name(b, i + 1, fallback, sizeof fallback));
        name_width = len > name_width ? len : name_width;
        for (size_t k = 0; k < b->count; k++)
            row->t1 = b->spans[k].end > row->t1 ? b->spans[k].end : row->t1;
        if (b->depth > 0)
            row->t1 = view->now;
        pthread_mutex_unlock(&b->lock);
    }
    if (view->count > 0 && row->t1 <= row->t0)
        row->t1 = row->t0 + 1; /* every span empty: still one nanosecond to draw */
    return name_width > 16 ? 16 : name_width;
}

static void print_header(FILE *out, const row_t *row, size_t tracks)
{
    char total[32], column[32];
    format_duration(total, sizeof total, row->t1 - row->t0);
    format_duration(column, sizeof column, (row->t1 - row->t0) / row->cols);
    fprintf(out, "Timeline: %zu goroutine%s over %s, one column = %s\n", tracks,
            tracks == 1 ? "" : "s", total, column);
}

/* Busy wins a tie; blank if neither kind has time left. A sum below zero
 * means a parent span was dropped (its buffer full) after its children had
 * been taken off it: it counts as none. */
static char column_mark(const row_t *row, int c)
{
    int64_t busy = row->busy[c] > 0 ? row->busy[c] : 0;
    int64_t wait = row->wait[c] > 0 ? row->wait[c] : 0;
    return busy == 0 && wait == 0 ? ' ' : busy >= wait ? '#' : '.';
}

/* Track number `track`'s row, its open spans ending at `now`. b's lock is
 * held. */
static void print_row(FILE *out, row_t *row, const trace_buf_t *b, size_t track, int name_width,
                      int64_t now)
{
    char fallback[32], bar[256];
    memset(row->busy, 0, (size_t)row->cols * sizeof *row->busy);
    memset(row->wait, 0, (size_t)row->cols * sizeof *row->wait);
    for (size_t k = 0; k < b->count; k++)
        tally_span(row, &b->spans[k], b->spans[k].end, b->spans[k].parent_kind);
    int open = b->depth < TRACE_MAX_DEPTH ? b->depth : TRACE_MAX_DEPTH;
    for (int k = 0; k < open; k++)
        tally_span(row, &b->open[k], now, k > 0 ? b->open[k - 1].kind : -1);
    for (int c = 0; c < row->cols; c++)
        bar[c] = column_mark(row, c);
    fprintf(out, "%-*.*s |%.*s%c\n", name_width, name_width,
            trace_track_name(b, track, fallback, sizeof fallback), row->cols, bar,
            b->depth > 0 ? '>' : '|');
}

/* What the marks mean (the long form where it fits), and what was lost. */
static void print_legend(FILE *out, int width)
{
    fprintf(out, "%s\n",
            width >= 84 ? "# busy  . waiting  (blank) not started, returned or untraced  "
                          "> still in a span at the end"
                        : "# busy  . waiting  > still in a span at the end");
    if (trace_dropped() > 0)
        fprintf(out, "(%llu spans dropped: buffers full or nested too deep)\n",
                (unsigned long long)trace_dropped());
}

void trace_print_timeline(FILE *out, int width)
{
    width = width == 0 ? 100 : width < 60 ? 60 : width > 200 ? 200 : width;
    trace_view_t view;
    trace_view_open(&view, true);
    row_t row = {0};
    int   name_width = measure(&view, &row);
    row.cols = width - name_width - 3; /* "name |" ... "|" */
    row.busy = calloc((size_t)row.cols, sizeof *row.busy);
    row.wait = calloc((size_t)row.cols, sizeof *row.wait);

    if (view.count == 0 || row.busy == NULL || row.wait == NULL) {
        fprintf(out, "Timeline: no spans recorded\n");
    } else {
        print_header(out, &row, view.count);
        for (size_t i = 0; i < view.count; i++) {
            trace_buf_t *b = view.tracks[i].buf;
            pthread_mutex_lock(&b->lock);
            print_row(out, &row, b, i + 1, name_width, view.now);
            pthread_mutex_unlock(&b->lock);
        }
        print_scale(out, &row, name_width);
        print_legend(out, width);
    }
    free(row.busy);
    free(row.wait);
    trace_view_close(&view);
}
