/*
 * test_common_trace_flow.c - the hand-offs the tracer records (trace_flow.h)
 * and the two outputs that draw them: the Chrome trace JSON's flow events,
 * read back with tests/support/trace_check.h, and the HTML page
 * (trace_write_html), checked for what it holds and for being
 * self-contained and escaped.
 *
 * Each scenario is built so the right answer is known without the tracer:
 * who sends which value, in which order, and who must receive it.
 *
 * Every test leaves tracing off and empty (trace_reset) so that, in the TSan
 * build where all tests share one process, none sees another's events.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/go.h"
#include "common/goroutine.h"
#include "common/sync.h"
#include "common/timer.h"
#include "common/trace.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

/* What an output function writes, as text. */
static char *output_text(int (*write_to)(FILE *))
{
    char *text = tc_capture(write_to);
    cr_assert_not_null(text, "the output failed");
    return text;
}

/* The JSON parsed, and its flows, in send order. */
typedef struct {
    char      *text;
    tc_trace_t trace;
    tc_flow_t *flows;
    size_t     count;
} flows_t;

static void read_flows(flows_t *f)
{
    f->text = output_text(trace_write_json_to);
    cr_assert(tc_parse(f->text, &f->trace), "invalid JSON (%s at byte %zu)", f->trace.error,
              f->trace.error_at);
    f->count = tc_flows(&f->trace, &f->flows);
    cr_assert_neq(f->count, (size_t)-1, "flow starts and ends do not pair up");
}

static void free_flows(flows_t *f)
{
    free(f->flows);
    tc_free(&f->trace);
    free(f->text);
}

/* The flow's ends are on these tracks, in time order. */
static void assert_flow(const flows_t *f, size_t i, const char *from, const char *to)
{
    cr_assert_lt(i, f->count);
    const tc_flow_t *flow = &f->flows[i];
    cr_assert_str_eq(tc_track_of(&f->trace, flow->from), from, "flow %zu", i);
    cr_assert_str_eq(tc_track_of(&f->trace, flow->to), to, "flow %zu", i);
    cr_assert_leq(flow->ts_send, flow->ts_recv, "flow %zu goes back in time", i);
}

/* ---------------------------------------------------------------- senders */

struct sender {
    chan_t     *ch;
    int         first, count;
    atomic_int  tid; /* for support_wait_blocked */
    waitgroup_t done;
};

/* Sends first .. first + count - 1, each inside a span "send N". */
static void send_values(void *arg)
{
    struct sender *s = arg;
    atomic_store(&s->tid, (int)gettid());
    for (int v = s->first; v < s->first + s->count; v++) {
        trace_wait("send %d", v);
        cr_assert_eq(chan_send(s->ch, &v), 0);
        trace_end();
    }
    waitgroup_done(&s->done);
}

static void start_sender(struct sender *s, const char *name, chan_t *ch, int first, int count)
{
    *s = (struct sender){.ch = ch, .first = first, .count = count};
    waitgroup_init(&s->done);
    waitgroup_add(&s->done, 1);
    cr_assert_eq(go_named(name, send_values, s), 0);
}

static void join_sender(struct sender *s)
{
    waitgroup_wait(&s->done);
    waitgroup_destroy(&s->done);
}

/* Receives value `first` in a goroutine, inside a span "recv". */
static void receive_one(void *arg)
{
    struct sender *s = arg;
    atomic_store(&s->tid, (int)gettid());
    int got = -1;
    trace_wait("recv");
    cr_assert_eq(chan_recv(s->ch, &got), 0);
    trace_end();
    cr_assert_eq(got, s->first);
    waitgroup_done(&s->done);
}

/* Receives count values in order first.., each inside a span "recv". */
static void receive_in_order(chan_t *ch, int first, int count)
{
    for (int v = first; v < first + count; v++) {
        int got = -1;
        trace_wait("recv");
        cr_assert_eq(chan_recv(ch, &got), 0);
        trace_end();
        cr_assert_eq(got, v);
    }
}

