/*
 * test_common_context.c - cancellation trees (common/context.h), one thread
 * at a time: background and NULL arguments, cancel and the done channel,
 * propagation down deep chains and wide trees (and never up or sideways),
 * reference counting, deadlines (inherited, past, firing, beaten by a
 * cancel) and values. The cross-thread races, the cancel storm and
 * allocation failure are in test_common_context_races.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>

#include "common/alloc.h"
#include "common/context.h"
#include "common/timer.h"
#include "tests/common_context_helpers.h"
#include "tests/support/support.h"

#define MS TIME_MILLISECOND

static void wait_done_within(ctx_t *ctx, duration_t limit)
{
    chan_t     *bound = time_after(limit);
    chan_case_t cases[2] = {chan_case_recv(ctx_done(ctx), NULL), chan_case_recv(bound, NULL)};
    int         chosen = chan_select(cases, 2);
    chan_release(bound);
    cr_assert_eq(chosen, 0, "the context was not done within the bound");
}

Test(context, background, .timeout = 10)
{
    support_begin();
    ctx_t *bg = ctx_background();
    cr_assert_not_null(bg);
    cr_assert_eq(ctx_background(), bg);
    cr_assert_null(ctx_done(bg));
    cr_assert_eq(ctx_err(bg), 0);
    int64_t deadline = 42;
    cr_assert_not(ctx_deadline(bg, &deadline));
    cr_assert_eq(deadline, 42, "untouched without a deadline");
    int key;
    cr_assert_null(ctx_value(bg, &key));
    cr_assert_eq(ctx_retain(bg), bg);
    ctx_cancel(bg);
    ctx_release(bg);
    ctx_release(bg);
    cr_assert_eq(ctx_err(bg), 0);
    support_end();
}

Test(context, null_arguments, .timeout = 10)
{
    support_begin();
    int key;
    ctx_cancel(NULL);
    ctx_release(NULL);
    cr_assert_null(ctx_retain(NULL));
    cr_assert_null(ctx_done(NULL));
    cr_assert_eq(ctx_err(NULL), 0);
    cr_assert_not(ctx_deadline(NULL, NULL));
    cr_assert_null(ctx_value(NULL, &key));
    errno = 0;
    cr_assert_null(ctx_with_value(NULL, NULL, &key), "a NULL key is refused");
    cr_assert_eq(errno, EINVAL);

    ctx_t *c = ctx_with_cancel(NULL); /* NULL parent: background */
    cr_assert_not_null(c);
    cr_assert_not(ctx_deadline(c, NULL));
    ctx_t *t = ctx_with_timeout(NULL, HOUR);
    cr_assert(ctx_deadline(t, NULL));
    ctx_t *v = ctx_with_value(NULL, &key, &key);
    cr_assert_null(ctx_done(v), "a value child of background can never be done");
    cr_assert_eq(ctx_value(v, &key), &key);
    ctx_release(v);
    ctx_release(t);
    ctx_release(c);
    support_end();
}

Test(context, cancel_is_idempotent_and_done_is_closed, .timeout = 10)
{
    support_begin();
    ctx_t *c = ctx_with_cancel(NULL);
    cr_assert_not_null(c);
    cr_assert_not_null(ctx_done(c));
    cr_assert_eq(ctx_err(c), 0);
    cr_assert_eq(chan_try_recv(ctx_done(c), NULL), EAGAIN);
    ctx_cancel(c);
    cr_assert_eq(ctx_err(c), ECANCELED);
    cr_assert(is_done(c));
    ctx_cancel(c);
    cr_assert_eq(ctx_err(c), ECANCELED);
    cr_assert_eq(chan_recv(ctx_done(c), NULL), EPIPE, "a closed done is a broadcast");
    ctx_release(c);
    support_end();
}

