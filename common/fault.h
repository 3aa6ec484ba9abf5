/*
 * fault.h - fault injection: make the n-th attempt at something fail, so
 * tests can prove that every failure path reports and leaks nothing
 * (internal; allocation, goroutine starts, worker threads and stacks each
 * keep one countdown).
 */
#ifndef COMMON_FAULT_H
#define COMMON_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    atomic_int_fast64_t left; /* successes still allowed; -1: never fail */
} fault_countdown_t;

/* A countdown that never fires, for static initialisation. */
#define FAULT_COUNTDOWN_OFF                                                                        \
    {                                                                                              \
        -1                                                                                         \
    }

/* After n more successful attempts (n <= 0: the next one), every attempt
 * fails until fault_disarm. Thread-safe. */
void fault_arm(fault_countdown_t *f, int64_t n);

/* No attempt fails any more. */
void fault_disarm(fault_countdown_t *f);

/* Called once per attempt: true if this one must fail (the countdown has
 * reached zero), else counts it as a success. */
bool fault_strikes(fault_countdown_t *f);

#endif
