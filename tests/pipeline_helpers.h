/*
 * pipeline_helpers.h - what the lesson 05 tests share
 * (tests/test_05_pipeline*.c, tests/test_05_program.c): a record of the
 * values a sink saw and the check that they are the odd squares in order,
 * a pass-through stage function that counts, and a cancelable context.
 *
 * Header-only (static inline): these call the lesson's module, which only
 * lesson 05's test binaries link, so they cannot live in tests/support/.
 */
#ifndef TESTS_PIPELINE_HELPERS_H
#define TESTS_PIPELINE_HELPERS_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "05-pipeline/pipeline.h"
#include "common/context.h"

/* The values a sink saw, in order (record_value is a sink's visit). */
typedef struct {
    int64_t *values;
    size_t   len, cap;
} record_t;

static inline void record_init(record_t *r, size_t cap)
{
    r->values = calloc(cap ? cap : 1, sizeof *r->values);
    cr_assert_not_null(r->values);
    r->len = 0;
    r->cap = cap;
}

static inline void record_value(void *arg, const char *name, int64_t value)
{
    (void)name;
    record_t *r = arg;
    if (r->len < r->cap)
        r->values[r->len] = value;
    r->len++; /* counted even past cap, so an excess shows */
}

/* Asserts r holds exactly the odd squares of 0..n-1, in increasing order. */
static inline void assert_odd_squares_in_order(const record_t *r, int64_t n, const char *who)
{
    cr_assert_eq(r->len, (size_t)(n / 2), "%s: %zu values, expected %lld", who, r->len,
                 (long long)(n / 2));
    for (size_t k = 0; k < r->len; k++) {
        int64_t odd = 2 * (int64_t)k + 1;
        cr_assert_eq(r->values[k], odd * odd, "%s: value %zu is %lld, expected %lld", who, k,
                     (long long)r->values[k], (long long)(odd * odd));
    }
}

static inline int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Asserts that what two sinks got together (sorted: each sink keeps its own
 * order, not the other's) is exactly the odd squares of 0..n-1, so no value
 * was lost and none reached both. `who` names them in a failure. */
static inline void assert_union_is_odd_squares(const record_t got[2], int64_t n, const char *who)
{
    record_t all;
    record_init(&all, (size_t)n);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < got[i].len; k++)
            record_value(&all, NULL, got[i].values[k]);
    qsort(all.values, all.len < all.cap ? all.len : all.cap, sizeof *all.values, compare_int64);
    assert_odd_squares_in_order(&all, n, who);
    free(all.values);
}

/* Counts the values that pass, so a test can see how far upstream ran. */
static inline int64_t count_pass(void *arg, int64_t value)
{
    atomic_fetch_add((atomic_llong *)arg, 1);
    return value;
}

static inline ctx_t *new_ctx(void)
{
    ctx_t *ctx = ctx_with_cancel(NULL);
    cr_assert_not_null(ctx);
    return ctx;
}

static inline void end_ctx(ctx_t *ctx)
{
    ctx_cancel(ctx);
    ctx_release(ctx);
}

#endif