Test(context, a_retained_done_channel_outlives_its_context, .timeout = 10)
{
    support_begin();
    /* The done channel lives in the context's own block: a reference on
     * the channel must keep that block alive, and the last one free it. */
    ctx_t  *c = ctx_with_cancel(NULL);
    chan_t *done = chan_retain(ctx_done(c));
    cr_assert_eq(chan_try_recv(done, NULL), EAGAIN);
    ctx_cancel(c);
    ctx_release(c);
    cr_assert_eq(chan_recv(done, NULL), EPIPE, "still closed, still there");
    cr_assert_eq(chan_close(done), EPIPE);
    chan_release(done); /* frees the context's block: support_end checks */

    c = ctx_with_cancel(NULL); /* and released before its context */
    chan_release(chan_retain(ctx_done(c)));
    ctx_cancel(c);
    cr_assert_eq(chan_recv(ctx_done(c), NULL), EPIPE);
    ctx_release(c);
    support_end();
}

Test(context, cancel_reaches_a_deep_chain, .timeout = 10)
{
    support_begin();
    /* cancel holds every lock down the chain at once, as Go's does. */
    enum { DEPTH = 2000 };
    static ctx_t *chain[DEPTH];
    int           key;
    chain[0] = ctx_with_cancel(NULL);
    for (int i = 1; i < DEPTH; i++) { /* value links in between, skipped by attachment */
        chain[i] =
            i % 3 == 0 ? ctx_with_value(chain[i - 1], &key, NULL) : ctx_with_cancel(chain[i - 1]);
        cr_assert_not_null(chain[i]);
    }
    for (int i = 0; i < DEPTH; i++)
        cr_assert_eq(ctx_err(chain[i]), 0);
    ctx_cancel(chain[0]);
    for (int i = 0; i < DEPTH; i++) { /* synchronously: no waiting */
        cr_assert_eq(ctx_err(chain[i]), ECANCELED, "depth %d not canceled", i);
        cr_assert(is_done(chain[i]));
    }
    for (int i = 0; i < DEPTH; i++) /* root first: children keep it alive */
        ctx_release(chain[i]);
    support_end();
}

Test(context, cancel_reaches_a_wide_tree, .timeout = 10)
{
    support_begin();
    enum { WIDTH = 1000 };
    static ctx_t *kids[WIDTH], *grandkids[WIDTH];
    ctx_t        *root = ctx_with_cancel(NULL);
    for (int i = 0; i < WIDTH; i++) {
        kids[i] = ctx_with_cancel(root);
        grandkids[i] = ctx_with_timeout(kids[i], HOUR);
        cr_assert_not_null(grandkids[i]);
    }
    ctx_cancel(root);
    for (int i = 0; i < WIDTH; i++) {
        cr_assert_eq(ctx_err(kids[i]), ECANCELED);
        cr_assert_eq(ctx_err(grandkids[i]), ECANCELED);
        cr_assert(is_done(grandkids[i]));
    }
    ctx_release(root);
    for (int i = WIDTH - 1; i >= 0; i--) {
        ctx_release(kids[i]);
        ctx_release(grandkids[i]);
    }
    support_end();
}

Test(context, child_cancel_touches_neither_parent_nor_siblings, .timeout = 10)
{
    support_begin();
    ctx_t *parent = ctx_with_cancel(NULL);
    ctx_t *a = ctx_with_cancel(parent);
    ctx_t *b = ctx_with_cancel(parent);
    ctx_t *a_child = ctx_with_cancel(a);
    ctx_cancel(a);
    cr_assert_eq(ctx_err(a), ECANCELED);
    cr_assert_eq(ctx_err(a_child), ECANCELED);
    cr_assert_eq(ctx_err(parent), 0);
    cr_assert_eq(ctx_err(b), 0);
    cr_assert_not(is_done(parent));
    cr_assert_not(is_done(b));
    ctx_cancel(parent);
    cr_assert_eq(ctx_err(b), ECANCELED);
    cr_assert_eq(ctx_err(a), ECANCELED, "the first reason stays");
    ctx_release(a_child);
    ctx_release(a);
    ctx_release(b);
    ctx_release(parent);
    support_end();
}

