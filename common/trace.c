/*
 * trace.c - recording: per-thread span buffers, begin and end, turning
 * tracing on and resetting it, stats, and the view the outputs read from
 * (trace_json.c writes the JSON, trace_timeline.c draws the timeline; the
 * buffer types are in trace_internal.h). See trace.h.
 *
 * Invariants:
 *   - Every buffer is on the list `buffers`, in creation order, under
 *     list_lock. A thread finds its own through the thread-local `self`,
 *     which it clears when it exits (the pthread key's destructor, which
 *     also sets `exited`). Under the M:N runtime a goroutine keeps its own
 *     in its record (it may run on any worker), closed when it returns.
 *   - A buffer's fields are read and written only under its own lock, and
 *     locks are taken in the order list_lock, then a buffer's. The readers
 *     (a view, stats, reset) hold list_lock throughout, so no buffer
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

#include "common/goroutine.h"
#include "common/os.h"
#include "common/sched.h"
#include "common/trace_internal.h"

#define NOTHING_YET INT64_MAX /* `first` of a buffer with no span since the reset */

atomic_bool trace_on_;

static pthread_mutex_t            list_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_buf_t               *buffers;                 /* under list_lock */
static trace_buf_t              **buffers_tail = &buffers; /* under list_lock */
static int64_t                    epoch;                   /* time zero; under list_lock */
static bool                       epoch_set;               /* under list_lock */
static atomic_uint_fast64_t       dropped;
static atomic_uint_fast64_t       events_dropped; /* channel events (trace_flow.c) */
static pthread_once_t             key_once = PTHREAD_ONCE_INIT;
static pthread_key_t              exit_key;
static bool                       exit_key_made;
static _Thread_local trace_buf_t *self;

/* ------------------------------------------------------------ recording */

/* Adds the innermost open span to the finished ones, ending it at `now`.
 * g: the calling goroutine's record, if the caller is the buffer's own
 * thread and it is known (else NULL): a waiting span that saw it begin a
 * core wait is marked with what it last waited on. */
static void close_innermost(trace_buf_t *b, int64_t now, const goroutine_t *g)
{
    b->depth--;
    if (b->depth >= TRACE_MAX_DEPTH)
        return; /* its begin was dropped already */
    span_t span = b->open[b->depth];
    span.end = now;
    span.parent_kind = b->depth > 0 ? b->open[b->depth - 1].kind : -1;
    span.depth = (int8_t)b->depth;
    span.reason = WAIT_NONE;
    if (span.kind == TRACE_WAIT && g != NULL && g->waits != b->open_waits[b->depth])
        span.reason = (int8_t)g->last_wait;
    if (g != NULL && span.worker != sched_worker_id()) /* it waited, and resumed elsewhere */
        span.worker = TRACE_WORKERS_SEVERAL;
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
    int64_t now = os_monotonic_ns();
    while (b->depth > 0)
        close_innermost(b, now, NULL); /* the goroutine's record may be gone */
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
    else if (os_is_main_thread())
        snprintf(name, size, "main");
    else if (os_thread_get_name(kernel, sizeof kernel))
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
    return os_is_main_thread() ? 1 : atomic_fetch_add(&strangers, 1);
}

/* Under the M:N runtime a goroutine keeps its buffer in its record, since
 * it may run on any worker; go.c calls this when one returns. */
static void goroutine_exited(goroutine_t *g)
{
    if (g->trace_buf != NULL)
        thread_exited(g->trace_buf);
}

/* The calling goroutine's (M:N) or thread's buffer, made and registered on
 * first use; NULL if out of memory. */
