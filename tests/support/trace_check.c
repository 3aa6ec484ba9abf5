/*
 * trace_check.c - the tests' reader of what common/trace.c writes (see
 * trace_check.h): a recursive-descent JSON parser that keeps only the
 * fields of trace events the tests look at, and line scanners for the leak
 * report and the ASCII timeline.
 *
 * The parser never trusts the writer: every byte goes through the grammar,
 * so a missing comma, a raw newline in a string or text after the closing
 * brace fails tc_parse instead of being skipped. Nesting deeper than 64
 * levels is refused rather than recursed into.
 */
#include "tests/support/trace_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the parser is in the text, and the first reason it failed (kept:
 * later failures are only consequences of the first). */
typedef struct {
    const char *start, *p;
    const char *error;
} tc_cursor_t;

static bool tc_fail(tc_cursor_t *c, const char *why)
{
    if (c->error == NULL)
        c->error = why;
    return false;
}

static void tc_space(tc_cursor_t *c)
{
    while (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')
        c->p++;
}

static bool tc_expect(tc_cursor_t *c, char ch)
{
    tc_space(c);
    if (*c->p != ch)
        return tc_fail(c, "unexpected character");
    c->p++;
    return true;
}

static int tc_hex(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* A string; its text (escapes decoded, \u above 0x7f as '?') goes to out
 * (cut to size) unless out is NULL. */
static bool tc_string(tc_cursor_t *c, char *out, size_t size)
{
    size_t len = 0;
    tc_space(c);
    if (*c->p != '"')
        return tc_fail(c, "expected a string");
    for (c->p++; *c->p != '"'; c->p++) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\0')
            return tc_fail(c, "unterminated string");
        if (ch < 0x20)
            return tc_fail(c, "raw control character in a string");
        if (ch == '\\') {
            c->p++;
            const char *simple = strchr("\"\\/bfnrt", *c->p);
            if (*c->p == 'u') {
                int code = 0;
                for (int i = 1; i <= 4; i++) {
                    if (tc_hex(c->p[i]) < 0)
                        return tc_fail(c, "bad \\u escape");
                    code = code * 16 + tc_hex(c->p[i]);
                }
                c->p += 4;
                ch = code < 0x80 ? (unsigned char)code : '?';
            } else if (*c->p != '\0' && simple != NULL) {
                ch = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            } else {
                return tc_fail(c, "bad escape");
            }
        }
        if (out != NULL && len + 1 < size)
            out[len++] = (char)ch;
    }
    c->p++;
    if (out != NULL && size > 0)
        out[len] = '\0';
    return true;
}

static bool tc_digits(tc_cursor_t *c)
{
    if (*c->p < '0' || *c->p > '9')
        return tc_fail(c, "expected a digit");
    while (*c->p >= '0' && *c->p <= '9')
        c->p++;
    return true;
}

static bool tc_number(tc_cursor_t *c, double *out)
{
    tc_space(c);
    const char *from = c->p;
    if (*c->p == '-')
        c->p++;
    if (*c->p == '0')
        c->p++;
    else if (!tc_digits(c))
        return false;
    if (*c->p == '.') {
        c->p++;
        if (!tc_digits(c))
            return false;
    }
    if (*c->p == 'e' || *c->p == 'E') {
        c->p++;
        if (*c->p == '+' || *c->p == '-')
            c->p++;
        if (!tc_digits(c))
            return false;
    }
    if (out != NULL)
        *out = strtod(from, NULL);
    return true;
}

static bool tc_value(tc_cursor_t *c, int depth);

/* Parses the value of one object member whose key has been read. */
typedef bool (*tc_member_fn)(tc_cursor_t *c, const char *key, void *ctx);

/* Parses one array element, `depth` deep. */
typedef bool (*tc_element_fn)(tc_cursor_t *c, int depth, void *ctx);

/* An object; calls member(c, key, ctx) for each member, which must parse
 * the member's value (tc_value when it has no use for it). With member
 * NULL, every value is parsed and dropped. */
static bool tc_object(tc_cursor_t *c, int depth, tc_member_fn member, void *ctx)
{
    if (depth > 64)
        return tc_fail(c, "nested too deep");
    if (!tc_expect(c, '{'))
        return false;
    tc_space(c);
    if (*c->p == '}') {
        c->p++;
        return true;
    }
    for (;;) {
        char key[64];
        if (!tc_string(c, key, sizeof key) || !tc_expect(c, ':'))
            return false;
        if (!(member ? member(c, key, ctx) : tc_value(c, depth + 1)))
            return false;
        tc_space(c);
        if (*c->p == '}') {
            c->p++;
            return true;
        }
        if (!tc_expect(c, ','))
            return false;
    }
}

/* An array; calls element(c, depth + 1, ctx) for each element, which must
 * parse it. */
static bool tc_array(tc_cursor_t *c, int depth, tc_element_fn element, void *ctx)
{
    if (depth > 64)
        return tc_fail(c, "nested too deep");
    if (!tc_expect(c, '['))
        return false;
    tc_space(c);
    if (*c->p == ']') {
        c->p++;
        return true;
    }
    for (;;) {
        if (!element(c, depth + 1, ctx))
            return false;
        tc_space(c);
        if (*c->p == ']') {
            c->p++;
            return true;
        }
        if (!tc_expect(c, ','))
            return false;
    }
}

/* An array element nobody has a use for. */
static bool tc_any_element(tc_cursor_t *c, int depth, void *ctx)
{
    (void)ctx;
    return tc_value(c, depth);
}

static bool tc_value(tc_cursor_t *c, int depth)
{
    tc_space(c);
    switch (*c->p) {
    case '{':
        return tc_object(c, depth + 1, NULL, NULL);
    case '[':
        return tc_array(c, depth, tc_any_element, NULL);
    case '"':
        return tc_string(c, NULL, 0);
    case 't':
    case 'f':
    case 'n': {
        const char *word = *c->p == 't' ? "true" : *c->p == 'f' ? "false" : "null";
        if (strncmp(c->p, word, strlen(word)) != 0)
            return tc_fail(c, "bad literal");
        c->p += strlen(word);
        return true;
    }
    default:
        return tc_number(c, NULL);
    }
}

static bool tc_args_member(tc_cursor_t *c, const char *key, void *ctx)
{
    tc_event_t *e = ctx;
    if (strcmp(key, "name") == 0)
        return tc_string(c, e->arg_name, sizeof e->arg_name);
    if (strcmp(key, "open") == 0) {
        tc_space(c);
        e->open = strncmp(c->p, "true", 4) == 0;
    }
    if (strcmp(key, "worker") == 0) {
        tc_space(c);
        if (*c->p == '"') {
            char several[16];
            if (!tc_string(c, several, sizeof several))
                return false;
            e->worker = strcmp(several, "several") == 0 ? -2 : -3;
            return true;
        }
        double number;
        if (!tc_number(c, &number))
            return false;
        e->worker = (long)number;
        return true;
    }
    return tc_value(c, 3);
}

static bool tc_event_member(tc_cursor_t *c, const char *key, void *ctx)
{
    tc_event_t *e = ctx;
    double      number;
    if (strcmp(key, "ph") == 0)
        return tc_string(c, e->ph, sizeof e->ph);
    if (strcmp(key, "name") == 0)
        return tc_string(c, e->name, sizeof e->name);
    if (strcmp(key, "cat") == 0)
        return tc_string(c, e->cat, sizeof e->cat);
    if (strcmp(key, "args") == 0)
        return tc_object(c, 3, tc_args_member, e);
    if (strcmp(key, "id") == 0) {
        if (!tc_number(c, &number))
            return false;
        e->id = (long)number;
        return true;
    }
    if (strcmp(key, "tid") == 0 || strcmp(key, "pid") == 0 || strcmp(key, "ts") == 0 ||
        strcmp(key, "dur") == 0) {
        if (!tc_number(c, &number))
            return false;
        if (key[0] == 't' && key[1] == 'i')
            e->tid = (long)number;
        else if (key[0] == 'p')
            e->pid = (long)number;
        else if (key[0] == 't')
            e->ts = number;
        else
            e->dur = number;
        return true;
    }
    return tc_value(c, 3);
}

/* One element of "traceEvents": an event object, appended to the trace. */
static bool tc_event_element(tc_cursor_t *c, int depth, void *ctx)
{
    tc_trace_t *t = ctx;
    if (t->count == t->cap) {
        size_t      cap = t->cap ? 2 * t->cap : 64;
        tc_event_t *grown = realloc(t->events, cap * sizeof *grown);
        if (grown == NULL)
            return tc_fail(c, "out of memory");
        t->events = grown;
        t->cap = cap;
    }
    tc_event_t *e = &t->events[t->count++];
    memset(e, 0, sizeof *e);
    e->tid = e->pid = e->id = e->worker = -1;
    e->ts = e->dur = -1;
    return tc_object(c, depth, tc_event_member, e);
}

static bool tc_top_member(tc_cursor_t *c, const char *key, void *ctx)
{
    tc_trace_t *t = ctx;
    if (strcmp(key, "traceEvents") != 0)
        return tc_value(c, 1);
    t->has_trace_events = true;
    return tc_array(c, 1, tc_event_element, t);
}

bool tc_parse(const char *text, tc_trace_t *t)
{
    memset(t, 0, sizeof *t);
    tc_cursor_t c = {text, text, NULL};
    bool        ok = tc_object(&c, 0, tc_top_member, t);
    tc_space(&c);
    if (ok && *c.p != '\0')
        ok = tc_fail(&c, "text after the JSON value");
    if (ok && !t->has_trace_events)
        ok = tc_fail(&c, "no traceEvents array");
    t->error = ok ? NULL : c.error;
    t->error_at = (size_t)(c.p - c.start);
    return ok;
}

void tc_free(tc_trace_t *t)
{
    free(t->events);
    t->events = NULL;
    t->count = t->cap = 0;
}

size_t tc_count(const tc_trace_t *t, const char *ph, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->events[i].ph, ph) == 0 &&
            (name == NULL || strcmp(t->events[i].name, name) == 0))
            n++;
    return n;
}

