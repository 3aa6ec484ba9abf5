/*
 * coro.c - the context switch, and the sanitizers' view of it.
 *
 * The switch (x86-64 and aarch64) is a dozen instructions:
 *   1. push the callee-saved registers and the floating-point control
 *      state (rounding mode, exception masks: MXCSR and the x87 control
 *      word on x86-64, FPCR on aarch64) on the current stack;
 *   2. store the stack pointer in from->sp, load to->sp;
 *   3. pop to's registers and return, which lands wherever `to` last
 *      called the switch, or, for a new context, in the trampoline that
 *      calls entry(arg).
 * Each context keeps its own floating-point control state, as each thread
 * does, and a new one starts with that of the thread that made it, as a
 * POSIX thread does. Writing a control register stalls the pipeline, so
 * the switch writes one only if the two contexts' values differ.
 * Caller-saved registers need no saving: the C compiler already assumes a
 * function call destroys them. That is the whole reason a goroutine switch
 * is cheap: it is a function call that returns on another stack.
 *
 * The sanitizers track which stack is current. ASan is told just before a
 * switch (start_switch_fiber, with the target stack) and just after, on the
 * new stack (finish_switch_fiber, which also reports the stack we came
 * from: the only way to learn the bounds of a thread's own stack). TSan
 * keeps one "fiber" per context and is told the switch just before it.
 */
#include "common/coro.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORO_TSAN 1
#endif
#endif

#ifdef CORO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
#endif
#ifdef CORO_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void  __tsan_destroy_fiber(void *fiber);
void  __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* The context being left, for the sanitizer bookkeeping that the arriving
 * context does (coro_arrived). Written and read on one thread, around one
 * switch, with nothing in between. */
static _Thread_local coro_t *leaving;

/* ------------------------------------------------------------ the switch */

#ifndef GOC_CORO_UCONTEXT

#if defined(__APPLE__)
#define CORO_SYM(name) "_" #name
#define CORO_FUNC(name) ".globl _" #name "\n.p2align 4\n_" #name ":\n"
#define CORO_END(name) ""
#else
#define CORO_SYM(name) #name
#define CORO_FUNC(name)                                                                            \
    ".globl " #name "\n.hidden " #name "\n.type " #name ", @function\n.p2align 4\n" #name ":\n"
#define CORO_END(name) ".size " #name ", .-" #name "\n"
#endif

/* Saves the current registers on the current stack, stores the stack
 * pointer in *save_sp, then continues on load_sp. */
void goc_coro_raw_switch(void **save_sp, void *load_sp);
/* Where a new context starts: calls entry(arg) (kept in two callee-saved
 * registers of its first frame). */
void goc_coro_trampoline(void);

#if defined(__x86_64__)
/* Frame: [mxcsr, x87 cw][r15][r14][r13][r12][rbx][rbp][return address] */
enum { FRAME_WORDS = 8, SLOT_R13 = 3, SLOT_R12 = 4, SLOT_RET = 7 };
/* One instruction a line: clang-format would pack them. */
/* clang-format off */
__asm__(".text\n"
    CORO_FUNC(goc_coro_raw_switch)
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $8, %rsp\n"
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movl (%rsp), %eax\n"   /* ours, to compare with theirs */
    "    movzwl 4(%rsp), %ecx\n"
    "    movq %rsp, (%rdi)\n"   /* from->sp = our stack pointer */
    "    movq %rsi, %rsp\n"     /* on to's stack from here */
    /* Loading either control register stalls the pipeline, and they
     * almost never differ between goroutines: load only if they do. */
    "    cmpl (%rsp), %eax\n"
    "    je 1f\n"
    "    ldmxcsr (%rsp)\n"
    "1:  cmpw 4(%rsp), %cx\n"
    "    je 2f\n"
    "    fldcw 4(%rsp)\n"
    "2:  addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"                 /* to wherever `to` called the switch */
    CORO_END(goc_coro_raw_switch)
    CORO_FUNC(goc_coro_trampoline)
    "    movq %r12, %rdi\n"     /* arg */
    "    callq *%r13\n"         /* entry(arg), which never returns */
    "    ud2\n"
    CORO_END(goc_coro_trampoline));