Test(context, released_children_leave_the_parent, .timeout = 10)
{
    support_begin();
    ctx_t  *parent = ctx_with_cancel(NULL);
    int64_t with_parent_only = alloc_live();
    for (int i = 0; i < 100; i++) {
        ctx_t *child = ctx_with_cancel(parent);
        if (i % 2)
            ctx_cancel(child);
        ctx_release(child); /* canceled or not, it leaves the parent's list */
    }
    cr_assert_eq(alloc_live(), with_parent_only, "the parent kept released children");
    ctx_cancel(parent); /* walks the list: a freed child there would be a use after free */
    ctx_release(parent);
    support_end();
}

Test(context, parent_released_before_child, .timeout = 10)
{
    support_begin();
    int    key, value;
    ctx_t *parent = ctx_with_value(NULL, &key, &value);
    ctx_t *mid = ctx_with_cancel(parent);
    ctx_t *child = ctx_with_cancel(mid);
    ctx_release(parent);
    ctx_release(mid);
    cr_assert_eq(ctx_value(child, &key), &value, "the child keeps its ancestors alive");
    cr_assert_eq(ctx_err(child), 0);
    ctx_cancel(child);
    cr_assert_eq(ctx_err(child), ECANCELED);
    ctx_release(child);
    support_end();
}

Test(context, deadline_inherits_the_earlier_one, .timeout = 10)
{
    support_begin();
    size_t  pending = time_pending_timers();
    int64_t now = time_now(), got = 0;
    ctx_t  *parent = ctx_with_deadline(NULL, now + HOUR);
    int     key;
    ctx_t  *value = ctx_with_value(parent, &key, NULL);
    cr_assert(ctx_deadline(value, &got));
    cr_assert_eq(got, now + HOUR, "a value context reports its parent's deadline");
    ctx_t *later = ctx_with_deadline(value, now + 2 * HOUR);
    cr_assert(ctx_deadline(later, &got));
    cr_assert_eq(got, now + HOUR, "the parent's earlier deadline wins");
    ctx_t *earlier = ctx_with_deadline(value, now + HOUR / 2);
    cr_assert(ctx_deadline(earlier, &got));
    cr_assert_eq(got, now + HOUR / 2);
    ctx_t *plain = ctx_with_cancel(earlier);
    cr_assert(ctx_deadline(plain, &got));
    cr_assert_eq(got, now + HOUR / 2);
    cr_assert_eq(time_pending_timers(), pending + 2, "`later` needs no timer of its own");
    ctx_cancel(earlier);
    cr_assert_eq(time_pending_timers(), pending + 1, "cancel gives the timer back");
    ctx_release(plain);
    ctx_release(earlier);
    ctx_release(later);
    ctx_release(value);
    ctx_release(parent);
    cr_assert_eq(time_pending_timers(), pending);
    support_end();
}

Test(context, past_deadline_is_done_before_return, .timeout = 10)
{
    support_begin();
    size_t pending = time_pending_timers();
    ctx_t *past = ctx_with_deadline(NULL, time_now() - 1);
    cr_assert_not_null(past);
    cr_assert_eq(ctx_err(past), ETIMEDOUT);
    cr_assert(is_done(past));
    ctx_t *zero = ctx_with_timeout(NULL, 0);
    cr_assert_eq(ctx_err(zero), ETIMEDOUT);
    ctx_t *negative = ctx_with_timeout(NULL, -HOUR);
    cr_assert_eq(ctx_err(negative), ETIMEDOUT);
    ctx_t *child = ctx_with_cancel(past);
    cr_assert_eq(ctx_err(child), ETIMEDOUT, "a child of a done context is born done");
    cr_assert_eq(time_pending_timers(), pending, "no timer for a deadline already past");
    ctx_release(child);
    ctx_release(negative);
    ctx_release(zero);
    ctx_release(past);
    support_end();
}

Test(context, timeout_fires_with_etimedout, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    ctx_t  *c = ctx_with_timeout(NULL, 10 * MS);
    cr_assert(ctx_err(c) == 0 || time_now() - start >= 10 * MS, "done before its deadline");
    wait_done_within(c, 5 * TIME_SECOND);
    int64_t took = time_now() - start;
    cr_assert_geq(took, 10 * MS, "done before its deadline");
    cr_assert_eq(ctx_err(c), ETIMEDOUT);
    ctx_cancel(c);
    cr_assert_eq(ctx_err(c), ETIMEDOUT, "the first reason wins");
    ctx_release(c);
    support_end();
}

