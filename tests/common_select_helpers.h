/*
 * common_select_helpers.h - what the two select test files share
 * (tests/test_common_select*.c): selector_t, a goroutine running one
 * chan_select, started with start_select (optionally returning only once it
 * sleeps in the select) and joined with finish_select.
 *
 * Header-only (static), like the lessons' test helpers; SCALED comes from
 * common_chan_helpers.h, as a select is a channel operation.
 */
#ifndef TESTS_COMMON_SELECT_HELPERS_H
#define TESTS_COMMON_SELECT_HELPERS_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/go.h"
#include "common/sync.h"
#include "tests/common_chan_helpers.h"
#include "tests/support/support.h"

/* A goroutine running one chan_select over `cases`. */
typedef struct {
    chan_case_t *cases;
    size_t       n;
    int          result;
    atomic_int   tid;
    waitgroup_t  wg;
} selector_t;

static void do_select(void *arg)
{
    selector_t *s = arg;
    atomic_store(&s->tid, (int)gettid());
    s->result = chan_select(s->cases, s->n);
    waitgroup_done(&s->wg);
}

/* Starts a selector; with `blocked`, returns once it waits in the select. */
static void start_select(selector_t *s, chan_case_t *cases, size_t n, int blocked)
{
    s->cases = cases, s->n = n, s->result = -2;
    atomic_store(&s->tid, 0);
    waitgroup_init(&s->wg);
    waitgroup_add(&s->wg, 1);
    cr_assert_eq(go(do_select, s), 0);
    if (blocked)
        support_wait_blocked(&s->tid);
}

static int finish_select(selector_t *s)
{
    waitgroup_wait(&s->wg);
    waitgroup_destroy(&s->wg);
    return s->result;
}

#endif
