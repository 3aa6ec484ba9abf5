/*
 * test_common_stack.c - goroutine stacks (common/stack.h): each one whole,
 * guarded and apart from the others; carved from a few mappings, not one
 * each; reused; and given back to the kernel when the last stack of a
 * mapping comes back.
 *
 * No test here starts a goroutine, so the stacks these tests take are the
 * only ones out, even in the TSan build's runner (one process for the
 * whole file).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/os.h"
#include "common/stack.h"

enum { N = 200 }; /* more than three slabs of 64 */

static size_t page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* True if addr lies in one of the process's mappings (/proc/self/maps:
 * asking the kernel about the address itself, as msync would, is an error
 * to valgrind once the address is unmapped). */
static bool mapped(void *addr)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    cr_assert_not_null(maps);
    unsigned long lo, hi, a = (unsigned long)(uintptr_t)addr;
    bool          found = false;
    char          line[512];
    while (!found && fgets(line, sizeof line, maps) != NULL)
        found = sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi;
    fclose(maps);
    return found;
}

/* The number of mappings the process has (/proc/self/maps lines). */
static int mapping_count(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    cr_assert_not_null(maps);
    int count = 0;
    for (int c; (c = fgetc(maps)) != EOF;)
        count += c == '\n';
    fclose(maps);
    return count;
}

static void take(gstack_t *s, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(gstack_alloc(&s[i]), 0, "stack %d of %d", i, n);
}

static void give_back(gstack_t *s, int n)
{
    for (int i = 0; i < n; i++)
        gstack_free(&s[i]);
}

Test(stack, every_stack_is_whole_guarded_and_apart)
{
    static gstack_t s[N];
    take(s, N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(s[i].size, gstack_size());
        cr_assert_eq((char *)s[i].lo, (char *)s[i].guard + page());
        memset(s[i].lo, 0xa5, s[i].size); /* every byte writable */
        cr_assert(gstack_in_guard(&s[i], s[i].guard));
        cr_assert(gstack_in_guard(&s[i], (char *)s[i].lo - 1));
        cr_assert_not(gstack_in_guard(&s[i], s[i].lo));
        for (int j = 0; j < i; j++) {
            char  *a = s[i].guard, *b = s[j].guard;
            size_t span = page() + gstack_size();
            cr_assert(a + span <= b || b + span <= a, "stacks %d and %d overlap", i, j);
        }
    }
    give_back(s, N);
    gstack_trim();
}

Test(stack, stacks_are_carved_from_a_few_mappings)
{
    static gstack_t s[N];
    int             before = mapping_count();
    take(s, N);
    int added = mapping_count() - before;
    /* One mapping per slab of up to 64 (neighbours may even merge), where
     * a guard page costs no mapping; elsewhere each guard splits its slab,
     * two mappings for every stack of every slab (all are guarded when the
     * slab is made, so the last slab counts whole). */
    int slabs = (N + 63) / 64 + 1;
    int most = os_guard_pages_are_free() ? slabs : 2 * (N + 63) + slabs;
    cr_assert_leq(added, most, "%d stacks added %d mappings", N, added);
    give_back(s, N);
    gstack_trim();
}

Test(stack, a_freed_stack_is_reused)
{
    gstack_t first, again;
    take(&first, 1);
    gstack_free(&first);
    take(&again, 1);
    cr_assert_eq(again.lo, first.lo, "the most recently freed stack comes back first");
    gstack_free(&again);
    gstack_trim();
}

Test(stack, memory_goes_back_when_the_last_stack_of_a_slab_does)
{
    static gstack_t s[N];
    take(s, N);
    /* Everything in the cache: trimming gives every slab back. */
    give_back(s, N);
    gstack_trim();
    for (int i = 0; i < N; i++)
        cr_assert_not(mapped(s[i].lo), "stack %d still mapped after the trim", i);

    /* One stack out keeps its own slab, and only that one. */
    take(s, N);
    gstack_t kept = s[N - 1];
    give_back(s, N - 1);
    gstack_trim();
    cr_assert(mapped(kept.lo));
    int unmapped = 0;
    for (int i = 0; i < N - 1; i++)
        unmapped += !mapped(s[i].lo);
    cr_assert_geq(unmapped, N - 64, "only %d of %d stacks went back", unmapped, N - 1);
    gstack_free(&kept);
    gstack_trim();
    cr_assert_not(mapped(kept.lo));
}

Test(stack, a_failed_map_is_reported_and_holds_nothing)
{
    gstack_t s;
    gstack_fail_after(0);
    cr_assert_eq(gstack_alloc(&s), ENOMEM);
    gstack_fail_reset();
    take(&s, 1);
    gstack_free(&s);
    gstack_trim();
}