trace_buf_t *trace_self_buffer(void)
{
    goroutine_t *g = sched_current();
    if (g != NULL && g->trace_buf != NULL)
        return g->trace_buf;
    if (g == NULL && self != NULL)
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
    if (g != NULL) {
        go_set_exit_hook(goroutine_exited);
        g->trace_buf = b;
        return b;
    }
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

    trace_buf_t *b = trace_self_buffer();
    if (b == NULL) {
        atomic_fetch_add(&dropped, 1);
        return;
    }
    goroutine_t *g = go_self_if_known();
    int64_t      now = os_monotonic_ns();
    pthread_mutex_lock(&b->lock);
    /* A reset may have run since the caller looked: then this begin is one
     * of those made while tracing was off, and so is its end. */
    if (trace_enabled()) {
        if (b->depth < TRACE_MAX_DEPTH) {
            span_t *span = &b->open[b->depth];
            span->start = now;
            span->kind = (int8_t)kind;
            span->worker = (int16_t)sched_worker_id();
            memcpy(span->name, name, sizeof name);
            b->open_waits[b->depth] = g != NULL ? g->waits : 0;
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

/* The caller's buffer if it has one (never makes one). */
static trace_buf_t *known_buffer(void)
{
    goroutine_t *g = sched_current();
    return g != NULL ? g->trace_buf : self;
}

void trace_end_(void)
{
    trace_buf_t *b = known_buffer();
    if (b == NULL)
        return;
    int64_t now = os_monotonic_ns();
    pthread_mutex_lock(&b->lock);
    if (b->depth > 0)
        close_innermost(b, now, go_self_if_known());
    pthread_mutex_unlock(&b->lock);
}

uint64_t trace_self_touch(void)
{
    trace_buf_t *b = trace_self_buffer();
    if (b == NULL)
        return 0;
    pthread_mutex_lock(&b->lock);
    b->touched = true;
    if (b->name[0] == '\0')
        default_name(b->name, sizeof b->name);
    uint64_t order = b->order;
    pthread_mutex_unlock(&b->lock);
    return order;
}

void trace_thread_name_(const char *name)
{
    trace_buf_t *b = trace_self_buffer();
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
        epoch = os_monotonic_ns();
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
        free(b->events);
        b->events = NULL;
        b->nevents = b->events_cap = 0;
        b->touched = false;
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
    atomic_store(&events_dropped, 0);
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
        stats.events += b->nevents;
        stats.bytes += sizeof *b + b->cap * sizeof(span_t) + b->events_cap * sizeof(trace_event_t);
        pthread_mutex_unlock(&b->lock);
    }
    stats.dropped = atomic_load(&dropped);
    stats.events_dropped = atomic_load(&events_dropped);
    pthread_mutex_unlock(&list_lock);
    return stats;
}

/* ------------------------------------------------------------ the view */

/* The buffers with something in them (a span, or unless spans_only a
 * part in a channel event), in track order (see track_order). Caller holds
 * list_lock and frees *out. Returns the count (0 if none, or no memory). */
static size_t collect_tracks(track_t **out, bool spans_only)
{
    size_t n = 0, all = 0;
    for (trace_buf_t *b = buffers; b != NULL; b = b->next)
        all++;
    track_t *tracks = all ? malloc(all * sizeof *tracks) : NULL;
    for (trace_buf_t *b = buffers; tracks != NULL && b != NULL; b = b->next) {
        pthread_mutex_lock(&b->lock);
        track_t track = {b, b->order, b->first};
        bool    touched = b->touched;
        pthread_mutex_unlock(&b->lock);
        if (track.first == NOTHING_YET && (spans_only || !touched))
            continue;
        size_t i = n++; /* insertion sort: stable, and n is small */
        for (; i > 0 && tracks[i - 1].order > track.order; i--)
            tracks[i] = tracks[i - 1];
        tracks[i] = track;
    }
    *out = tracks;
    return n;
}

void trace_view_open(trace_view_t *view, bool spans_only)
{
    pthread_mutex_lock(&list_lock);
    view->now = os_monotonic_ns();
    view->epoch = epoch;
    view->count = collect_tracks(&view->tracks, spans_only);
}

void trace_view_close(trace_view_t *view)
{
    free(view->tracks);
    view->tracks = NULL;
    view->count = 0;
    pthread_mutex_unlock(&list_lock);
}

uint64_t trace_dropped(void)
{
    return atomic_load(&dropped);
}

uint64_t trace_events_dropped(void)
{
    return atomic_load(&events_dropped);
}

void trace_count_dropped_event(void)
{
    atomic_fetch_add(&events_dropped, 1);
}

const char *trace_track_name(const trace_buf_t *b, size_t track, char *fallback, size_t size)
{
    if (b->name[0] != '\0')
        return b->name;
    snprintf(fallback, size, "thread %zu", track);
    return fallback;
}

int trace_write_path(const char *path, int (*write_to)(FILE *out))
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return errno;
    int err = write_to(out);
    if (fclose(out) != 0 && err == 0)
        err = errno;
    return err;
}

/* ------------------------------------------------------------ the end of a program */

int trace_write_file(const char *prog, trace_format_t format, const char *path)
{
    bool html = format == TRACE_FORMAT_HTML;
    int  err = html ? trace_write_html(path) : trace_write_json(path);
    if (err != 0)
        fprintf(stderr, "%s: cannot write the %s to %s: %s\n", prog,
                html ? "timeline page" : "trace", path, strerror(err));
    else if (html)
        printf("Timeline page written to %s (open it in any browser; it needs no network)\n", path);
    else
        printf("Trace written to %s (open it in https://ui.perfetto.dev)\n", path);
    return err;
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
    if (json_path != NULL)
        err = trace_write_file(prog, TRACE_FORMAT_JSON, json_path);
    trace_reset();
    return err;
}
