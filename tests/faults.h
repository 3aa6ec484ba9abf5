/*
 * faults.h - the sweep shared by test_common_faults.c and
 * test_common_faults_threads.c: fail allocation 1, 2, 3, ... of a call in
 * turn until it succeeds, checking each failure.
 */
#ifndef TESTS_FAULTS_H
#define TESTS_FAULTS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/timer.h"

#define MAX_BUDGET 64 /* no constructor allocates more often than this */

/* make(env) builds one object or returns NULL with errno set; unmake(obj,
 * env) destroys a built one; still_fine(env) asserts that the objects made
 * before are intact. */
typedef struct {
    const char *what;
    void *(*make)(void *env);
    void (*unmake)(void *obj, void *env);
    void (*still_fine)(void *env);
    int expected; /* the errno of an injected failure */
} sweep_t;

/* Fails allocation 0, 1, 2, ... of make until it succeeds; returns how many
 * times it failed. */
static inline int sweep(const sweep_t *s, void *env)
{
    for (int64_t n = 0; n < MAX_BUDGET; n++) {
        int64_t live = alloc_live();
        size_t  timers = time_pending_timers(), running = go_count();
        alloc_fail_after(n);
        errno = 0;
        void *obj = s->make(env);
        int   err = errno;
        alloc_fail_reset();
        if (obj != NULL) {
            s->unmake(obj, env);
            if (s->still_fine)
                s->still_fine(env);
            return (int)n;
        }
        cr_assert_eq(err, s->expected, "%s, allocation %lld failing: errno %d, not %d", s->what,
                     (long long)n + 1, err, s->expected);
        cr_assert_eq(alloc_live(), live, "%s leaked after allocation %lld failed", s->what,
                     (long long)n + 1);
        cr_assert_eq(time_pending_timers(), timers, "%s left a timer armed", s->what);
        cr_assert_eq(go_count(), running, "%s left a goroutine running", s->what);
        if (s->still_fine)
            s->still_fine(env);
    }
    cr_assert_fail("%s never succeeded with %d allocations allowed", s->what, MAX_BUDGET);
    return -1;
}

#endif