/* clang-format on */

/* Builds the first frame so that the switch "returns" into the trampoline
 * with a 16-byte aligned stack pointer, as the ABI wants before its call.
 * (The top 16 bytes stay unused.) */
static void *first_frame(void *top, void (*entry)(void *), void *arg)
{
    uintptr_t aligned = ((uintptr_t)top & ~(uintptr_t)15) - 16;
    uint64_t *frame = (uint64_t *)(aligned - 8 * FRAME_WORDS);
    memset(frame, 0, 8 * FRAME_WORDS);
    uint32_t mxcsr;
    uint16_t x87_cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87_cw));
    frame[0] = mxcsr | ((uint64_t)x87_cw << 32); /* the creator's, as pthread_create */
    frame[SLOT_R13] = (uint64_t)(uintptr_t)entry;
    frame[SLOT_R12] = (uint64_t)(uintptr_t)arg;
    frame[SLOT_RET] = (uint64_t)(uintptr_t)goc_coro_trampoline;
    return frame;
}

#elif defined(__aarch64__)
/* Frame (22 words, a multiple of 16 bytes): x19..x28, x29 (frame
 * pointer), x30 (link), d8..d15, FPCR, one unused. */
enum { FRAME_WORDS = 22, SLOT_X19 = 0, SLOT_X20 = 1, SLOT_X30 = 11, SLOT_FPCR = 20 };
/* clang-format off */
__asm__(".text\n"
    CORO_FUNC(goc_coro_raw_switch)
    "    sub sp, sp, #176\n"
    "    stp x19, x20, [sp, #0]\n"
    "    stp x21, x22, [sp, #16]\n"
    "    stp x23, x24, [sp, #32]\n"
    "    stp x25, x26, [sp, #48]\n"
    "    stp x27, x28, [sp, #64]\n"
    "    stp x29, x30, [sp, #80]\n"
    "    stp d8, d9, [sp, #96]\n"
    "    stp d10, d11, [sp, #112]\n"
    "    stp d12, d13, [sp, #128]\n"
    "    stp d14, d15, [sp, #144]\n"
    "    mrs x9, fpcr\n"
    "    str x9, [sp, #160]\n"
    "    mov x2, sp\n"
    "    str x2, [x0]\n"           /* from->sp = our stack pointer */
    "    mov sp, x1\n"             /* on to's stack from here */
    "    ldr x10, [sp, #160]\n"    /* theirs: written only if it differs */
    "    cmp x9, x10\n"
    "    b.eq 1f\n"
    "    msr fpcr, x10\n"
    "1:  ldp x19, x20, [sp, #0]\n"
    "    ldp x21, x22, [sp, #16]\n"
    "    ldp x23, x24, [sp, #32]\n"
    "    ldp x25, x26, [sp, #48]\n"
    "    ldp x27, x28, [sp, #64]\n"
    "    ldp x29, x30, [sp, #80]\n"
    "    ldp d8, d9, [sp, #96]\n"
    "    ldp d10, d11, [sp, #112]\n"
    "    ldp d12, d13, [sp, #128]\n"
    "    ldp d14, d15, [sp, #144]\n"
    "    add sp, sp, #176\n"
    "    ret\n"                    /* to x30: wherever `to` called the switch */
    CORO_END(goc_coro_raw_switch)
    CORO_FUNC(goc_coro_trampoline)
    "    mov x0, x20\n"            /* arg */
    "    blr x19\n"                /* entry(arg), which never returns */
    "    brk #0\n"
    CORO_END(goc_coro_trampoline));
/* clang-format on */

