/*
 * fault.c - the countdown behind every fault injection (see fault.h).
 *
 * Invariant: `left` is -1 (off), 0 (every attempt fails) or the number of
 * attempts that may still succeed; only a compare-and-swap moves it down,
 * so two threads never both take the last success.
 */
#include "common/fault.h"

void fault_arm(fault_countdown_t *f, int64_t n)
{
    atomic_store(&f->left, n < 0 ? 0 : n);
}

void fault_disarm(fault_countdown_t *f)
{
    atomic_store(&f->left, -1);
}

bool fault_strikes(fault_countdown_t *f)
{
    int_fast64_t left = atomic_load(&f->left);
    while (left >= 0) {
        if (left == 0)
            return true;
        if (atomic_compare_exchange_weak(&f->left, &left, left - 1))
            return false;
    }
    return false;
}