/* ---------------------------------------------------------------- tests */

Test(trace_flow, unbuffered_every_value_is_one_arrow_from_sender_to_receiver, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    chan_t       *ch = chan_make(sizeof(int), 0);
    struct sender s;
    start_sender(&s, "sender", ch, 0, 10);
    receive_in_order(ch, 0, 10);
    join_sender(&s);

    flows_t f;
    read_flows(&f);
    cr_assert_eq(f.count, 10, "one arrow per value, got %zu", f.count);
    long sender = tc_tid_of(&f.trace, "sender");
    for (size_t i = 0; i < f.count; i++) {
        assert_flow(&f, i, "sender", "main");
        /* Arrow i leaves from inside the span of the send of value i. */
        char name[32];
        snprintf(name, sizeof name, "send %zu", i);
        const tc_event_t *span = tc_span_at(&f.trace, sender, f.flows[i].ts_send);
        cr_assert_not_null(span, "arrow %zu starts outside any span", i);
        cr_assert_str_eq(span->name, name, "arrow %zu", i);
        cr_assert_str_eq(f.flows[i].name, f.flows[0].name, "one channel");
        if (i > 0)
            cr_assert_geq(f.flows[i].ts_recv, f.flows[i - 1].ts_recv, "FIFO");
    }
    free_flows(&f);
    trace_reset();
    chan_release(ch);
    support_end();
}

Test(trace_flow, buffered_the_arrow_goes_from_the_send_to_the_receive_that_took_the_value,
     .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    chan_t *ch = chan_make(sizeof(int), 3);
    /* A fills the ring and is done before B starts; B blocks on the full
     * ring, so main's first receive moves B's value in for it (refill):
     * recorded by main, on B's behalf. */
    struct sender a, b, r;
    start_sender(&a, "A", ch, 0, 3);
    join_sender(&a);
    start_sender(&b, "B", ch, 3, 2);
    support_wait_blocked(&b.tid);
    receive_in_order(ch, 0, 5);
    join_sender(&b);
    /* R waits on the empty ring, and main hands value 5 straight to it: a
     * direct hand-off, which takes no ring position... */
    r = (struct sender){.ch = ch, .first = 5};
    waitgroup_init(&r.done);
    waitgroup_add(&r.done, 1);
    cr_assert_eq(go_named("R", receive_one, &r), 0);
    support_wait_blocked(&r.tid);
    int five = 5;
    trace_wait("send 5");
    cr_assert_eq(chan_send(ch, &five), 0);
    trace_end();
    join_sender(&r);
    /* ...so the next lap through the ring still pairs each value with its
     * own receive. */
    start_sender(&a, "A2", ch, 6, 3);
    join_sender(&a);
    receive_in_order(ch, 6, 3);

    flows_t f;
    read_flows(&f);
    const char *from[] = {"A", "A", "A", "B", "B", "main", "A2", "A2", "A2"};
    const char *to[] = {"main", "main", "main", "main", "main", "R", "main", "main", "main"};
    cr_assert_eq(f.count, 9, "one arrow per value, got %zu", f.count);
    for (size_t i = 0; i < 9; i++) {
        assert_flow(&f, i, from[i], to[i]);
        char name[32];
        snprintf(name, sizeof name, "send %zu", i);
        const tc_event_t *span =
            tc_span_at(&f.trace, tc_tid_of(&f.trace, from[i]), f.flows[i].ts_send);
        cr_assert(span != NULL && strcmp(span->name, name) == 0, "arrow %zu: not from '%s'", i,
                  name);
        const tc_event_t *recv =
            tc_span_at(&f.trace, tc_tid_of(&f.trace, to[i]), f.flows[i].ts_recv);
        cr_assert(recv != NULL && strcmp(recv->name, "recv") == 0,
                  "arrow %zu ends outside a receive", i);
    }
    /* B's first value waited while the ring was full: its arrow starts
     * before main took A's first value, and ends after A's last. */
    cr_assert_lt(f.flows[3].ts_send, f.flows[0].ts_recv);
    for (size_t i = 1; i < 9; i++)
        cr_assert_gt(f.flows[i].ts_recv, f.flows[i - 1].ts_recv);
    free_flows(&f);
    trace_reset();
    chan_release(ch);
    support_end();
}