long tc_tid_of(const tc_trace_t *t, const char *track)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->events[i].ph, "M") == 0 && strcmp(t->events[i].name, "thread_name") == 0 &&
            strcmp(t->events[i].arg_name, track) == 0)
            return t->events[i].tid;
    return -1;
}

const char *tc_track_of(const tc_trace_t *t, long tid)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->events[i].ph, "M") == 0 && strcmp(t->events[i].name, "thread_name") == 0 &&
            t->events[i].tid == tid)
            return t->events[i].arg_name;
    return "";
}

const tc_event_t *tc_find(const tc_trace_t *t, const char *ph, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->events[i].ph, ph) == 0 && strcmp(t->events[i].name, name) == 0)
            return &t->events[i];
    return NULL;
}

char *tc_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char  *text = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (cap - len < 4096) {
            char *grown = realloc(text, cap = cap ? 2 * cap : 8192);
            if (grown == NULL) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = grown;
        }
        got = fread(text + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    text[len] = '\0';
    return text;
}

size_t tc_goroutine_lines(const char *report, const char *name)
{
    size_t count = 0;
    for (const char *line = report; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t      len = end ? (size_t)(end - line) : strlen(line);
        const char *g = strstr(line, "goroutine ");
        const char *hit = strstr(line, name);
        if (g && hit && g < line + len && hit < line + len)
            count++;
        line = end ? end + 1 : NULL;
    }
    return count;
}

