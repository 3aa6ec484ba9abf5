/*
 * common_chan_helpers.h - what the channel and select test files share
 * (tests/test_common_chan*.c, tests/test_common_select*.c): SCALED, which
 * cuts the stress tests' rounds to a tenth under valgrind, and party_t, one
 * goroutine's send or receive and what came of it.
 *
 * Header-only, like the lessons' test helpers.
 */
#ifndef TESTS_COMMON_CHAN_HELPERS_H
#define TESTS_COMMON_CHAN_HELPERS_H

#include <stdatomic.h>

#include "common/chan.h"
#include "common/sync.h"

/* Valgrind runs one thread at a time and makes every hand-off between
 * threads cost about a millisecond: the stress tests do a tenth of their
 * rounds there (make check-valgrind), and the full count everywhere else. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#define SCALED(n) (RUNNING_ON_VALGRIND ? (n) / 10 : (n))

/* One goroutine doing one send or receive, and what came of it. */
typedef struct {
    chan_t      *c;
    long         value; /* sent, or received */
    int          rc;
    atomic_int   tid;
    waitgroup_t *wg;
} party_t;

#endif