static void *first_frame(void *top, void (*entry)(void *), void *arg)
{
    uintptr_t aligned = (uintptr_t)top & ~(uintptr_t)15;
    uint64_t *frame = (uint64_t *)(aligned - 8 * FRAME_WORDS);
    memset(frame, 0, 8 * FRAME_WORDS);
    frame[SLOT_X19] = (uint64_t)(uintptr_t)entry;
    frame[SLOT_X20] = (uint64_t)(uintptr_t)arg;
    frame[SLOT_X30] = (uint64_t)(uintptr_t)goc_coro_trampoline;
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    frame[SLOT_FPCR] = fpcr; /* the creator's, as pthread_create */
    return frame;
}
#endif

static void raw_switch(coro_t *from, coro_t *to)
{
    goc_coro_raw_switch(&from->sp, to->sp);
}

#else /* GOC_CORO_UCONTEXT: the portable path */

/* makecontext passes int arguments only: a pointer travels as two halves. */
static void ucontext_entry(unsigned hi, unsigned lo, unsigned ehi, unsigned elo)
{
    void *arg = (void *)(((uintptr_t)hi << 16 << 16) | lo);
    void (*entry)(void *) = (void (*)(void *))(((uintptr_t)ehi << 16 << 16) | elo);
    entry(arg);
}

static void raw_switch(coro_t *from, coro_t *to)
{
    swapcontext(&from->uc, &to->uc);
}
#endif

/* ------------------------------------------------------------ public */

int coro_init(coro_t *c, void *stack_lo, size_t size, void (*entry)(void *arg), void *arg)
{
    memset(c, 0, sizeof *c);
    c->stack_lo = stack_lo;
    c->stack_size = size;
#ifdef GOC_CORO_UCONTEXT
    if (getcontext(&c->uc) != 0)
        return ENOMEM;
    c->uc.uc_stack.ss_sp = stack_lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    uintptr_t a = (uintptr_t)arg, e = (uintptr_t)entry;
    makecontext(&c->uc, (void (*)(void))ucontext_entry, 4, (unsigned)(a >> 16 >> 16), (unsigned)a,
                (unsigned)(e >> 16 >> 16), (unsigned)e);
#else
    c->sp = first_frame((char *)stack_lo + size, entry, arg);
#endif
#ifdef CORO_TSAN
    c->tsan_fiber = __tsan_create_fiber(0);
    if (c->tsan_fiber == NULL)
        return ENOMEM;
    c->tsan_owned = true;
#endif
    return 0;
}

void coro_init_thread(coro_t *c)
{
    memset(c, 0, sizeof *c);
#ifdef CORO_TSAN
    c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* The sanitizers' half of a switch, done by whoever arrives. Not inlined:
 * the thread-local `leaving` must be read on the thread we arrived on, and
 * a compiler may keep a thread-local's address in a register across the
 * switch (it cannot know the switch changes threads). */
__attribute__((noinline)) static void arrived(coro_t *self)
{
#ifdef CORO_ASAN
    const void *bottom_old = NULL;
    size_t      size_old = 0;
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, &bottom_old, &size_old);
    coro_t *from = leaving;
    if (from != NULL && from->stack_lo == NULL) { /* learn a thread stack's bounds */
        from->stack_lo = (void *)bottom_old;
        from->stack_size = size_old;
    }
#else
    (void)self;
#endif
    leaving = NULL;
}

static void switch_to(coro_t *from, coro_t *to, bool final)
{
    leaving = from;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &from->asan_fake_stack, to->stack_lo,
                                   to->stack_size);
#else
    (void) final;
#endif
#ifdef CORO_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    raw_switch(from, to);
    arrived(from); /* back in from, maybe on another thread */
}

void coro_switch(coro_t *from, coro_t *to)
{
    switch_to(from, to, false);
}

void coro_switch_final(coro_t *from, coro_t *to)
{
    switch_to(from, to, true);
}

void coro_started(coro_t *self)
{
    arrived(self);
}

void coro_destroy(coro_t *c)
{
#ifdef CORO_TSAN
    if (c->tsan_owned && c->tsan_fiber != NULL)
        __tsan_destroy_fiber(c->tsan_fiber);
#endif
    c->tsan_fiber = NULL;
    c->tsan_owned = false;
}
