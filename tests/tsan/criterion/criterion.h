/*
 * tests/tsan/criterion/criterion.h - a tiny stand-in for Criterion, used only
 * by the ThreadSanitizer build.
 *
 * Why it exists: Criterion runs every test in a child process it controls,
 * and its runner does not work under ThreadSanitizer. The TSan build puts
 * tests/tsan/ first on the include path, so `#include <criterion/criterion.h>`
 * finds this file, and links tests/tsan/runner.c, whose main() runs every
 * test of the binary in one process, in file order.
 *
 * It implements exactly the subset the tests are allowed to use:
 *   Test(suite, name, .timeout = N, .description = "...")
 *   cr_assert, cr_assert_not, cr_assert_eq/neq/lt/leq/gt/geq,
 *   cr_assert_null/not_null, cr_assert_str_eq/str_neq, cr_assert_fail,
 *   cr_expect, cr_log_info, cr_log_error.
 * Anything else (.init, cr_log_warn, parameterized tests...) is missing on
 * purpose, so a test that uses it fails to compile here instead of silently
 * doing something different from Criterion.
 *
 * Invariants: each operand of an assertion is evaluated exactly once, as in
 * Criterion; the optional message must be a string literal (also as in
 * Criterion); a failed cr_assert ends the whole process with status 1 at
 * once, even from another thread (there is no child process to sacrifice).
 * A failure shows file:line, the expression and, for comparisons, both
 * values. One difference: operands are first stored in variables, so
 * compare a pointer with NULL, not with 0 (`cr_assert_eq(p, 0)` would
 * compare a pointer with an int variable and not compile here).
 */
#ifndef TSAN_CRITERION_SHIM_H
#define TSAN_CRITERION_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The options a Test() may give; `unused_` only lets the list be empty. */
struct tsan_test_opts {
    int         unused_;
    double      timeout; /* seconds; 0: the runner's default */
    const char *description;
};

struct tsan_test {
    const char           *suite, *name, *file;
    int                   line;
    struct tsan_test_opts opts;
    void (*fn)(void);
    struct tsan_test *next;
};

