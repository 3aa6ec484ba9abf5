/*
 * coro.h - one execution context on its own stack, and the switch between
 * two of them (internal; the M:N scheduler's lowest layer).
 *
 * A coroutine is a stack plus the registers a function call must preserve.
 * coro_switch() saves the current context's callee-saved registers on its
 * stack, stores the stack pointer in `from`, loads `to`'s stack pointer and
 * pops its registers: the switch costs what a function call costs, and no
 * system call is made. The hand-written switches (x86-64, aarch64) live in
 * coro.c; anything else takes the portable ucontext path.
 *
 * The sanitizers and valgrind must be told when the stack changes under
 * them: coro_switch() does it (ASan's fiber switch, TSan's fibers), and the
 * stack module registers every goroutine stack with valgrind.
 */
#ifndef COMMON_CORO_H
#define COMMON_CORO_H

#include <stdbool.h>
#include <stddef.h>

#if !defined(GOC_CORO_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define GOC_CORO_UCONTEXT 1
#endif

#ifdef GOC_CORO_UCONTEXT
#include <ucontext.h>
#endif

typedef struct coro {
#ifdef GOC_CORO_UCONTEXT
    ucontext_t uc;
#else
    void *sp; /* the saved stack pointer, while not running */
#endif
    void  *stack_lo; /* lowest usable address of the stack (NULL: a thread's own) */
    size_t stack_size;
    void  *tsan_fiber;      /* ThreadSanitizer's handle, when built with it */
    void  *asan_fake_stack; /* AddressSanitizer's saved fake stack */
    bool   tsan_owned;      /* the fiber was made by coro_init (destroy it) */
} coro_t;

/* Prepares c to run entry(arg) on [stack_lo, stack_lo + size) at its first
 * coro_switch. entry must never return: it ends by switching away for good
 * (coro_switch_final). Returns 0, or ENOMEM if a sanitizer could not make
 * its fiber. */
int coro_init(coro_t *c, void *stack_lo, size_t size, void (*entry)(void *arg), void *arg);

/* Makes c stand for the calling thread's own context (its native stack),
 * so that coroutines can switch back to it. */
void coro_init_thread(coro_t *c);

/* Saves the current context into from and resumes to. Returns when some
 * other context switches back to from. */
void coro_switch(coro_t *from, coro_t *to);

/* Same, but from will never be resumed (the goroutine has ended): the
 * sanitizers may forget its stack. */
void coro_switch_final(coro_t *from, coro_t *to);

/* First thing a new context's entry does, on its own stack: completes the
 * sanitizers' half of the switch that started it. */
void coro_started(coro_t *self);

/* Releases what coro_init made besides the stack (TSan's fiber). Call from
 * another context, once c will never run again. */
void coro_destroy(coro_t *c);

#endif
