/*
 * test_common_gpool.c - finished goroutines' records kept for reuse
 * (common/gpool.h): a record comes back with its stack (the registry clears
 * the rest), from the P's own list first; full lists spill to the global pool in batches; the
 * pool is bounded; an injected allocation failure is reported.
 *
 * No test starts a goroutine, so the records these tests handle are the
 * only ones in the pool, even in the TSan build's runner (one process for
 * the whole file).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/alloc.h"
#include "common/gpool.h"
#include "common/stack.h"

enum { SLOT = 3, MANY = 200 };

static void never_runs(void *arg)
{
    (void)arg;
}

Test(gpool, a_record_comes_with_a_whole_stack_and_nothing_else)
{
    goroutine_t *g = gpool_get(SLOT);
    cr_assert_not_null(g);
    cr_assert_eq(g->stack.size, gstack_size());
    memset(g->stack.lo, 0x5a, g->stack.size); /* all of it usable */
    strcpy(g->name, "left over");
    g->waits = 7;
    g->seen_sleep_count = 9;
    gpool_put(SLOT, g);

    goroutine_t *again = gpool_get(SLOT);
    cr_assert_eq(again, g, "the P's own list gives back its last record first");
    cr_assert_eq(again->stack.lo, g->stack.lo, "with its stack");
    /* The registry clears the previous goroutine's fields as it makes the
     * record live (a dump may still be reading them until it has the lock). */
    size_t before = go_running();
    go_registry_add(again, "fresh", never_runs, NULL);
    cr_assert_str_eq(again->name, "fresh");
    cr_assert(again->started_by_go);
    cr_assert_eq(again->waits, 0, "nothing of the goroutine before");
    cr_assert_eq(again->seen_sleep_count, 0, "nor of the watchdog's notes on it");
    cr_assert_eq(again->stack.lo, g->stack.lo, "the stack stays");
    cr_assert_eq(go_running(), before + 1);
    go_registry_remove(again);
    cr_assert_eq(go_running(), before);
    gpool_put(SLOT, again);
}

Test(gpool, a_full_list_spills_to_the_global_pool_for_other_ps)
{
    static goroutine_t *g[MANY];
    for (int i = 0; i < MANY; i++)
        cr_assert_not_null(g[i] = gpool_get(SLOT));
    for (int i = 0; i < MANY; i++)
        gpool_put(SLOT, g[i]);
    /* Another P, with an empty list, and a caller with no P: both are
     * served from what SLOT spilled, not from new memory. */
    goroutine_t *other = gpool_get(SLOT + 1), *outside = gpool_get(-1);
    bool         other_reused = false, outside_reused = false;
    for (int i = 0; i < MANY; i++) {
        other_reused |= other == g[i];
        outside_reused |= outside == g[i];
    }
    cr_assert(other_reused, "another P got a new record while the pool held %d", MANY);
    cr_assert(outside_reused, "a caller without a P got a new record");
    gpool_put(SLOT + 1, other);
    gpool_put(-1, outside);
}

Test(gpool, an_injected_failure_is_reported_and_takes_nothing)
{
    goroutine_t *kept = gpool_get(SLOT);
    gpool_put(SLOT, kept);
    alloc_fail_after(0);
    errno = 0;
    cr_assert_null(gpool_get(SLOT), "fault injection counts a pooled record too");
    cr_assert_eq(errno, ENOMEM);
    alloc_fail_reset();
    cr_assert_eq(gpool_get(SLOT), kept, "the pooled record is still there");
    gpool_put(SLOT, kept);
}

Test(gpool, pooled_records_are_not_counted_allocations)
{
    int64_t      live = alloc_live();
    goroutine_t *g = gpool_get(-1);
    cr_assert_eq(alloc_live(), live, "the pool owns its records, as the stack cache its stacks");
    gpool_put(-1, g);
    cr_assert_eq(alloc_live(), live);
}
