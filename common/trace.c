/*
 * trace.c - per-thread span buffers, and the two ways to read them out
 * (Chrome trace-event JSON and the ASCII timeline). See trace.h.
 *
 * Invariants:
 *   - Every buffer is on the list `buffers`, in creation order, under
 *     list_lock. A thread finds its own through the thread-local `self`,
 *     which it clears when it exits (the pthread key's destructor, which
 *     also sets `exited`).
 *   - A buffer's fields are read and written only under its own lock, and
 *     locks are taken in the order list_lock, then a buffer's. The readers
 *     (JSON, timeline, stats, reset) hold list_lock throughout, so no buffer
 *     disappears under them.
 *   - Only trace_reset frees a buffer, and only one whose thread has
 *     exited: a live thread may use its buffer at any moment.
 *   - open[0 .. min(depth, TRACE_MAX_DEPTH) - 1] are the open spans,
 *     outermost first. depth also counts begins too deep to keep, so every
 *     end still pairs with its own begin.
 */
#include "common/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/go_internal.h"
#include "common/timer.h"

#define NOTHING_YET INT64_MAX /* `first` of a buffer with no span since the reset */

typedef struct {
    int64_t start, end; /* time_now(); end unused while the span is open */
    int8_t  kind;
    int8_t  parent_kind; /* the kind of the span it nests in; -1 for none */
    char    name[TRACE_NAME_MAX];
} span_t;

