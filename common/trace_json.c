/*
 * trace_json.c - trace_write_json: the recorded spans as Chrome trace-event
 * JSON, the format Perfetto and chrome://tracing open. trace.h says what is
 * written; trace.c records the spans, trace_flow.c the hand-offs.
 *
 * A hand-off is drawn the way the format draws arrows: a flow start ("s")
 * on the sender's track at the send and a flow end ("f", "bp":"e") on the
 * receiver's at the receive, sharing an id. A flow event attaches to the
 * slice enclosing its time on its track, so each end gets a slice of its
 * own there ("send #3", "recv #3", category "handoff", no duration).
 *
 * Invariants it relies on:
 *   - Everything is read through a view (trace_internal.h), which holds the
 *     list lock from the first byte written to the last, so no buffer comes
 *     or goes meanwhile; each buffer's own lock is held while its track is
 *     written, so a track is one consistent snapshot of its thread.
 *   - errno is cleared before the first write, so if a write fails, errno
 *     holds its reason when the stream's error flag is checked at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/os.h"
#include "common/trace.h"
#include "common/trace_internal.h"

/* Where the events go, and what every event repeats or is measured from. */
typedef struct {
    FILE   *out;
    int     pid;
    int64_t epoch; /* time zero: "ts" counts from here */
} json_out_t;

void trace_json_string(FILE *out, const char *s, bool for_html)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || (for_html && (c == '<' || c == '>' || c == '&' || c == ':')))
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void trace_json_us(FILE *out, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    fprintf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

/* The head of the file, up to the event that names the process. */
static void json_head(const json_out_t *j)
{
    fprintf(j->out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"dropped_spans\":%llu},\n",
            (unsigned long long)trace_dropped());
    fprintf(j->out,
            "\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,"
            "\"tid\":0,\"args\":{\"name\":",
            j->pid);
    trace_json_string(j->out, os_program_name(), false);
    fprintf(j->out, "}}");
}

/* One end of hand-off number id: its slice, then the flow event. */
static void json_flow_end(const json_out_t *j, const trace_handoff_t *h, size_t id, bool start)
{
    size_t  tid = start ? h->from : h->to;
    int64_t ts = (start ? h->t_send : h->t_recv) - j->epoch;
    fprintf(j->out, ",\n{\"name\":\"%s #%llu\",\"cat\":\"handoff\",\"ph\":\"X\",\"ts\":",
            start ? "send" : "recv", (unsigned long long)h->chan);
    trace_json_us(j->out, ts);
    fprintf(j->out, ",\"dur\":0,\"pid\":%d,\"tid\":%zu,\"args\":{\"chan\":%llu,\"bytes\":%u}}",
            j->pid, tid, (unsigned long long)h->chan, (unsigned)h->elem_size);
    fprintf(j->out,
            ",\n{\"name\":\"chan #%llu\",\"cat\":\"handoff\",\"ph\":\"%s\",%s\"id\":%zu,"
            "\"ts\":",
            (unsigned long long)h->chan, start ? "s" : "f", start ? "" : "\"bp\":\"e\",", id);
    trace_json_us(j->out, ts);
    fprintf(j->out, ",\"pid\":%d,\"tid\":%zu}", j->pid, tid);
}

/* Every hand-off as a flow, every close and cancellation as an instant
 * event on the track of whoever did it. */
static void json_flows(const json_out_t *j, const trace_view_t *view)
{
    trace_handoff_t *h;
    size_t           unpaired;
    size_t           n = trace_view_handoffs(view, &h, &unpaired);
    for (size_t i = 0; i < n; i++) {
        json_flow_end(j, &h[i], i + 1, true);
        json_flow_end(j, &h[i], i + 1, false);
    }
    free(h);
    trace_mark_t *m;
    n = trace_view_marks(view, &m);
    for (size_t i = 0; i < n; i++) {
        bool cancel = m[i].type == TRACE_EV_CANCEL;
        fprintf(j->out,
                ",\n{\"name\":\"%s #%llu%s\",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"ts\":",
                cancel ? "cancel, done" : "close", (unsigned long long)m[i].chan,
                !cancel                    ? ""
                : m[i].reason == ETIMEDOUT ? " (deadline)"
                                           : " (canceled)",
                cancel ? "cancel" : "close");
        trace_json_us(j->out, m[i].time - j->epoch);
        fprintf(j->out, ",\"pid\":%d,\"tid\":%zu}", j->pid, m[i].track);
    }
    free(m);
}

static void json_span(const json_out_t *j, const span_t *s, int64_t end, bool open, size_t tid)
{
    fprintf(j->out, ",\n{\"name\":");
    trace_json_string(j->out, s->name, false);
    fprintf(j->out,
            ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", s->kind == TRACE_WAIT ? "wait" : "busy");
    trace_json_us(j->out, s->start - j->epoch);
    fprintf(j->out, ",\"dur\":");
    trace_json_us(j->out, end - s->start);
    fprintf(j->out, ",\"pid\":%d,\"tid\":%zu", j->pid, tid);
    if (open || s->worker != -1) {
        fprintf(j->out, ",\"args\":{");
        if (s->worker >= 0)
            fprintf(j->out, "\"worker\":%d", s->worker);
        else if (s->worker == TRACE_WORKERS_SEVERAL)
            fprintf(j->out, "\"worker\":\"several\"");
        fprintf(j->out, "%s}", open ? (s->worker != -1 ? ",\"open\":true" : "\"open\":true") : "");
    }
    fputc('}', j->out);
}

/* Track number tid: the metadata events that name it and fix its place,
 * so Perfetto lists the tracks in our order, then its finished spans, then
 * its open ones, ending at `now`. b's lock is held. */
static void json_track(const json_out_t *j, const trace_buf_t *b, size_t tid, int64_t now)
{
    char fallback[32];
    fprintf(j->out,
            ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%zu,"
            "\"args\":{\"name\":",
            j->pid, tid);
    trace_json_string(j->out, trace_track_name(b, tid, fallback, sizeof fallback), false);
    fprintf(j->out,
            "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":%zu,"
            "\"args\":{\"sort_index\":%zu}}",
            j->pid, tid, tid);
    for (size_t k = 0; k < b->count; k++)
        json_span(j, &b->spans[k], b->spans[k].end, false, tid);
    for (int k = 0; k < b->depth && k < TRACE_MAX_DEPTH; k++)
        json_span(j, &b->open[k], now, true, tid);
}

int trace_write_json_to(FILE *out)
{
    trace_view_t view;
    trace_view_open(&view, false);
    json_out_t j = {.out = out, .pid = (int)getpid(), .epoch = view.epoch};

    errno = 0;
    json_head(&j);
    for (size_t i = 0; i < view.count; i++) {
        trace_buf_t *b = view.tracks[i].buf;
        pthread_mutex_lock(&b->lock);
        json_track(&j, b, i + 1, view.now);
        pthread_mutex_unlock(&b->lock);
    }
    json_flows(&j, &view);
    fprintf(out, "\n]}\n");
    trace_view_close(&view);
    if (fflush(out) != 0 || ferror(out))
        return errno != 0 ? errno : EIO;
    return 0;
}

int trace_write_json(const char *path)
{
    return trace_write_path(path, trace_write_json_to);
}
