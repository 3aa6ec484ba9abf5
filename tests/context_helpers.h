/*
 * context_helpers.h - what the lesson 04 module tests share
 * (tests/test_04_context*.c): the time units they use, and fires_within,
 * the bounded wait on a channel that stands in for any sleep.
 *
 * Header-only (static inline), beside the other lessons' helpers.
 */
#ifndef TESTS_CONTEXT_HELPERS_H
#define TESTS_CONTEXT_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>

#include "common/chan.h"
#include "common/timer.h"

#define MS TIME_MILLISECOND
#define LONG_WORK (10 * TIME_SECOND) /* work that must never get to finish in a test */

/* True if c delivers (into out, which may be NULL) or is closed within d. */
static inline bool fires_within(chan_t *c, void *out, duration_t d)
{
    chan_t *timer = time_after(d);
    cr_assert_not_null(timer, "time_after failed");
    chan_case_t cases[2] = {chan_case_recv(c, out), chan_case_recv(timer, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(timer);
    return chosen == 0;
}

#endif