size_t tc_longest_line(const char *text)
{
    size_t longest = 0;
    while (text != NULL && *text != '\0') {
        const char *end = strchr(text, '\n');
        size_t      len = end ? (size_t)(end - text) : strlen(text);
        longest = len > longest ? len : longest;
        text += len + (end ? 1 : 0);
    }
    return longest;
}

const char *tc_row(const char *text, const char *track)
{
    size_t n = strlen(track);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, track, n) == 0) {
            const char *p = line + n;
            while (*p == ' ')
                p++;
            if (*p == '|' && p > line + n)
                return line;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}

size_t tc_row_count(const char *text)
{
    size_t rows = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t      len = end ? (size_t)(end - line) : strlen(line);
        const char *bar = memchr(line, '|', len);
        if (bar != NULL && bar > line && bar[-1] == ' ' && len > 2 &&
            (line[len - 1] == '|' || line[len - 1] == '>') && bar < line + len - 1)
            rows++;
        line = end ? end + 1 : NULL;
    }
    return rows;
}

size_t tc_bar_count(const char *row, char ch)
{
    const char *bar = row ? strchr(row, '|') : NULL;
    size_t      n = 0;
    if (bar == NULL)
        return 0;
    const char *end = strchr(bar, '\n');
    end = end ? end - 1 : bar + strlen(bar) - 1;
    for (const char *p = bar + 1; p < end; p++)
        n += *p == ch;
    return n;
}