/* Implemented in runner.c. */
void tsan_register(struct tsan_test *t);
void tsan_fail_(const char *file, int line, int fatal, const char *expr, const char *values,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void tsan_log_(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tsan_show_int_(char *buf, size_t len, intmax_t v);
void tsan_show_uint_(char *buf, size_t len, uintmax_t v);
void tsan_show_float_(char *buf, size_t len, long double v);
void tsan_show_ptr_(char *buf, size_t len, const void *v);

/* A test is a static function plus a record that a constructor (run before
 * main) adds to the runner's list. */
#define Test(suite, name, ...)                                                                     \
    static void             tsan_fn_##suite##_##name(void);                                        \
    static struct tsan_test tsan_test_##suite##_##name = {                                         \
        #suite, #name, __FILE__, __LINE__, {.unused_ = 0, __VA_ARGS__}, tsan_fn_##suite##_##name,  \
        NULL};                                                                                     \
    __attribute__((constructor)) static void tsan_register_##suite##_##name(void)                  \
    {                                                                                              \
        tsan_register(&tsan_test_##suite##_##name);                                                \
    }                                                                                              \
    static void tsan_fn_##suite##_##name(void)

/* The message is optional: "x" in front of it (stripped by tsan_fail_) keeps
 * the format string non-empty when it is missing. */
#define tsan_check_(fatal, cond, expr, ...)                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tsan_fail_(__FILE__, __LINE__, fatal, expr, NULL, "x" __VA_ARGS__);                    \
    } while (0)

#define cr_assert(cond, ...) tsan_check_(1, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) tsan_check_(1, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect(cond, ...) tsan_check_(0, cond, #cond, __VA_ARGS__)
#define cr_assert_fail(...)                                                                        \
    tsan_fail_(__FILE__, __LINE__, 1, "cr_assert_fail", NULL, "x" __VA_ARGS__)

/* Shows a value of any scalar type, choosing the printer by its type. */
// clang-format off
#define tsan_show_(buf, v)                                                                         \
    _Generic((v),                                                                                  \
        _Bool: tsan_show_uint_, unsigned char: tsan_show_uint_, unsigned short: tsan_show_uint_,   \
        unsigned: tsan_show_uint_, unsigned long: tsan_show_uint_,                                 \
        unsigned long long: tsan_show_uint_,                                                       \
        char: tsan_show_int_, signed char: tsan_show_int_, short: tsan_show_int_,                  \
        int: tsan_show_int_, long: tsan_show_int_, long long: tsan_show_int_,                      \
        float: tsan_show_float_, double: tsan_show_float_, long double: tsan_show_float_,          \
        default: tsan_show_ptr_)(buf, sizeof buf, v)
// clang-format on

/* Comparisons keep C's own rules (like Criterion's `(a) op (b)`), so the
 * sign-compare warning a literal would not trigger there is muted here. */
// clang-format off
#define tsan_compare_(op, a, b, ...)                                                               \
    do {                                                                                           \
        __auto_type tsan_a_ = (a);                                                                 \
        __auto_type tsan_b_ = (b);                                                                 \
        _Pragma("GCC diagnostic push")                                                             \
        _Pragma("GCC diagnostic ignored \"-Wsign-compare\"")                                       \
        int tsan_ok_ = tsan_a_ op tsan_b_;                                                         \
        _Pragma("GCC diagnostic pop")                                                              \
        if (!tsan_ok_) {                                                                           \
            char tsan_sa_[64], tsan_sb_[64], tsan_values_[160];                                    \
            tsan_show_(tsan_sa_, tsan_a_);                                                         \
            tsan_show_(tsan_sb_, tsan_b_);                                                         \
            snprintf(tsan_values_, sizeof tsan_values_, "left: %s, right: %s", tsan_sa_,           \
                     tsan_sb_);                                                                    \
            tsan_fail_(__FILE__, __LINE__, 1, #a " " #op " " #b, tsan_values_, "x" __VA_ARGS__);   \
        }                                                                                          \
    } while (0)
// clang-format on

#define cr_assert_eq(a, b, ...) tsan_compare_(==, a, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) tsan_compare_(!=, a, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) tsan_compare_(<, a, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) tsan_compare_(<=, a, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) tsan_compare_(>, a, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) tsan_compare_(>=, a, b, __VA_ARGS__)

#define tsan_null_(want_null, p, expr, ...)                                                        \
    do {                                                                                           \
        const void *tsan_p_ = (p);                                                                 \
        if ((tsan_p_ == NULL) != (want_null)) {                                                    \
            char tsan_values_[64];                                                                 \
            snprintf(tsan_values_, sizeof tsan_values_, "value: %p", tsan_p_);                     \
            tsan_fail_(__FILE__, __LINE__, 1, expr, tsan_values_, "x" __VA_ARGS__);                \
        }                                                                                          \
    } while (0)

#define cr_assert_null(p, ...) tsan_null_(1, p, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) tsan_null_(0, p, #p " != NULL", __VA_ARGS__)

#define tsan_str_(want_equal, a, b, expr, ...)                                                     \
    do {                                                                                           \
        const char *tsan_a_ = (a), *tsan_b_ = (b);                                                 \
        if (!tsan_a_ || !tsan_b_ || (strcmp(tsan_a_, tsan_b_) == 0) != (want_equal)) {             \
            char tsan_values_[512];                                                                \
            snprintf(tsan_values_, sizeof tsan_values_, "left: \"%.200s\", right: \"%.200s\"",     \
                     tsan_a_ ? tsan_a_ : "(null)", tsan_b_ ? tsan_b_ : "(null)");                  \
            tsan_fail_(__FILE__, __LINE__, 1, expr, tsan_values_, "x" __VA_ARGS__);                \
        }                                                                                          \
    } while (0)

#define cr_assert_str_eq(a, b, ...) tsan_str_(1, a, b, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) tsan_str_(0, a, b, #a " differs from " #b, __VA_ARGS__)

#define cr_log_info(...) tsan_log_("INFO", __VA_ARGS__)
#define cr_log_error(...) tsan_log_("ERROR", __VA_ARGS__)

#endif