typedef struct trace_buf {
    struct trace_buf *next; /* under list_lock */
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

atomic_bool trace_on_;

static pthread_mutex_t            list_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_buf_t               *buffers;                 /* under list_lock */
static trace_buf_t              **buffers_tail = &buffers; /* under list_lock */
static int64_t                    epoch;                   /* time zero; under list_lock */
static bool                       epoch_set;               /* under list_lock */
static atomic_uint_fast64_t       dropped;
static pthread_once_t             key_once = PTHREAD_ONCE_INIT;
static pthread_key_t              exit_key;
static bool                       exit_key_made;
static _Thread_local trace_buf_t *self;

/* ------------------------------------------------------------ recording */

/* Adds the innermost open span to the finished ones, ending it at `now`. */
static void close_innermost(trace_buf_t *b, int64_t now)
{
    b->depth--;
    if (b->depth >= TRACE_MAX_DEPTH)
        return; /* its begin was dropped already */
    span_t span = b->open[b->depth];
    span.end = now;
    span.parent_kind = b->depth > 0 ? b->open[b->depth - 1].kind : -1;
    if (b->count == b->cap) {
        size_t  cap = b->cap ? 2 * b->cap : 64;
        span_t *grown = cap <= TRACE_MAX_SPANS ? realloc(b->spans, cap * sizeof *grown) : NULL;
        if (grown == NULL) {
            atomic_fetch_add(&dropped, 1);
            return;
        }
        b->spans = grown;
        b->cap = cap;
    }
    b->spans[b->count++] = span;
}

/* A goroutine that returns inside a span has finished it: close what is
 * open, so its row does not claim it is still running. */
static void thread_exited(void *p)
{
    trace_buf_t *b = p;
    pthread_mutex_lock(&b->lock);
    int64_t now = time_now();
    while (b->depth > 0)
        close_innermost(b, now);
    b->exited = true;
    pthread_mutex_unlock(&b->lock);
    self = NULL;
}

static void make_exit_key(void)
{
    exit_key_made = pthread_key_create(&exit_key, thread_exited) == 0;
}

/* The track's name when nobody gave one: the goroutine's (its whole
 * go_named name), "main", or what the kernel calls the thread. */
static void default_name(char *name, size_t size)
{
    goroutine_t *g = go_self_if_known();
    char         kernel[16] = "";
    if (g != NULL && g->started_by_go)
        snprintf(name, size, "%s", g->name);
    else if (gettid() == getpid())
        snprintf(name, size, "main");
    else if (pthread_getname_np(pthread_self(), kernel, sizeof kernel) == 0)
        snprintf(name, size, "%s", kernel);
}

/* Tracks appear in the order goroutines were started (the core numbers
 * them: main is 1), which is the order a reader of main() expects; threads
 * the core does not know come after, in the order they first traced. */
static uint64_t track_order(void)
{
    static atomic_uint_fast64_t strangers = (uint64_t)1 << 62;
    goroutine_t                *g = go_self_if_known();
    if (g != NULL && (g->started_by_go || g->id == 1))
        return g->id;
    return gettid() == getpid() ? 1 : atomic_fetch_add(&strangers, 1);
}

/* The calling thread's buffer, made and registered on first use; NULL if
 * out of memory. */
static trace_buf_t *self_buffer(void)
{
    if (self != NULL)
        return self;
    pthread_once(&key_once, make_exit_key);
    trace_buf_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->first = NOTHING_YET;
    b->order = track_order();
    pthread_mutex_lock(&list_lock);
    *buffers_tail = b;
    buffers_tail = &b->next;
    pthread_mutex_unlock(&list_lock);
    if (exit_key_made)
        pthread_setspecific(exit_key, b);
    self = b;
    return b;
}

void trace_begin_(trace_kind_t kind, const char *fmt, ...)
{
    char    name[TRACE_NAME_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(name, sizeof name, fmt, args);
    va_end(args);

    trace_buf_t *b = self_buffer();
    if (b == NULL) {
        atomic_fetch_add(&dropped, 1);
        return;
    }
    int64_t now = time_now();
    pthread_mutex_lock(&b->lock);
    /* A reset may have run since the caller looked: then this begin is one
     * of those made while tracing was off, and so is its end. */
    if (trace_enabled()) {
        if (b->depth < TRACE_MAX_DEPTH) {
            span_t *span = &b->open[b->depth];
            span->start = now;
            span->kind = (int8_t)kind;
            memcpy(span->name, name, sizeof name);
        } else {
            atomic_fetch_add(&dropped, 1);
        }
        if (b->first == NOTHING_YET)
            b->first = now;
        if (b->name[0] == '\0') /* never named, or forgotten by a reset */
            default_name(b->name, sizeof b->name);
        b->depth++;
    }
    pthread_mutex_unlock(&b->lock);
}

void trace_end_(void)
{
    trace_buf_t *b = self;
    if (b == NULL)
        return;
    int64_t now = time_now();
    pthread_mutex_lock(&b->lock);
    if (b->depth > 0)
        close_innermost(b, now);
    pthread_mutex_unlock(&b->lock);
}

void trace_thread_name_(const char *name)
{
    trace_buf_t *b = self_buffer();
    if (b == NULL || name == NULL)
        return;
    pthread_mutex_lock(&b->lock);
    snprintf(b->name, sizeof b->name, "%s", name);
    pthread_mutex_unlock(&b->lock);
}

void trace_enable(void)
{
    pthread_mutex_lock(&list_lock);
    if (!epoch_set) {
        epoch = time_now();
        epoch_set = true;
    }
    atomic_store(&trace_on_, true);
    pthread_mutex_unlock(&list_lock);
}

void trace_reset(void)
{
    pthread_mutex_lock(&list_lock);
    atomic_store(&trace_on_, false);
    trace_buf_t **link = &buffers;
    while (*link != NULL) {
        trace_buf_t *b = *link;
        pthread_mutex_lock(&b->lock);
        bool gone = b->exited;
        free(b->spans);
        b->spans = NULL;
        b->count = b->cap = 0;
        b->depth = 0;
        b->first = NOTHING_YET;
        b->name[0] = '\0';
        pthread_mutex_unlock(&b->lock);
        if (gone) {
            *link = b->next;
            pthread_mutex_destroy(&b->lock);
            free(b);
        } else {
            link = &b->next;
        }
    }
    buffers_tail = link;
    epoch_set = false;
    atomic_store(&dropped, 0);
    pthread_mutex_unlock(&list_lock);
}

trace_stats_t trace_stats(void)
{
    trace_stats_t stats = {0};
    pthread_mutex_lock(&list_lock);
    for (trace_buf_t *b = buffers; b != NULL; b = b->next) {
        pthread_mutex_lock(&b->lock);
        stats.buffers++;
        stats.threads += b->first != NOTHING_YET;
        stats.spans += b->count;
        stats.open += (size_t)(b->depth < TRACE_MAX_DEPTH ? b->depth : TRACE_MAX_DEPTH);
        stats.bytes += sizeof *b + b->cap * sizeof(span_t);
        pthread_mutex_unlock(&b->lock);
    }
    stats.dropped = atomic_load(&dropped);
    pthread_mutex_unlock(&list_lock);
    return stats;
}

/* ------------------------------------------------------------ reading out */

/* A buffer with something in it, as both outputs list them. */
typedef struct {
    trace_buf_t *buf;
    uint64_t     order;
    int64_t      first;
} track_t;

/* The buffers with something in them, in track order (see track_order).
 * Caller holds list_lock and frees *out. Returns the count (0 if none, or
 * no memory). */
static size_t collect_tracks(track_t **out)
{
    size_t n = 0, all = 0;
    for (trace_buf_t *b = buffers; b != NULL; b = b->next)
        all++;
    track_t *tracks = all ? malloc(all * sizeof *tracks) : NULL;
    for (trace_buf_t *b = buffers; tracks != NULL && b != NULL; b = b->next) {
        pthread_mutex_lock(&b->lock);
        track_t track = {b, b->order, b->first};
        pthread_mutex_unlock(&b->lock);
        if (track.first == NOTHING_YET)
            continue;
        size_t i = n++; /* insertion sort: stable, and n is small */
        for (; i > 0 && tracks[i - 1].order > track.order; i--)
            tracks[i] = tracks[i - 1];
        tracks[i] = track;
    }
    *out = tracks;
    return n;
}

static const char *track_name(const trace_buf_t *b, size_t track, char *fallback, size_t size)
{
    if (b->name[0] != '\0')
        return b->name;
    snprintf(fallback, size, "thread %zu", track);
    return fallback;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Nanoseconds as microseconds with three decimals, never negative. */
static void json_us(FILE *out, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    fprintf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

static void json_span(FILE *out, const span_t *s, int64_t end, bool open, int pid, size_t tid)
{
    fprintf(out, ",\n{\"name\":");
    json_string(out, s->name);
    fprintf(out, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", s->kind == TRACE_WAIT ? "wait" : "busy");
    json_us(out, s->start - epoch);
    fprintf(out, ",\"dur\":");
    json_us(out, end - s->start);
    fprintf(out, ",\"pid\":%d,\"tid\":%zu%s}", pid, tid, open ? ",\"args\":{\"open\":true}" : "");
}

int trace_write_json_to(FILE *out)
{
    pthread_mutex_lock(&list_lock);
    int64_t  now = time_now();
    int      pid = (int)getpid();
    track_t *tracks;
    size_t   n = collect_tracks(&tracks);

    errno = 0;
    fprintf(out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"dropped_spans\":%llu},\n",
            (unsigned long long)atomic_load(&dropped));
    fprintf(out,
            "\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,"
            "\"tid\":0,\"args\":{\"name\":",
            pid);
    json_string(out, program_invocation_short_name);
    fprintf(out, "}}");
    for (size_t i = 0; i < n; i++) {
        trace_buf_t *b = tracks[i].buf;
        char         fallback[32];
        pthread_mutex_lock(&b->lock);
        fprintf(out,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%zu,"
                "\"args\":{\"name\":",
                pid, i + 1);
        json_string(out, track_name(b, i + 1, fallback, sizeof fallback));
        fprintf(out,
                "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":%zu,"
                "\"args\":{\"sort_index\":%zu}}",
                pid, i + 1, i + 1);
        for (size_t k = 0; k < b->count; k++)
            json_span(out, &b->spans[k], b->spans[k].end, false, pid, i + 1);
        for (int k = 0; k < b->depth && k < TRACE_MAX_DEPTH; k++)
            json_span(out, &b->open[k], now, true, pid, i + 1);
        pthread_mutex_unlock(&b->lock);
    }
    fprintf(out, "\n]}\n");
    free(tracks);
    pthread_mutex_unlock(&list_lock);
    if (fflush(out) != 0 || ferror(out))
        return errno != 0 ? errno : EIO;
    return 0;
}

int trace_write_json(const char *path)
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return errno;
    int err = trace_write_json_to(out);
    if (fclose(out) != 0 && err == 0)
        err = errno;
    return err;
}

/* ------------------------------------------------------------ the timeline */

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
    if (ns < TIME_MILLISECOND)
        snprintf(buf, size, "%dus", ns > 0 ? (int)(ns / TIME_MICROSECOND) : 0);
    else if (ns < 10 * TIME_MILLISECOND)
        snprintf(buf, size, "%.1fms", (double)ns / 1e6);
    else if (ns < TIME_SECOND)
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

void trace_print_timeline(FILE *out, int width)
{
    width = width == 0 ? 100 : width < 60 ? 60 : width > 200 ? 200 : width;
    pthread_mutex_lock(&list_lock);
    int64_t  now = time_now();
    track_t *tracks;
    size_t   n = collect_tracks(&tracks);
    row_t    row = {.t0 = INT64_MAX, .t1 = 0};
    int      name_width = 4;
    for (size_t i = 0; i < n; i++) {
        trace_buf_t *b = tracks[i].buf;
        row.t0 = tracks[i].first < row.t0 ? tracks[i].first : row.t0;
        char fallback[32];
        pthread_mutex_lock(&b->lock);
        int len = (int)strlen(track_name(b, i + 1, fallback, sizeof fallback));
        name_width = len > name_width ? len : name_width;
        for (size_t k = 0; k < b->count; k++)
            row.t1 = b->spans[k].end > row.t1 ? b->spans[k].end : row.t1;
        if (b->depth > 0)
            row.t1 = now;
        pthread_mutex_unlock(&b->lock);
    }
    name_width = name_width > 16 ? 16 : name_width;
    if (n > 0 && row.t1 <= row.t0)
        row.t1 = row.t0 + 1;           /* every span empty: still one nanosecond to draw */
    row.cols = width - name_width - 3; /* "name |" ... "|" */
    row.busy = calloc((size_t)row.cols, sizeof *row.busy);
    row.wait = calloc((size_t)row.cols, sizeof *row.wait);
    if (n == 0 || row.busy == NULL || row.wait == NULL) {
        fprintf(out, "Timeline: no spans recorded\n");
        goto out;
    }

    char total[32], column[32];
    format_duration(total, sizeof total, row.t1 - row.t0);
    format_duration(column, sizeof column, (row.t1 - row.t0) / row.cols);
    fprintf(out, "Timeline: %zu goroutine%s over %s, one column = %s\n", n, n == 1 ? "" : "s",
            total, column);
    for (size_t i = 0; i < n; i++) {
        trace_buf_t *b = tracks[i].buf;
        char         fallback[32], bar[256];
        memset(row.busy, 0, (size_t)row.cols * sizeof *row.busy);
        memset(row.wait, 0, (size_t)row.cols * sizeof *row.wait);
        pthread_mutex_lock(&b->lock);
        for (size_t k = 0; k < b->count; k++)
            tally_span(&row, &b->spans[k], b->spans[k].end, b->spans[k].parent_kind);
        int open = b->depth < TRACE_MAX_DEPTH ? b->depth : TRACE_MAX_DEPTH;
        for (int k = 0; k < open; k++)
            tally_span(&row, &b->open[k], now, k > 0 ? b->open[k - 1].kind : -1);
        for (int c = 0; c < row.cols; c++) {
            int64_t busy = row.busy[c] > 0 ? row.busy[c] : 0;
            int64_t wait = row.wait[c] > 0 ? row.wait[c] : 0;
            bar[c] = busy == 0 && wait == 0 ? ' ' : busy >= wait ? '#' : '.';
        }
        fprintf(out, "%-*.*s |%.*s%c\n", name_width, name_width,
                track_name(b, i + 1, fallback, sizeof fallback), row.cols, bar,
                b->depth > 0 ? '>' : '|');
        pthread_mutex_unlock(&b->lock);
    }
    print_scale(out, &row, name_width);
    fprintf(out, "%s\n",
            width >= 84 ? "# busy  . waiting  (blank) not started, returned or untraced  "
                          "> still in a span at the end"
                        : "# busy  . waiting  > still in a span at the end");
    if (atomic_load(&dropped) > 0)
        fprintf(out, "(%llu spans dropped: buffers full or nested too deep)\n",
                (unsigned long long)atomic_load(&dropped));
out:
    free(row.busy);
    free(row.wait);
    free(tracks);
    pthread_mutex_unlock(&list_lock);
}

int trace_finish(const char *prog, const char *json_path, FILE *timeline)
{
    if (!trace_enabled())
        return 0;
    int err = 0;
    if (timeline != NULL) {
        trace_print_timeline(timeline, 100);
        fflush(timeline);
    }
    if (json_path != NULL) {
        err = trace_write_json(json_path);
        if (err != 0)
            fprintf(stderr, "%s: cannot write the trace to %s: %s\n", prog, json_path,
                    strerror(err));
        else
            printf("Trace written to %s (open it in https://ui.perfetto.dev)\n", json_path);
    }
    trace_reset();
    return err;
}