char tc_row_end(const char *row)
{
    const char *end = row ? strchr(row, '\n') : NULL;
    if (row == NULL)
        return '\0';
    return end ? end[-1] : row[strlen(row) - 1];
}

size_t tc_flows(const tc_trace_t *t, tc_flow_t **out)
{
    size_t starts = tc_count(t, "s", NULL), ends = tc_count(t, "f", NULL), n = 0;
    *out = NULL;
    if (starts != ends)
        return (size_t)-1;
    tc_flow_t *flows = calloc(starts ? starts : 1, sizeof *flows);
    if (flows == NULL)
        return (size_t)-1;
    for (size_t i = 0; i < t->count; i++) {
        const tc_event_t *s = &t->events[i];
        if (strcmp(s->ph, "s") != 0)
            continue;
        const tc_event_t *f = NULL;
        for (size_t k = 0; k < t->count; k++) {
            const tc_event_t *e = &t->events[k];
            if (e->id == s->id &&
                (strcmp(e->ph, "f") == 0 || (k != i && strcmp(e->ph, "s") == 0))) {
                if (f != NULL || strcmp(e->ph, "s") == 0) { /* two ends, or two starts */
                    free(flows);
                    return (size_t)-1;
                }
                f = e;
            }
        }
        if (f == NULL) {
            free(flows);
            return (size_t)-1;
        }
        flows[n] = (tc_flow_t){.from = s->tid, .to = f->tid, .ts_send = s->ts, .ts_recv = f->ts};
        snprintf(flows[n].name, sizeof flows[n].name, "%s", s->name);
        n++;
    }
    *out = flows;
    return n;
}

const tc_event_t *tc_span_at(const tc_trace_t *t, long tid, double ts)
{
    const tc_event_t *best = NULL;
    for (size_t i = 0; i < t->count; i++) {
        const tc_event_t *e = &t->events[i];
        if (e->tid != tid || strcmp(e->ph, "X") != 0 ||
            (strcmp(e->cat, "busy") != 0 && strcmp(e->cat, "wait") != 0))
            continue;
        /* The file has nanoseconds, as microseconds with three decimals: a
         * thousandth of slack absorbs the rounding of ts + dur. */
        if (e->ts - 0.001 <= ts && ts <= e->ts + e->dur + 0.001 &&
            (best == NULL || e->dur < best->dur))
            best = e;
    }
    return best;
}

size_t tc_count_on(const tc_trace_t *t, const char *track, const char *ph, const char *name,
                   bool prefix)
{
    long   tid = tc_tid_of(t, track);
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++) {
        const tc_event_t *e = &t->events[i];
        n += e->tid == tid && strcmp(e->ph, ph) == 0 &&
             (prefix ? strncmp(e->name, name, strlen(name)) == 0 : strcmp(e->name, name) == 0);
    }
    return n;
}

char *tc_capture(int (*write_to)(FILE *out))
{
    char  *text = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    int err = write_to(out);
    fclose(out);
    if (err != 0) {
        free(text);
        return NULL;
    }
    return text;
}
