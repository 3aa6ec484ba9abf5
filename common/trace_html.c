/*
 * trace_html.c - trace_write_html: the recorded spans and hand-offs as one
 * self-contained web page, one lane per goroutine and an arrow per
 * hand-off. trace.h says what the page shows; trace.c and trace_flow.c
 * record what it draws.
 *
 * The page is the template common/trace_page.html (its CSS and script,
 * readable there) with the trace spliced in as JSON, in a
 * <script type="application/json"> element that the page's script parses.
 * The template reaches the program as trace_page.c, generated from it by
 * scripts/embed-page.sh and checked in, so the core still builds from
 * the .c files in common/ alone.
 *
 * Invariants:
 *   - Nothing in the page refers to anything outside it: no URL at all.
 *   - Every string that came from the program (goroutine and span names,
 *     the program's name) is escaped for where it goes: in the JSON, '<',
 *     '>' and '&' become \u003c, \u003e and \u0026, so no name can close
 *     the script element or open a tag, and ':' becomes \u003a, so not even
 *     a name holds "http:"; in the title, HTML entities. The
 *     page's script shows names with textContent, never as markup.
 *   - At most TRACE_HTML_MAX_ITEMS spans, arrows and marks go in, the
 *     earliest ones: the page stays responsive, and says how many it
 *     left out beside the spans and events the recorder dropped.
 *   - Read through a view, as the other outputs do (trace_internal.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/os.h"
#include "common/trace.h"
#include "common/trace_internal.h"
#include "common/trace_page.h"

/* What the page is given, and where it is cut. */
typedef struct {
    FILE               *out;
    const trace_view_t *view;
    int64_t             cutoff; /* items starting at or after this are left out */
    size_t              left_out;
    trace_handoff_t    *handoffs;
    size_t              nhandoffs, unpaired;
    trace_mark_t       *marks;
    size_t              nmarks;
} page_t;

/* Text for an HTML element's content. */
static void page_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sets p->cutoff so that at most TRACE_HTML_MAX_ITEMS items start before
 * it, and p->left_out to how many do not. */
static void choose_cutoff(page_t *p)
{
    size_t n = p->nhandoffs + p->nmarks;
    for (size_t i = 0; i < p->view->count; i++) {
        trace_buf_t *b = p->view->tracks[i].buf;
        pthread_mutex_lock(&b->lock);
        n += b->count + (size_t)(b->depth < TRACE_MAX_DEPTH ? b->depth : TRACE_MAX_DEPTH);
        pthread_mutex_unlock(&b->lock);
    }
    p->cutoff = INT64_MAX;
    p->left_out = 0;
    if (n <= TRACE_HTML_MAX_ITEMS)
        return;
    int64_t *starts = malloc(n * sizeof *starts);
    if (starts == NULL)
        return; /* then the page gets everything, slow but whole */
    size_t k = 0;
    for (size_t i = 0; i < p->nhandoffs; i++)
        starts[k++] = p->handoffs[i].t_send;
    for (size_t i = 0; i < p->nmarks; i++)
        starts[k++] = p->marks[i].time;
    for (size_t i = 0; i < p->view->count; i++) {
        trace_buf_t *b = p->view->tracks[i].buf;
        pthread_mutex_lock(&b->lock);
        for (size_t s = 0; s < b->count && k < n; s++)
            starts[k++] = b->spans[s].start;
        for (int s = 0; s < b->depth && s < TRACE_MAX_DEPTH && k < n; s++)
            starts[k++] = b->open[s].start;
        pthread_mutex_unlock(&b->lock);
    }
    qsort(starts, k, sizeof *starts, by_value);
    p->cutoff = starts[TRACE_HTML_MAX_ITEMS];
    for (size_t i = 0; i < k; i++)
        p->left_out += starts[i] >= p->cutoff;
    free(starts);
}

static void page_span(const page_t *p, const span_t *s, int64_t end, int depth, bool open,
                      bool *first)
{
    if (s->start >= p->cutoff)
        return;
    fprintf(p->out, "%s[", *first ? "" : ",");
    *first = false;
    trace_json_us(p->out, s->start - p->view->epoch);
    fputc(',', p->out);
    trace_json_us(p->out, end - p->view->epoch);
    fprintf(p->out, ",%d,%d,%d,%d,", s->kind, s->reason, depth, open);
    trace_json_string(p->out, s->name, true);
    fprintf(p->out, ",%d]", s->worker);
}