Test(context, descendants_of_a_timed_out_parent_say_etimedout, .timeout = 10)
{
    support_begin();
    int    key;
    ctx_t *parent = ctx_with_timeout(NULL, 5 * MS);
    ctx_t *child = ctx_with_cancel(parent);
    ctx_t *value = ctx_with_value(child, &key, NULL);
    ctx_t *grandchild = ctx_with_timeout(value, HOUR);
    wait_done_within(grandchild, 5 * TIME_SECOND);
    /* A grandchild made once the deadline had passed is done at once, maybe
     * before the parent's timer has reached child and value: wait for that. */
    wait_done_within(child, 5 * TIME_SECOND);
    cr_assert_eq(ctx_err(grandchild), ETIMEDOUT);
    cr_assert_eq(ctx_err(value), ETIMEDOUT);
    cr_assert_eq(ctx_err(child), ETIMEDOUT);
    ctx_t *late = ctx_with_cancel(value);
    cr_assert_eq(ctx_err(late), ETIMEDOUT);
    ctx_release(late);
    ctx_release(grandchild);
    ctx_release(value);
    ctx_release(child);
    ctx_release(parent);
    support_end();
}

Test(context, cancel_before_deadline_stays_ecanceled, .timeout = 10)
{
    support_begin();
    int64_t start = time_now();
    ctx_t  *c = ctx_with_timeout(NULL, 20 * MS);
    ctx_t  *child = ctx_with_timeout(c, 10 * MS); /* its own timer, the earlier one */
    ctx_cancel(c);
    int64_t canceled_after = time_now() - start;
    int     reason = ctx_err(c), child_reason = ctx_err(child);
    cr_assert(reason != 0 && child_reason != 0, "both are done once ctx_cancel returns");
    /* Only a cancel that ended before a deadline must win over it (a slow
     * machine, valgrind say, may reach ctx_cancel after a deadline). */
    if (canceled_after < 20 * MS)
        cr_assert_eq(reason, ECANCELED);
    if (canceled_after < 10 * MS)
        cr_assert_eq(child_reason, ECANCELED);
    chan_t *past_both = time_after(30 * MS);
    chan_recv(past_both, NULL);
    chan_release(past_both);
    cr_assert_eq(ctx_err(c), reason, "a deadline passing later must not change the reason");
    cr_assert_eq(ctx_err(child), child_reason, "the first reason wins");
    ctx_release(child);
    ctx_release(c);
    support_end();
}

Test(context, values_nearest_ancestor_wins, .timeout = 10)
{
    support_begin();
    int    k1, k2, missing, a, b, c;
    ctx_t *v1 = ctx_with_value(NULL, &k1, &a);
    ctx_t *cancel = ctx_with_cancel(v1);
    ctx_t *v2 = ctx_with_value(cancel, &k2, &b);
    ctx_t *shadow = ctx_with_value(v2, &k1, &c);
    cr_assert_eq(ctx_value(v2, &k1), &a, "found through a cancelable ancestor");
    cr_assert_eq(ctx_value(v2, &k2), &b);
    cr_assert_eq(ctx_value(shadow, &k1), &c, "the nearest one shadows");
    cr_assert_eq(ctx_value(v1, &k1), &a, "the ancestor still has its own");
    cr_assert_null(ctx_value(shadow, &missing));
    cr_assert_null(ctx_value(v1, &k2), "values do not flow up");

    /* A value context is its parent for everything else. */
    cr_assert_eq(ctx_done(shadow), ctx_done(cancel));
    ctx_cancel(shadow);
    ctx_cancel(v2);
    cr_assert_eq(ctx_err(cancel), 0, "cancel on a value context does nothing");
    ctx_cancel(cancel);
    cr_assert_eq(ctx_err(shadow), ECANCELED);
    cr_assert(is_done(shadow));
    ctx_release(shadow);
    ctx_release(v2);
    ctx_release(cancel);
    ctx_release(v1);
    support_end();
}