struct selector {
    chan_t     *a, *b;
    int         got[4];
    waitgroup_t done;
};

/* Receives four values through a select over two channels. */
static void select_four(void *arg)
{
    struct selector *s = arg;
    for (int i = 0; i < 4; i++) {
        int         v = -1;
        chan_case_t cases[2] = {chan_case_recv(s->a, &v), chan_case_recv(s->b, &v)};
        trace_wait("select");
        int chosen = chan_select(cases, 2);
        trace_end();
        cr_assert(chosen == 0 || chosen == 1);
        s->got[i] = v;
    }
    waitgroup_done(&s->done);
}

Test(trace_flow, select_cases_and_close_and_cancel_are_recorded, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    struct selector s = {.a = chan_make(sizeof(int), 0), .b = chan_make(sizeof(int), 1)};
    waitgroup_init(&s.done);
    waitgroup_add(&s.done, 1);
    cr_assert_eq(go_named("selector", select_four, &s), 0);
    for (int v = 0; v < 4; v++) {
        trace_wait("send %d", v);
        cr_assert_eq(chan_send(v % 2 ? s.b : s.a, &v), 0);
        trace_end();
    }
    waitgroup_wait(&s.done);
    waitgroup_destroy(&s.done);
    cr_assert_eq(chan_close(s.a), 0);
    ctx_t *ctx = ctx_with_cancel(NULL);
    ctx_cancel(ctx);
    ctx_cancel(ctx); /* a second cancel changes nothing: one mark */

    flows_t f;
    read_flows(&f);
    cr_assert_eq(f.count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_flow(&f, i, "main", "selector");
    cr_assert_eq(tc_count(&f.trace, "i", NULL), 2, "one close, one cancel");
    char close_a[32];
    snprintf(close_a, sizeof close_a, "close %s", f.flows[0].name + strlen("chan "));
    cr_assert_eq(tc_count(&f.trace, "i", close_a), 1, "no '%s'", close_a);
    free_flows(&f);
    char *page = output_text(trace_write_html_to);
    cr_assert_not_null(strstr(page, "\"cancel\""), "the page marks the cancel");
    cr_assert_not_null(strstr(page, "\"close\""), "the page marks the close");
    free(page);
    trace_reset();
    ctx_release(ctx);
    chan_release(s.a);
    chan_release(s.b);
    support_end();
}

Test(trace_flow, off_records_no_hand_off, .timeout = 20)
{
    support_begin();
    trace_reset();
    chan_t       *ch = chan_make(sizeof(int), 2);
    struct sender s;
    start_sender(&s, "sender", ch, 0, 6);
    receive_in_order(ch, 0, 6);
    join_sender(&s);
    chan_close(ch);
    trace_stats_t stats = trace_stats();
    cr_assert_eq(stats.events, 0);
    cr_assert_eq(stats.threads, 0);
    chan_release(ch);
    support_end();
}

/* ---------------------------------------------------------------- the page */

/* How many times needle occurs in text. */
static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

#define EVIL "<script>alert(1)</script> & \"me\" http://x"

Test(trace_flow, page_is_self_contained_and_escapes_names, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    chan_t       *ch = chan_make(sizeof(int), 0);
    struct sender s;
    start_sender(&s, EVIL, ch, 0, 3);
    receive_in_order(ch, 0, 3);
    join_sender(&s);
    char *page = output_text(trace_write_html_to);

    /* Nothing from outside: no URL, no external script, style or image. */
    cr_assert_null(strstr(page, "http:"));
    cr_assert_null(strstr(page, "https:"));
    cr_assert_null(strstr(page, "src="));
    cr_assert_null(strstr(page, "href="));
    cr_assert_null(strstr(page, "@import"));
    cr_assert_eq(occurrences(page, "url("), occurrences(page, "url(#"), "only local url(#id)");
    /* The name is in the data, escaped so it cannot close the script or
     * open a tag; the only script elements are the page's own two. */
    cr_assert_not_null(strstr(page, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e "
                                    "\\u0026 \\\"me\\\" http\\u003a//x"),
                       "the name, escaped, is not in the data");
    cr_assert_null(strstr(page, "<script>alert"));
    cr_assert_eq(occurrences(page, "<script"), 2);
    cr_assert_eq(occurrences(page, "</script>"), 2);
    /* The three hand-offs are in the data, from lane 1 (the sender) to 0. */
    cr_assert_eq(occurrences(page, "\n[1,0,"), 3, "three arrows from the sender to main:\n%s",
                 strstr(page, "\"arrows\""));
    cr_assert_not_null(strstr(page, "\"page\":0}"), "nothing left out");
    free(page);
    trace_reset();
    chan_release(ch);
    support_end();
}

struct waiter_demo {
    chan_t                *ch;
    ctx_t                 *ctx;
    _Atomic(goroutine_t *) record; /* for support_wait_asleep */
    waitgroup_t            done;
};

/* Waits four ways, each in its own waiting span: a receive that blocks, a
 * select on a context that blocks, a receive that does not, and a sleep. */
static void wait_four_ways(void *arg)
{
    struct waiter_demo *w = arg;
    atomic_store(&w->record, go_self());
    int v;
    trace_wait("blocked receive");
    cr_assert_eq(chan_recv(w->ch, &v), 0);
    trace_end();
    chan_case_t cases[2] = {chan_case_recv(w->ch, &v), chan_case_recv(ctx_done(w->ctx), NULL)};
    trace_wait("until canceled");
    cr_assert_eq(chan_select(cases, 2), 1);
    trace_end();
    cr_assert_eq(chan_send(w->ch, &v), 0); /* the buffer has room: never blocks */
    trace_wait("ready receive");
    cr_assert_eq(chan_recv(w->ch, &v), 0);
    trace_end();
    trace_wait("nap");
    time_sleep(TIME_MILLISECOND);
    trace_end();
    waitgroup_done(&w->done);
}

Test(trace_flow, page_colours_each_wait_by_what_it_waited_on, .timeout = 20)
{
    support_begin();
    trace_reset();
    trace_enable();
    struct waiter_demo w = {.ch = chan_make(sizeof(int), 1), .ctx = ctx_with_cancel(NULL)};
    waitgroup_init(&w.done);
    waitgroup_add(&w.done, 1);
    cr_assert_eq(go_named("waiter", wait_four_ways, &w), 0);
    goroutine_t *waiter;
    while ((waiter = atomic_load(&w.record)) == NULL)
        go_yield();
    support_wait_asleep(waiter); /* in the receive */
    int one = 1;
    cr_assert_eq(chan_send(w.ch, &one), 0);
    /* Woken (the send has unparked it), it may resume on another worker
     * under M:N: ask the goroutine, not the thread it started on. */
    support_wait_asleep(waiter); /* in the select */
    ctx_cancel(w.ctx);
    waitgroup_wait(&w.done);
    waitgroup_destroy(&w.done);

    /* A span is [start, end, kind, reason, depth, open, name, worker]: waiting is
     * kind 1; reasons 1 channel receive, 8 context, 0 none, 7 sleep. */
    char *page = output_text(trace_write_html_to);
    cr_assert_not_null(strstr(page, ",1,1,0,0,\"blocked receive\","));
    cr_assert_not_null(strstr(page, ",1,8,0,0,\"until canceled\","));
    cr_assert_not_null(strstr(page, ",1,0,0,0,\"ready receive\","), "it never blocked");
    cr_assert_not_null(strstr(page, ",1,7,0,0,\"nap\","), "the nap is not a sleep");
    free(page);
    trace_reset();
    ctx_release(w.ctx);
    chan_release(w.ch);
    support_end();
}

/* A sender and a receiver that keep values moving through ch until the
 * sender has sent `count`; the receiver returns at the close. */
struct churn {
    chan_t     *ch;
    int         count;
    waitgroup_t done;
};

static void churn_send(void *arg)
{
    struct churn *c = arg;
    for (int v = 0; v < c->count; v++) {
        trace_wait("send");
        cr_assert_eq(chan_send(c->ch, &v), 0);
        trace_end();
    }
    chan_close(c->ch);
    waitgroup_done(&c->done);
}

static void churn_recv(void *arg)
{
    struct churn *c = arg;
    int           v, expected = 0;
    while (chan_recv(c->ch, &v) == 0)
        cr_assert_eq(v, expected++, "FIFO");
    cr_assert_eq(expected, c->count);
    waitgroup_done(&c->done);
}

static int write_nowhere(int (*write_to)(FILE *))
{
    FILE *out = fopen("/dev/null", "w");
    cr_assert_not_null(out);
    int err = write_to(out);
    fclose(out);
    return err;
}

Test(trace_flow, outputs_and_reset_race_with_hand_offs, .timeout = 60)
{
    support_begin();
    trace_reset();
    trace_enable();
    struct churn c[2] = {{.ch = chan_make(sizeof(int), 0), .count = 3000},
                         {.ch = chan_make(sizeof(int), 4), .count = 3000}};
    for (int i = 0; i < 2; i++) {
        waitgroup_init(&c[i].done);
        waitgroup_add(&c[i].done, 2);
        cr_assert_eq(go_named("churn send", churn_send, &c[i]), 0);
        cr_assert_eq(go_named("churn recv", churn_recv, &c[i]), 0);
    }
    /* While values move: read everything out, reset, start again. */
    for (int round = 0; round < 20; round++) {
        cr_assert_eq(write_nowhere(trace_write_html_to), 0);
        cr_assert_eq(write_nowhere(trace_write_json_to), 0);
        if (round % 4 == 3) {
            trace_reset();
            trace_enable();
        }
    }
    for (int i = 0; i < 2; i++) {
        waitgroup_wait(&c[i].done);
        waitgroup_destroy(&c[i].done);
        chan_release(c[i].ch);
    }
    trace_reset();
    support_end();
}

static void many_spans(void *arg)
{
    (void)arg;
    for (int i = 0; i < TRACE_HTML_MAX_ITEMS + 500; i++) {
        trace_begin("span %d", i);
        trace_end();
    }
}

Test(trace_flow, page_says_how_many_events_it_left_out, .timeout = 30)
{
    support_begin();
    trace_reset();
    trace_enable();
    many_spans(NULL);
    char *page = output_text(trace_write_html_to);
    cr_assert_not_null(strstr(page, "\"page\":500}"), "500 of %d spans left out",
                       TRACE_HTML_MAX_ITEMS + 500);
    cr_assert_not_null(strstr(page, "\"span 9999\""), "the earliest are kept");
    cr_assert_null(strstr(page, "\"span 10000\""), "the latest are left out");
    free(page);
    trace_reset();
    support_end();
}

Test(trace_flow, write_html_to_a_file_and_report_a_bad_path, .timeout = 10)
{
    support_begin();
    trace_reset();
    trace_enable();
    trace_begin("one");
    trace_end();
    char path[] = "/tmp/trace_flow_XXXXXX";
    int  fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(trace_write_html(path), 0);
    char *page = tc_read_file(path);
    cr_assert_not_null(page);
    cr_assert(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    cr_assert_not_null(strstr(page, "\"one\""));
    free(page);
    unlink(path);
    cr_assert_eq(trace_write_html("/nonexistent-dir/page.html"), ENOENT);
    trace_reset();
    support_end();
}