static void page_lane(const page_t *p, size_t track)
{
    trace_buf_t *b = p->view->tracks[track - 1].buf;
    char         fallback[32];
    bool         first = true;
    pthread_mutex_lock(&b->lock);
    fprintf(p->out, "%s\n{\"name\":", track > 1 ? "," : "");
    trace_json_string(p->out, trace_track_name(b, track, fallback, sizeof fallback), true);
    fprintf(p->out, ",\"spans\":[");
    for (size_t k = 0; k < b->count; k++) {
        page_span(p, &b->spans[k], b->spans[k].end, b->spans[k].depth, false, &first);
    }
    for (int k = 0; k < b->depth && k < TRACE_MAX_DEPTH; k++)
        page_span(p, &b->open[k], p->view->now, k, true, &first);
    fprintf(p->out, "]}");
    pthread_mutex_unlock(&b->lock);
}

static void page_data(const page_t *p)
{
    FILE *out = p->out;
    fprintf(out, "{\"program\":");
    trace_json_string(out, os_program_name(), true);
    fprintf(out, ",\"end\":");
    trace_json_us(out, p->view->now - p->view->epoch);
    fprintf(out,
            ",\"dropped\":{\"spans\":%llu,\"events\":%llu,\"unpaired\":%zu,\"page\":%zu},"
            "\n\"lanes\":[",
            (unsigned long long)trace_dropped(), (unsigned long long)trace_events_dropped(),
            p->unpaired, p->left_out);
    for (size_t i = 0; i < p->view->count; i++)
        page_lane(p, i + 1);
    fprintf(out, "],\n\"arrows\":[");
    bool first = true;
    for (size_t i = 0; i < p->nhandoffs; i++) {
        const trace_handoff_t *h = &p->handoffs[i];
        if (h->t_send >= p->cutoff)
            continue;
        fprintf(out, "%s\n[%zu,%zu,", first ? "" : ",", h->from - 1, h->to - 1);
        first = false;
        trace_json_us(out, h->t_send - p->view->epoch);
        fputc(',', out);
        trace_json_us(out, h->t_recv - p->view->epoch);
        fprintf(out, ",%llu,%u]", (unsigned long long)h->chan, (unsigned)h->elem_size);
    }
    fprintf(out, "],\n\"marks\":[");
    first = true;
    for (size_t i = 0; i < p->nmarks; i++) {
        const trace_mark_t *m = &p->marks[i];
        if (m->time >= p->cutoff)
            continue;
        fprintf(out, "%s\n[%zu,", first ? "" : ",", m->track - 1);
        first = false;
        trace_json_us(out, m->time - p->view->epoch);
        fprintf(out, ",\"%s\",%llu,\"%s\"]", m->type == TRACE_EV_CANCEL ? "cancel" : "close",
                (unsigned long long)m->chan,
                m->type != TRACE_EV_CANCEL ? ""
                : m->reason == ETIMEDOUT   ? "deadline exceeded"
                                           : "canceled");
    }
    fprintf(out, "]}");
}

int trace_write_html_to(FILE *out)
{
    trace_view_t view;
    trace_view_open(&view, false);
    page_t p = {.out = out, .view = &view};
    p.nhandoffs = trace_view_handoffs(&view, &p.handoffs, &p.unpaired);
    p.nmarks = trace_view_marks(&view, &p.marks);
    choose_cutoff(&p);

    errno = 0;
    fputs(trace_page_head, out);
    page_text(out, os_program_name());
    fputs(trace_page_middle, out);
    page_data(&p);
    fputs(trace_page_tail, out);
    free(p.handoffs);
    free(p.marks);
    trace_view_close(&view);
    if (fflush(out) != 0 || ferror(out))
        return errno != 0 ? errno : EIO;
    return 0;
}

int trace_write_html(const char *path)
{
    return trace_write_path(path, trace_write_html_to);
}
