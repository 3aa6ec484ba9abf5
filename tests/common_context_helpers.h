/*
 * common_context_helpers.h - what the two core context test files share
 * (tests/test_common_context*.c): HOUR, a timeout that never fires in a
 * test, and is_done, a look at the done channel that never blocks.
 * (tests/context_helpers.h is lesson 04's.)
 *
 * Header-only (static), like the lessons' test helpers.
 */
#ifndef TESTS_COMMON_CONTEXT_HELPERS_H
#define TESTS_COMMON_CONTEXT_HELPERS_H

#include <errno.h>
#include <stdbool.h>

#include "common/chan.h"
#include "common/context.h"
#include "common/timer.h"

#define HOUR (TIME_SECOND * 3600)

static bool is_done(ctx_t *ctx)
{
    return chan_try_recv(ctx_done(ctx), NULL) == EPIPE;
}

#endif
